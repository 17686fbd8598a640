//! The opt-in exact response cache (`x-de-cache: true`) in KV, under the keys `generation::cache` makes
//! (per instance, project and config version). KV is never the source of truth: a failed read is a miss
//! and a failed write is only logged.

use envelope::ApiError;
use kit::memo::Memo;
use kit::Fault;
use providers::chat::ChatResponse;
use std::rc::Rc;
use worker::{Env, Request};

/// Cached answers live an hour.
const TTL_SECS: u64 = 3_600;

/// Whether the caller asked for the cache.
pub fn wanted(req: &Request) -> Result<bool, Fault> {
    match req.headers().get("x-de-cache")?.as_deref().map(str::trim) {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(_) => Err(ApiError::invalid_field("x-de-cache", "must be true or false").into()),
    }
}

thread_local! {
    /// Recent hits and writes, so a hot entry is not read from KV on every request. Safe to keep: an entry
    /// never changes for its key (the key covers the exact request and config version), it only expires.
    static RECENT: Memo<ChatResponse> = Memo::default();
}

pub async fn get(env: &Env, key: &str) -> Option<Rc<ChatResponse>> {
    if let Some(hit) = RECENT.with(|m| m.get(key)) {
        return Some(hit);
    }
    let kv = kit::principal::cache(env).ok()?;
    let text = kv.get(key).text().await.ok()??;
    let response = Rc::new(serde_json::from_str::<ChatResponse>(&text).ok()?);
    RECENT.with(|m| m.put(key, response.clone()));
    Some(response)
}

/// Keeps a fresh answer in this isolate at once; the KV write (shared with other isolates) is returned
/// for the caller's `wait_until`.
pub fn remember(
    env: &Env,
    key: String,
    response: &ChatResponse,
) -> impl std::future::Future<Output = ()> + 'static {
    RECENT.with(|m| m.put(&key, Rc::new(response.clone())));
    let (env, response) = (env.clone(), response.clone());
    async move {
        let stored = async {
            let text = serde_json::to_string(&response)?;
            kit::principal::cache(&env)?
                .put(&key, text)?
                .expiration_ttl(TTL_SECS)
                .execute()
                .await?;
            Ok::<(), Fault>(())
        };
        if let Err(e) = stored.await {
            worker::console_warn!("response cache write failed: {}", e);
        }
    }
}
