//! Sign-in for the interfaces: `POST /admin/session` exchanges the platform token or an admin API key for a
//! session cookie (`keys::session`: HttpOnly, Secure, SameSite=Strict, an hour); `GET` tells a page who is
//! signed in (and its CSRF token again, after a reload); `DELETE` signs out. The token never reaches the
//! page's storage: the cookie is unreadable by scripts, and the CSRF token is only good with it.

use crate::ctx::{Ctx, BODY_LIMIT};
use envelope::ApiError;
use keys::session::{self as cookie, SessionToken};
use kit::call::Reply;
use kit::principal::{self, Session};
use kit::settings::Settings;
use kit::store::sessions::{self, SignedIn};
use kit::store::Db;
use kit::{Call, Fault};
use serde::Deserialize;
use serde_json::{json, Value};
use tenancy::principal::Actor;
use tenancy::roles::Scope;
use worker::{Env, Request, Response};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    token: String,
}

fn refused() -> ApiError {
    ApiError::unauthorized("invalid_api_key", "the token is not valid").with_param("token")
}

fn body(actor: &Actor, token: &SessionToken, settings: &Settings, expires_at: i64) -> Value {
    json!({
        "object": "session",
        "actor": actor.to_json(),
        "csrf_token": token.csrf_token(settings.key_hash_secret.as_bytes()),
        "expires_at": expires_at,
    })
}

/// `POST /admin/session {"token"}`: the platform token, or an API key with an admin scope (`admin:read` or
/// `admin:write`; a generation-only key cannot sign in: 403).
pub async fn sign_in(
    req: &mut Request,
    env: &Env,
    call: &Call,
    settings: &Settings,
    now: i64,
) -> Reply {
    let bytes = kit::call::read_body(req, BODY_LIMIT).await?;
    let input: SignIn = envelope::parse_object(&bytes)?;
    let token = input.token.trim();
    if token.is_empty() {
        return Err(
            ApiError::invalid_field("token", "must be the platform token or an API key").into(),
        );
    }
    let secret = settings.key_hash_secret.as_bytes();
    let (actor, who) = if keys::looks_like_api_key(token) {
        let key = keys::parse(token).map_err(|_| refused())?;
        let hash = keys::hash(secret, &key);
        let actor = principal::key_actor(env, settings, hash.as_str(), now).await?;
        (actor, SignedIn::Key(hash.as_str().to_string()))
    } else if keys::token_matches(token, &settings.admin_token) {
        (Actor::Platform, SignedIn::Platform)
    } else {
        return Err(refused().into());
    };
    if let Actor::Key(key) = &actor {
        let admin = key
            .scopes
            .iter()
            .any(|s| matches!(s, Scope::AdminRead | Scope::AdminWrite));
        if !admin {
            return Err(ApiError::forbidden(
                "insufficient_scope",
                "this key cannot sign in: it has no admin:read or admin:write scope",
            )
            .into());
        }
    }
    let session = SessionToken::generate(&kit::random::bytes::<32>());
    let expires_at = now + cookie::TTL_SECS * 1000;
    let db = Db::from_env(env)?;
    sessions::create(&db, &session.id_hash(secret), &who, now, expires_at).await?;
    let mut response = call.json(200, &body(&actor, &session, settings, expires_at))?;
    set_cookie(&mut response, &session.set_cookie())?;
    Ok(response)
}

fn set_cookie(response: &mut Response, value: &str) -> Result<(), Fault> {
    let headers = response.headers_mut();
    headers.set("set-cookie", value)?;
    headers.set("cache-control", "no-store")?;
    Ok(())
}

fn no_session() -> Fault {
    ApiError::unauthorized(
        "invalid_session",
        "no session: sign in with POST /admin/session",
    )
    .into()
}

/// `GET /admin/session`: who the cookie signs in as.
pub fn current(ctx: &Ctx<'_>) -> Reply {
    let session = ctx.session.as_ref().ok_or_else(no_session)?;
    let mut response = ctx.ok(&body(
        &ctx.actor,
        &session.token,
        &ctx.settings,
        session.expires_at,
    ))?;
    response.headers_mut().set("cache-control", "no-store")?;
    Ok(response)
}

/// `DELETE /admin/session`: the session ends here and in the browser.
pub async fn sign_out(ctx: &Ctx<'_>) -> Reply {
    let Session { token, .. } = ctx.session.as_ref().ok_or_else(no_session)?;
    let secret = ctx.settings.key_hash_secret.as_bytes();
    sessions::delete(&ctx.db, &token.id_hash(secret)).await?;
    let mut response = ctx.call.no_content()?;
    set_cookie(&mut response, &cookie::clear_cookie())?;
    Ok(response)
}
