//! Opt-in exact response cache in KV (`x-de-cache: true`): only deterministic requests (temperature 0,
//! not streamed), keyed by instance and the exact canonical request, so tenants never share entries.
//! KV is never the source of truth: a failed read is a miss and a failed write is only logged.

use crate::job::Job;
use envelope::ApiError;
use kit::memo::Memo;
use kit::Fault;
use providers::chat::ChatResponse;
use sha2::{Digest, Sha256};
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

/// The cache key, or `None` when the request is not deterministic.
pub fn key(job: &Job) -> Option<String> {
    let request = &job.request;
    if request.stream || request.temperature != Some(0.0) {
        return None;
    }
    let canonical = serde_json::to_vec(request).ok()?;
    let mut hash = Sha256::new();
    hash.update(job.route.model.as_bytes());
    hash.update([0]);
    hash.update(&canonical);
    Some(format!(
        "resp:v1:{}:{}",
        job.principal.instance_id,
        hex::encode(hash.finalize())
    ))
}

thread_local! {
    /// Recent hits and writes, so a hot entry is not read from KV on every request. Safe to keep: an entry
    /// never changes for its key (the key is the exact request), it only expires.
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

/// Keeps a fresh answer in this isolate at once (the KV write follows after the response).
pub fn remember(key: &str, response: &ChatResponse) {
    RECENT.with(|m| m.put(key, Rc::new(response.clone())));
}

pub async fn put(env: &Env, key: &str, response: &ChatResponse) {
    let stored = async {
        let text = serde_json::to_string(response)?;
        kit::principal::cache(env)?
            .put(key, text)?
            .expiration_ttl(TTL_SECS)
            .execute()
            .await?;
        Ok::<(), Fault>(())
    };
    if let Err(e) = stored.await {
        worker::console_warn!("response cache write failed: {}", e);
    }
}
