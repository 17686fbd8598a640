//! The rate limiter Durable Object: one per instance. Each call (releases of grants, settlements, then
//! admissions — see `kit::limiter`) runs in one synchronous step on the in-memory limiter, so concurrent
//! requests cannot race. The state is saved to the
//! object's storage by an alarm at most once a second after a change (not on every call: under load the
//! state is large and the save would dominate), so an eviction forgets at most the last second.

use kit::limiter::Calls;
use std::cell::{Cell, RefCell};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

const STORAGE_KEY: &str = "limiter";
/// Delay between a change and its save.
const SAVE_AFTER_MS: i64 = 1_000;
/// Idle scopes are dropped at most this often.
const PRUNE_EVERY_MS: u64 = 10_000;

#[durable_object]
pub struct Limiter {
    state: State,
    limiter: RefCell<limits::Limiter>,
    loaded: Cell<bool>,
    save_pending: Cell<bool>,
    last_prune_ms: Cell<u64>,
}

impl DurableObject for Limiter {
    fn new(state: State, _env: Env) -> Self {
        Limiter {
            state,
            limiter: RefCell::new(limits::Limiter::default()),
            loaded: Cell::new(false),
            save_pending: Cell::new(false),
            last_prune_ms: Cell::new(0),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        self.load().await?;
        let now = now_ms();
        if req.path() != "/calls" {
            return Response::error("not found", 404);
        }
        let calls: Calls = serde_json::from_slice(&req.bytes().await?)?;
        let body = {
            let mut limiter = self.limiter.borrow_mut();
            if now.saturating_sub(self.last_prune_ms.get()) > PRUNE_EVERY_MS {
                limiter.prune(now);
                self.last_prune_ms.set(now);
            }
            for release in &calls.releases {
                limiter.release(now, release);
            }
            for call in &calls.settles {
                limiter.settle(now, &call.reservation, call.actual_tokens);
            }
            let admissions: Vec<limits::Admission> = calls
                .admits
                .iter()
                .map(|a| limiter.admit(now, &a.checks, a.tokens, a.lease))
                .collect();
            serde_json::to_vec(&admissions)?
        };
        self.schedule_save().await?;
        Response::from_bytes(body)
    }

    async fn alarm(&self) -> Result<Response> {
        self.save_pending.set(false);
        let text = serde_json::to_string(&*self.limiter.borrow())?;
        self.state.storage().put(STORAGE_KEY, text).await?;
        Response::ok("saved")
    }
}

impl Limiter {
    /// Restores the saved window once per object lifetime (storage reads close the input gate, so no
    /// other call runs in between).
    async fn load(&self) -> Result<()> {
        if self.loaded.get() {
            return Ok(());
        }
        if let Some(text) = self
            .state
            .storage()
            .get::<String>(STORAGE_KEY)
            .await
            .ok()
            .flatten()
        {
            if let Ok(saved) = serde_json::from_str::<limits::Limiter>(&text) {
                *self.limiter.borrow_mut() = saved;
            }
        }
        self.loaded.set(true);
        Ok(())
    }

    async fn schedule_save(&self) -> Result<()> {
        if self.save_pending.replace(true) {
            return Ok(());
        }
        let at = kit::clock::now_ms() + SAVE_AFTER_MS;
        self.state.storage().set_alarm(at).await
    }
}

fn now_ms() -> u64 {
    kit::clock::now_ms().max(0) as u64
}
