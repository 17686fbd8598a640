//! Opt-in exact response cache in KV (`x-de-cache: true`): only deterministic requests (temperature 0,
//! not streamed), keyed by instance and the exact canonical request, so tenants never share entries.
//! KV is never the source of truth: a failed read is a miss and a failed write is only logged.

use crate::job::Job;
use envelope::ApiError;
use kit::Fault;
use providers::chat::ChatResponse;
use sha2::{Digest, Sha256};
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

pub async fn get(env: &Env, key: &str) -> Option<ChatResponse> {
    let kv = kit::principal::cache(env).ok()?;
    let text = kv.get(key).text().await.ok()??;
    serde_json::from_str(&text).ok()
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
