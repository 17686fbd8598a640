//! Who is calling: bearer token → platform admin (bootstrap token) or API key → keyed hash → this isolate's
//! cache (see [`crate::memo`]) → KV cache (short TTL) → D1 on a miss → [`Principal`]. Revocation deletes the
//! cache entries everywhere it can reach (see [`forget`]), so a revoked key is refused on the very next
//! request locally; at the edge, other isolates and KV propagation bound it (≤ 10 s in-isolate + ~60 s KV).

use crate::bindings;
use crate::fault::Fault;
use crate::memo::Memo;
use crate::settings::Settings;
use crate::store::{self, Db};
use envelope::ApiError;
use serde::{Deserialize, Serialize};
use std::rc::Rc;
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

thread_local! {
    static PRINCIPALS: Memo<Principal> = Memo::default();
}

async fn lookup(env: &Env, key_hash: &str) -> Result<Option<Principal>, Fault> {
    if let Some(hit) = PRINCIPALS.with(|m| m.get(key_hash)) {
        return Ok(Some((*hit).clone()));
    }
    let found = lookup_shared(env, key_hash).await?;
    if let Some(principal) = found.as_ref().filter(|p| p.revoked_at.is_none()) {
        PRINCIPALS.with(|m| m.put(key_hash, Rc::new(principal.clone())));
    }
    Ok(found)
}

/// The KV cache shared by every isolate, then D1.
async fn lookup_shared(env: &Env, key_hash: &str) -> Result<Option<Principal>, Fault> {
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

/// Drops cached principals, after a revoke, rotate, role change or delete: in KV, in this isolate, and in
/// the text-gen worker's isolate.
pub async fn forget(env: &Env, key_hashes: &[String]) -> Result<(), Fault> {
    if key_hashes.is_empty() {
        return Ok(());
    }
    let kv = cache(env)?;
    for hash in key_hashes {
        kv.delete(&cache_key(hash)).await?;
    }
    forget_here(key_hashes, &[]);
    let notice = Forget {
        key_hashes: key_hashes.to_vec(),
        instance_ids: Vec::new(),
    };
    tell_text_gen(env, &notice).await;
    Ok(())
}

/// Drops cached instance snapshots after a change to models, provider keys or policies.
pub async fn forget_instances(env: &Env, instance_ids: &[String]) -> Result<(), Fault> {
    forget_here(&[], instance_ids);
    let notice = Forget {
        key_hashes: Vec::new(),
        instance_ids: instance_ids.to_vec(),
    };
    tell_text_gen(env, &notice).await;
    Ok(())
}

/// The change is already committed when this runs, so a failed notice is logged, not returned: the caller
/// must not see an error for a change that happened. (The text-gen isolate then drops the entry within
/// [`crate::memo::TTL_MS`].)
async fn tell_text_gen(env: &Env, notice: &Forget) {
    if let Err(e) = notify(env, notice).await {
        worker::console_error!("telling text-gen to drop cached entries failed: {}", e);
    }
}

/// What the config worker tells the text-gen worker to drop.
#[derive(Serialize, Deserialize, Default)]
pub struct Forget {
    pub key_hashes: Vec<String>,
    pub instance_ids: Vec<String>,
}

/// Clears this isolate's entries.
pub fn forget_here(key_hashes: &[String], instance_ids: &[String]) {
    PRINCIPALS.with(|m| key_hashes.iter().for_each(|h| m.remove(h)));
    store::gateway::forget(instance_ids);
}

/// The internal path on the text-gen worker; reachable only through the service binding (the front door
/// does not route it) and checked against the admin token.
pub const FORGET_PATH: &str = "/internal/forget";

async fn notify(env: &Env, forget: &Forget) -> Result<(), Fault> {
    let Ok(text_gen) = env.service(bindings::TEXT_GEN) else {
        return Ok(());
    };
    let settings = crate::settings::Settings::load(env)?;
    let headers = worker::Headers::new();
    headers.set("authorization", &format!("Bearer {}", settings.admin_token))?;
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Post)
        .with_headers(headers)
        .with_body(Some(serde_json::to_string(forget)?.into()));
    let response = text_gen
        .fetch(format!("https://text-gen{FORGET_PATH}"), Some(init))
        .await?;
    if response.status_code() != 204 {
        return Err(Fault::Data(format!(
            "text-gen refused the cache invalidation: {}",
            response.status_code()
        )));
    }
    Ok(())
}
