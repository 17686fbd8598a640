//! Off the hot path, in batches: after each response its usage row and its rate-limit settlement are
//! queued in the isolate; the first request to queue opens a short window, then writes everything queued
//! meanwhile in one D1 batch and one limiter call per instance. Under load this turns hundreds of writes a
//! second into a few; with no load, a row lands within [`WINDOW_MS`].

use kit::limiter::SettleCall;
use kit::store::gateway::{self, UsageEvent};
use kit::store::Db;
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

async fn flush(env: &Env, batch: Pending) {
    for (instance_id, calls) in batch.settles {
        let count = calls.len();
        if let Err(e) = kit::limiter::settle(env, &instance_id, calls).await {
            worker::console_error!("settling {} rate-limit reservation(s) failed: {}", count, e);
        }
    }
    let written = match Db::from_env(env) {
        Ok(db) => gateway::record_usage(&db, &batch.usage).await,
        Err(e) => Err(e),
    };
    if let Err(e) = written {
        let ids: Vec<&str> = batch.usage.iter().map(|u| u.request_id.as_str()).collect();
        worker::console_error!("recording usage failed for request_ids={:?}: {}", ids, e);
    }
}
