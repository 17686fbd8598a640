//! Who is calling: bearer token → platform admin (bootstrap token) or API key → keyed hash → this isolate's
//! cache (see [`crate::memo`]) → KV cache (short TTL) → D1 on a miss → [`Principal`].
//!
//! Revocation (and rotate, role change, delete) commits in D1, then [`forget`] deletes the KV entry and
//! the in-isolate entries of the config worker and the generation workers (text-gen, image-gen). Two races with a cache fill in flight are
//! closed here, without a version column:
//! - **KV**: a filler that read D1 before the change could write its stale entry after the revoke's delete
//!   (and it would live [`CACHE_TTL_SECS`]). So a filler re-reads D1 after its KV write and deletes the
//!   entry if the answer changed: whichever of the two writes lands last, the final state is "no entry"
//!   (a delete after the put) or the put was of the new answer.
//! - **memo and the short window before that re-read**: each KV entry carries the time its D1 read started;
//!   an isolate that was told about the change (see [`crate::memo::Memo::forgotten_since`]) ignores
//!   entries read before it (minus [`CLOCK_SKEW_MS`]) and does not cache a load that started before it.
//!
//! Bounds: where the notice reached (locally: every isolate), a revoked key is refused from the first
//! request after the revoke answered. Elsewhere at the edge: at most [`crate::memo::TTL_MS`] (10 s) in an
//! isolate that was not told, after KV stops serving the entry (KV is eventually consistent: ~60 s), so
//! ≤ ~70 s.

use crate::bindings;
use crate::fault::Fault;
use crate::memo::Memo;
use crate::settings::Settings;
use crate::store::sessions::SignedIn;
use crate::store::{self, Db};
use envelope::ApiError;
use keys::session::SessionToken;
use serde::{Deserialize, Serialize};
use std::rc::Rc;
use tenancy::principal::{Actor, Principal};
use worker::{Env, KvStore, Method, Request};

/// Cached principals live this long in KV (its minimum TTL); revocation deletes them sooner.
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
    key_actor(env, settings, hash.as_str(), now_ms).await
}

/// The usable key with this keyed hash, on this deployment.
pub async fn key_actor(
    env: &Env,
    settings: &Settings,
    key_hash: &str,
    now_ms: i64,
) -> Result<Actor, Fault> {
    let principal = lookup(env, key_hash).await?.ok_or_else(invalid_key)?;
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

/// A request authenticated by the interfaces' session cookie.
pub struct Session {
    pub token: SessionToken,
    pub expires_at: i64,
}

/// The admin API's callers: a bearer token (or `x-api-key`) as [`authenticate`]; without one, the
/// interfaces' session cookie, whose mutations must carry the session's CSRF token in `x-de-csrf` (so
/// another site's form or script, which cannot read it, cannot act with the operator's cookie). A key's
/// session resolves the key on every request: revoked, rotated or deleted keys end their sessions.
pub async fn authenticate_admin(
    req: &Request,
    env: &Env,
    settings: &Settings,
    now_ms: i64,
) -> Result<(Actor, Option<Session>), Fault> {
    let headers = req.headers();
    let has_token = headers.has("authorization")? || headers.has("x-api-key")?;
    let cookie = headers.get("cookie")?;
    let session = cookie
        .as_deref()
        .and_then(keys::session::from_cookie_header);
    let (false, Some(session)) = (has_token, session) else {
        return Ok((authenticate(req, env, settings, now_ms).await?, None));
    };
    let expired = || {
        ApiError::unauthorized(
            "invalid_session",
            "the session is not valid or has expired: sign in again",
        )
    };
    let token = SessionToken::parse(session).ok_or_else(expired)?;
    let secret = settings.key_hash_secret.as_bytes();
    let db = Db::from_env(env)?;
    let (who, expires_at) = store::sessions::find(&db, &token.id_hash(secret), now_ms)
        .await?
        .ok_or_else(expired)?;
    let safe = matches!(req.method(), Method::Get | Method::Head | Method::Options);
    if !safe {
        let given = headers.get(keys::session::CSRF_HEADER)?.unwrap_or_default();
        if !token.csrf_matches(secret, &given) {
            return Err(ApiError::forbidden(
                "csrf_token_invalid",
                "a change made with a session cookie must send the session's csrf_token in x-de-csrf",
            )
            .into());
        }
    }
    let actor = match who {
        SignedIn::Platform => Actor::Platform,
        SignedIn::Key(hash) => key_actor(env, settings, &hash, now_ms).await?,
    };
    Ok((actor, Some(Session { token, expires_at })))
}

fn invalid_key() -> ApiError {
    ApiError::unauthorized("invalid_api_key", "the API key is not valid")
}

thread_local! {
    static PRINCIPALS: Memo<Principal> = Memo::default();
}

/// How far another isolate's clock may be ahead of ours when judging a KV entry's read time.
pub const CLOCK_SKEW_MS: f64 = 1_000.0;

/// A KV entry: the principal and when the D1 read behind it started (wall clock, ms). Entries in any
/// other shape (an older format) are ignored, as misses.
#[derive(Serialize, Deserialize)]
struct Cached {
    read_at_ms: f64,
    principal: Principal,
}

/// A principal (or none) and when the read behind it started.
struct Found {
    principal: Option<Principal>,
    read_at_ms: f64,
}

async fn lookup(env: &Env, key_hash: &str) -> Result<Option<Principal>, Fault> {
    if let Some(hit) = PRINCIPALS.with(|m| m.get(key_hash)) {
        return Ok(Some((*hit).clone()));
    }
    let started = crate::clock::tick_ms();
    let found = lookup_shared(env, key_hash, started).await?;
    if let Some(principal) = found.principal.as_ref().filter(|p| p.revoked_at.is_none()) {
        let read_at = found.read_at_ms.min(started);
        PRINCIPALS.with(|m| m.put_fresh(key_hash, Rc::new(principal.clone()), read_at));
    }
    Ok(found.principal)
}

/// The KV cache shared by every isolate, then D1.
async fn lookup_shared(env: &Env, key_hash: &str, started: f64) -> Result<Found, Fault> {
    let kv = cache(env)?;
    let cache_key = cache_key(key_hash);
    if let Some(text) = kv.get(&cache_key).text().await? {
        if let Ok(cached) = serde_json::from_str::<Cached>(&text) {
            // An entry filled from a read before a change we were told about may be the old answer.
            let read_at = cached.read_at_ms - CLOCK_SKEW_MS;
            if !PRINCIPALS.with(|m| m.forgotten_since(key_hash, read_at)) {
                return Ok(Found {
                    principal: Some(cached.principal),
                    read_at_ms: read_at,
                });
            }
        }
    }
    let db = Db::from_env(env)?;
    let found = store::keys::find_principal(&db, key_hash).await?;
    // Revoked keys are not cached: the D1 row answers.
    let Some(principal) = found.as_ref().filter(|p| p.revoked_at.is_none()) else {
        return Ok(Found {
            principal: found,
            read_at_ms: started,
        });
    };
    let text = serde_json::to_string(&Cached {
        read_at_ms: started,
        principal: principal.clone(),
    })?;
    kv.put(&cache_key, text)?
        .expiration_ttl(CACHE_TTL_SECS)
        .execute()
        .await?;
    // The re-check (see the module note): a change that committed after our read has its KV delete
    // possibly overtaken by our put; delete again, and answer with what D1 says now.
    let now = store::keys::find_principal(&db, key_hash).await?;
    if now.as_ref() != Some(principal) {
        kv.delete(&cache_key).await?;
    }
    Ok(Found {
        principal: now,
        read_at_ms: started,
    })
}

/// Drops cached principals, after a revoke, rotate, role change or delete: in KV, in this isolate, and in
/// the generation workers' isolates.
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
    tell_workers(env, &notice).await;
    Ok(())
}

