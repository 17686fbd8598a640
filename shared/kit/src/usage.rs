//! Usage rows and settlements of every generation worker, off the hot path, in batches: after each response
//! its usage row, its rate-limit settlement and its budget settlement are queued in the isolate; the first
//! request to queue opens a short window, then writes everything queued meanwhile in one D1 batch, one
//! limiter call per instance and one ledger call per org. A budget settles with the cost and tokens of the
//! request's own usage row, so the ledger and the usage summary agree. Under load this turns hundreds of writes a
//! second into a few; with no load, a row lands within [`WINDOW_MS`].

use crate::generate::{settle_call, Hold};
use crate::limiter::SettleCall;
use crate::store::gateway::{self, UsageEvent};
use crate::store::Db;
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;
use worker::{Delay, Env};

/// How long a batch stays open for more rows.
const WINDOW_MS: u64 = 50;

#[derive(Default)]
struct Pending {
    open: bool,
    usage: Vec<UsageEvent>,
    settles: HashMap<String, Vec<SettleCall>>,
    /// Budget settlements by org.
    budgets: HashMap<String, Vec<crate::budget::SettleCall>>,
}

thread_local! {
    static PENDING: RefCell<Pending> = RefCell::new(Pending::default());
}

/// Queues one request's writes. The call that opens the window gets the flush back: it waits the window
/// out and writes everything queued by then; the caller runs it inside its request's `wait_until`, which
/// keeps the isolate alive until it is done. Every other call only queues (no future, no `wait_until`).
///
/// `hold` is what the request was admitted with; its rate-limit reservation settles to `limit_tokens`
/// (tokens, or images on the image scopes), its budget reservation to the row's cost and tokens.
pub fn queue(
    env: &Env,
    instance_id: String,
    hold: Hold,
    limit_tokens: u64,
    event: UsageEvent,
) -> Option<impl Future<Output = ()> + 'static> {
    let settle = settle_call(hold.limits, limit_tokens);
    let budget = hold.budget.map(|held| {
        let actual =
            generation::spend::actual(event.cost_usd, event.prompt_tokens, event.completion_tokens);
        (
            held.org_id,
            crate::budget::SettleCall {
                reservation: held.reservation,
                actual,
            },
        )
    });
    let opener = PENDING.with(|p| {
        let mut p = p.borrow_mut();
        p.usage.push(event);
        if let Some(call) = settle {
            p.settles.entry(instance_id).or_default().push(call);
        }
        if let Some((org_id, call)) = budget {
            p.budgets.entry(org_id).or_default().push(call);
        }
        !std::mem::replace(&mut p.open, true)
    });
    if !opener {
        return None;
    }
    let env = env.clone();
    Some(async move {
        Delay::from(Duration::from_millis(WINDOW_MS)).await;
        let batch = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
        flush(&env, batch).await;
    })
}

/// Usage first: it is what the tenant is billed and shown, and it must land inside the request's
/// `wait_until` (30 s) even when the limiter is slow. The budget settlements next (a lost one leaves its
/// worst case held until the ledger expires it, see `budget::Settings::hold_ms`), then the rate-limit
/// ones (a lost one only leaves its reservation counted until the window passes it, ≤ 60 s); both err
/// on the safe side.
async fn flush(env: &Env, batch: Pending) {
    record(env, &batch.usage).await;
    for (org_id, calls) in batch.budgets {
        settle_budgets(env, &org_id, calls).await;
    }
    for (instance_id, calls) in batch.settles {
        let count = calls.len();
        if let Err(e) = crate::limiter::settle(env, &instance_id, calls).await {
            worker::console_error!("settling {} rate-limit reservation(s) failed: {}", count, e);
        }
    }
}

/// Settles budget reservations, retrying (a settle the ledger already counted is a no-op, so a retry of
/// one that did land changes nothing). After the last try the reservations are logged: the ledger
/// expires them, and reports each expiry as an event.
async fn settle_budgets(env: &Env, org_id: &str, calls: Vec<crate::budget::SettleCall>) {
    let mut backoff = FIRST_BACKOFF_MS;
    for attempt in 1..=WRITE_TRIES {
        let Err(e) = crate::budget::settle(env, org_id, calls.clone()).await else {
            return;
        };
        if attempt == WRITE_TRIES {
            let ids: Vec<u64> = calls.iter().map(|c| c.reservation).collect();
            worker::console_error!(
                "settling budget reservations {:?} of org {} failed {} times: {}",
                ids,
                org_id,
                WRITE_TRIES,
                e
            );
            return;
        }
        Delay::from(Duration::from_millis(backoff)).await;
        backoff *= 2;
    }
}

/// Tries to write a batch of usage rows.
const WRITE_TRIES: u32 = 3;
/// The pause before the second try; doubled before each further one (100 ms, 200 ms).
const FIRST_BACKOFF_MS: u64 = 100;

/// Writes the rows, retrying a failed batch (the batch is all or none, and a retry of one that was in
/// fact written skips its rows: see [`gateway::record_usage`]). After the last try the request ids are
/// logged, so the loss can be found and replayed.
async fn record(env: &Env, usage: &[UsageEvent]) {
    if usage.is_empty() {
        return;
    }
    let mut backoff = FIRST_BACKOFF_MS;
    for attempt in 1..=WRITE_TRIES {
        let written = match Db::from_env(env) {
            Ok(db) => gateway::record_usage(&db, usage).await,
            Err(e) => Err(e),
        };
        let Err(e) = written else { return };
        if attempt == WRITE_TRIES {
            let ids: Vec<&str> = usage.iter().map(|u| u.request_id.as_str()).collect();
            worker::console_error!(
                "recording usage failed {} times, rows lost for request_ids={:?}: {}",
                WRITE_TRIES,
                ids,
                e
            );
            return;
        }
        worker::console_warn!("recording usage failed (try {}), retrying: {}", attempt, e);
        Delay::from(Duration::from_millis(backoff)).await;
        backoff *= 2;
    }
}

/// Queues the settle and the usage row from inside a `wait_until` already running (the end of a stream).
pub async fn record_now(
    env: &Env,
    instance_id: String,
    hold: Hold,
    limit_tokens: u64,
    event: UsageEvent,
) {
    if let Some(flush) = queue(env, instance_id, hold, limit_tokens, event) {
        flush.await;
    }
}
