//! Who is calling: bearer token → platform admin (bootstrap token) or API key → keyed hash → KV cache
//! (short TTL) → D1 on a miss → [`Principal`]. Revocation deletes the cache entry (see [`forget`]), so a
//! revoked key is refused on the very next request here; at the edge KV propagation bounds it (~60 s).

use crate::bindings;
use crate::fault::Fault;
use crate::settings::Settings;
use crate::store::{self, Db};
use envelope::ApiError;
use tenancy::principal::{Actor, Principal};
use worker::{Env, KvStore, Request};

/// Cached principals live this long (KV's minimum TTL); revocation deletes them sooner.
pub const CACHE_TTL_SECS: u64 = 60;

fn cache_key(key_hash: &str) -> String {
    format!("principal:{key_hash}")
}

pub fn cache(env: &Env) -> Result<KvStore, Fault> {
    Ok(env.kv(bindings::CACHE)?)
}

/// Resolves the caller of `req`, or a 401/403 that says why not.
pub async fn authenticate(
    req: &Request,
    env: &Env,
    settings: &Settings,
    now_ms: i64,
) -> Result<Actor, Fault> {
    let headers = req.headers();
    let authorization = headers.get("authorization")?;
    let x_api_key = headers.get("x-api-key")?;
    let token =
        keys::bearer_token(authorization.as_deref(), x_api_key.as_deref()).ok_or_else(|| {
            ApiError::unauthorized(
                "missing_api_key",
                "send an API key: Authorization: Bearer <key>",
            )
        })?;
    if !keys::looks_like_api_key(token) {
        if keys::token_matches(token, &settings.admin_token) {
            return Ok(Actor::Platform);
        }
        return Err(invalid_key().into());
    }
    let key = keys::parse(token).map_err(|_| invalid_key())?;
    let hash = keys::hash(settings.key_hash_secret.as_bytes(), &key);
    let principal = lookup(env, hash.as_str()).await?.ok_or_else(invalid_key)?;
    principal.check_usable(now_ms)?;
    if let Some(pinned) = &settings.pinned_instance_id {
        if &principal.instance_id != pinned {
            return Err(ApiError::forbidden(
                "wrong_instance",
                "this deployment serves another instance",
            )
            .into());
        }
    }
    Ok(Actor::Key(principal))
}

fn invalid_key() -> ApiError {
    ApiError::unauthorized("invalid_api_key", "the API key is not valid")
}

async fn lookup(env: &Env, key_hash: &str) -> Result<Option<Principal>, Fault> {
    let kv = cache(env)?;
    let cache_key = cache_key(key_hash);
    if let Some(cached) = kv.get(&cache_key).text().await? {
        if let Ok(principal) = serde_json::from_str::<Principal>(&cached) {
            return Ok(Some(principal));
        }
    }
    let db = Db::from_env(env)?;
    let found = store::keys::find_principal(&db, key_hash).await?;
    if let Some(principal) = &found {
        // Revoked keys are not cached: the D1 row answers, and revocation must not race a cache fill.
        if principal.revoked_at.is_none() {
            let text = serde_json::to_string(principal)?;
            kv.put(&cache_key, text)?
                .expiration_ttl(CACHE_TTL_SECS)
                .execute()
                .await?;
        }
    }
    Ok(found)
}

/// Drops cached principals, after a revoke, rotate, role change or delete.
pub async fn forget(env: &Env, key_hashes: &[String]) -> Result<(), Fault> {
    let kv = cache(env)?;
    for hash in key_hashes {
        kv.delete(&cache_key(hash)).await?;
    }
    Ok(())
}
