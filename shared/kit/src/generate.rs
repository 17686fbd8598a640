//! What every generation worker (text, embeddings, images) does the same way around its own pipeline: who
//! may call (an API key with the `generate` scope), the per-attempt deadline the caller may shorten, the
//! provider key opened in memory only, the headers of every answer (rate limits, overhead, attempts, cache),
//! and the settlement of a reservation.

use crate::limiter::SettleCall;
use crate::settings::Settings;
use crate::{clock, principal, Fault};
use envelope::ApiError;
use limits::Admission;
use tenancy::principal::{Actor, Principal};
use tenancy::roles::Scopes;
use worker::{Env, Headers, Request, Response};

/// How the upstream part of a request went.
#[derive(Debug, Clone, Copy, Default)]
pub struct Finish {
    /// The route that answered (or was tried last).
    pub leg: usize,
    pub attempts: u32,
    pub upstream_ms: f64,
    pub cached: bool,
}

/// The caller must be an API key with the `generate` scope (the platform token manages, it does not
/// generate).
pub async fn authenticate(
    req: &Request,
    env: &Env,
    settings: &Settings,
) -> Result<Principal, Fault> {
    let Actor::Key(principal) =
        principal::authenticate(req, env, settings, clock::now_ms()).await?
    else {
        return Err(ApiError::forbidden(
            "forbidden",
            "the platform admin token cannot call models; use an API key",
        )
        .into());
    };
    if !principal.scopes.allows_generate() {
        return Err(ApiError::forbidden(
            "insufficient_scope",
            "this API key lacks the generate scope",
        )
        .into());
    }
    Ok(principal)
}

/// The per-attempt deadline: the caller may ask for less than the deployment allows, never more.
pub fn timeout(req: &Request, settings: &Settings) -> Result<u64, Fault> {
    let Some(text) = req.headers().get("x-de-timeout-ms")? else {
        return Ok(settings.upstream_timeout_ms);
    };
    let asked: u64 = text.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
        ApiError::invalid_field(
            "x-de-timeout-ms",
            "must be a positive integer of milliseconds",
        )
    })?;
    Ok(asked.min(settings.upstream_timeout_ms))
}

/// The route's provider key, opened in memory only.
pub fn open_key(
    settings: &Settings,
    instance_id: &str,
    route: &generation::Route,
) -> Result<String, Fault> {
    let sealed = route.sealed_key.as_deref().ok_or_else(|| {
        Fault::Data(format!(
            "route {} lost its provider key",
            route.provider_key
        ))
    })?;
    let vault = settings.vault()?;
    vault
        .open(sealed, &route.key_aad(instance_id))
        .map_err(|e| {
            Fault::Data(format!(
                "provider key {} does not open: {e}",
                route.provider_key
            ))
        })
}

/// The one error envelope, with the generation path's headers.
pub fn error_response(
    request_id: &str,
    started_ms: f64,
    error: &ApiError,
    admission: Option<&Admission>,
    finish: Finish,
) -> worker::Result<Response> {
    let mut reply = crate::call::error_response(error, request_id)?;
    decorate(
        reply.headers_mut(),
        started_ms,
        admission,
        finish,
        "application/json",
    )?;
    Ok(reply)
}

/// Content type, rate-limit headers (OpenAI's names), time spent in the platform, cache status.
pub fn decorate(
    headers: &mut Headers,
    started_ms: f64,
    admission: Option<&Admission>,
    finish: Finish,
    content_type: &str,
) -> worker::Result<()> {
    headers.set("content-type", content_type)?;
    if let Some(quota) = admission.and_then(Admission::tightest) {
        let pairs = [
            ("x-ratelimit-limit-requests", quota.limit_requests),
            ("x-ratelimit-remaining-requests", quota.remaining_requests),
            ("x-ratelimit-limit-tokens", quota.limit_tokens),
            ("x-ratelimit-remaining-tokens", quota.remaining_tokens),
        ];
        for (name, value) in pairs {
            if let Some(value) = value {
                headers.set(name, &value.to_string())?;
            }
        }
        headers.set(
            "x-ratelimit-reset-requests",
            &format!("{}s", limits::retry_after_secs(quota.reset_requests_ms)),
        )?;
        headers.set(
            "x-ratelimit-reset-tokens",
            &format!("{}s", limits::retry_after_secs(quota.reset_tokens_ms)),
        )?;
    }
    let overhead = (clock::tick_ms() - started_ms - finish.upstream_ms).max(0.0);
    headers.set("x-de-overhead-ms", &format!("{overhead:.2}"))?;
    if finish.cached {
        headers.set("x-de-cache", "hit")?;
    }
    headers.set("x-de-attempts", &finish.attempts.to_string())?;
    Ok(())
}

/// What settles a reservation to `tokens` (the limiter's unit on its scopes: tokens, or images).
pub fn settle_call(admission: Option<Admission>, tokens: u64) -> Option<SettleCall> {
    let reservation = admission?.reservation?;
    Some(SettleCall {
        reservation,
        actual_tokens: tokens,
    })
}