/// Drops cached instance snapshots after a change to models, provider keys or policies.
pub async fn forget_instances(env: &Env, instance_ids: &[String]) -> Result<(), Fault> {
    forget_here(&[], instance_ids);
    let notice = Forget {
        key_hashes: Vec::new(),
        instance_ids: instance_ids.to_vec(),
    };
    tell_workers(env, &notice).await;
    Ok(())
}

/// The change is already committed when this runs, so a failed notice is logged, not returned: the caller
/// must not see an error for a change that happened. (The text-gen isolate then drops the entry within
/// [`crate::memo::TTL_MS`].) Both workers are told at once.
async fn tell_workers(env: &Env, notice: &Forget) {
    let told = futures_util::future::join_all(
        GENERATION_WORKERS
            .iter()
            .map(|binding| notify(env, binding, notice)),
    )
    .await;
    for (binding, result) in GENERATION_WORKERS.iter().zip(told) {
        if let Err(e) = result {
            worker::console_error!("telling {} to drop cached entries failed: {}", binding, e);
        }
    }
}

/// The workers that hold principals and instance snapshots in their isolates, by binding.
const GENERATION_WORKERS: [&str; 2] = [bindings::TEXT_GEN, bindings::IMAGE_GEN];

/// What the config worker tells the generation workers to drop.
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

/// Answers the config worker's notice on [`FORGET_PATH`]: checked against the admin token (anything else
/// is told the path does not exist), then this isolate's entries are dropped.
pub async fn answer_forget(req: &mut Request, env: &Env, call: &crate::Call) -> crate::call::Reply {
    let settings = crate::settings::Settings::load(env)?;
    let auth = req.headers().get("authorization")?;
    let token = keys::bearer_token(auth.as_deref(), None).unwrap_or("");
    if !keys::token_matches(token, &settings.admin_token) {
        return Err(ApiError::route_not_found().into());
    }
    let notice: Forget = crate::call::read_json(req, 1024 * 1024).await?;
    forget_here(&notice.key_hashes, &notice.instance_ids);
    call.no_content()
}

/// The internal path on the generation workers; reachable only through the service binding (the front door
/// does not route it) and checked against the admin token.
pub const FORGET_PATH: &str = "/internal/forget";

async fn notify(env: &Env, binding: &str, forget: &Forget) -> Result<(), Fault> {
    let Ok(service) = env.service(binding) else {
        return Ok(());
    };
    let settings = crate::settings::Settings::load(env)?;
    let headers = worker::Headers::new();
    headers.set("authorization", &format!("Bearer {}", settings.admin_token))?;
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Post)
        .with_headers(headers)
        .with_body(Some(serde_json::to_string(forget)?.into()));
    let response = service
        .fetch(format!("https://internal{FORGET_PATH}"), Some(init))
        .await?;
    if response.status_code() != 204 {
        return Err(Fault::Data(format!(
            "{binding} refused the cache invalidation: {}",
            response.status_code()
        )));
    }
    Ok(())
}
