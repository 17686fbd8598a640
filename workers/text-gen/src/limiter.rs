//! The rate limiter Durable Object: one per instance. Each call admits-and-records (or settles) in one
//! synchronous step on the in-memory limiter, so concurrent requests cannot race; the state is saved to
//! the object's storage so an eviction does not forget the current window.

use kit::limiter::{AdmitCall, SettleCall};
use std::cell::{Cell, RefCell};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

const STORAGE_KEY: &str = "limiter";

#[durable_object]
pub struct Limiter {
    state: State,
    limiter: RefCell<limits::Limiter>,
    loaded: Cell<bool>,
}

impl DurableObject for Limiter {
    fn new(state: State, _env: Env) -> Self {
        Limiter {
            state,
            limiter: RefCell::new(limits::Limiter::default()),
            loaded: Cell::new(false),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        self.load().await?;
        let now = now_ms();
        let body = match req.path().as_str() {
            "/admit" => {
                let call: AdmitCall = req.json().await?;
                let admission = {
                    let mut limiter = self.limiter.borrow_mut();
                    limiter.prune(now);
                    limiter.admit(now, &call.checks, call.tokens)
                };
                serde_json::to_string(&admission)?
            }
            "/settle" => {
                let calls: Vec<SettleCall> = req.json().await?;
                let mut limiter = self.limiter.borrow_mut();
                for call in &calls {
                    limiter.settle(now, &call.reservation, call.actual_tokens);
                }
                "{}".to_string()
            }
            _ => return Response::error("not found", 404),
        };
        self.save().await?;
        Response::from_bytes(body.into_bytes())
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

    async fn save(&self) -> Result<()> {
        let text = serde_json::to_string(&*self.limiter.borrow())?;
        self.state.storage().put(STORAGE_KEY, text).await
    }
}

fn now_ms() -> u64 {
    kit::clock::now_ms().max(0) as u64
}
