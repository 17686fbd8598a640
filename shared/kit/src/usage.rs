//! Usage rows and settlements of every generation worker, off the hot path, in batches: after each response its usage row and its rate-limit settlement are
//! queued in the isolate; the first request to queue opens a short window, then writes everything queued
//! meanwhile in one D1 batch and one limiter call per instance. Under load this turns hundreds of writes a
//! second into a few; with no load, a row lands within [`WINDOW_MS`].

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
}

thread_local! {
    static PENDING: RefCell<Pending> = RefCell::new(Pending::default());
}

/// Queues one request's writes. The call that opens the window gets the flush back: it waits the window
/// out and writes everything queued by then; the caller runs it inside its request's `wait_until`, which
/// keeps the isolate alive until it is done. Every other call only queues (no future, no `wait_until`).
pub fn queue(
    env: &Env,
    instance_id: String,
    settle: Option<SettleCall>,
    event: UsageEvent,
) -> Option<impl Future<Output = ()> + 'static> {
    let opener = PENDING.with(|p| {
        let mut p = p.borrow_mut();
        p.usage.push(event);
        if let Some(call) = settle {
            p.settles.entry(instance_id).or_default().push(call);
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
/// `wait_until` (30 s) even when the limiter is slow. The settlements come after; one that is lost only
/// leaves its reservation counted until the window passes it (≤ 60 s), which errs on the safe side.
async fn flush(env: &Env, batch: Pending) {
    record(env, &batch.usage).await;
    for (instance_id, calls) in batch.settles {
        let count = calls.len();
        if let Err(e) = crate::limiter::settle(env, &instance_id, calls).await {
            worker::console_error!("settling {} rate-limit reservation(s) failed: {}", count, e);
        }
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
    settle: Option<SettleCall>,
    event: UsageEvent,
) {
    if let Some(flush) = queue(env, instance_id, settle, event) {
        flush.await;
    }
}
