//! What every generation worker (text, embeddings, images) does the same way around its own pipeline: who
//! may call (an API key with the `generate` scope), the per-attempt deadline the caller may shorten, the
//! provider key opened in memory only, the admission (the rate limiter, then the budget ledger), the headers
//! of every answer (rate limits, budget, overhead, attempts, cache), and the settlement of a reservation.

use crate::limiter::SettleCall;
use crate::settings::Settings;
use crate::{clock, principal, Fault};
use budget::{Cost, Refusal};
use envelope::ApiError;
use limits::{Admission, Check};
use tenancy::principal::{Actor, Principal};
use tenancy::roles::Scopes;
use worker::{Context, Env, Headers, Request, Response};

/// What an admitted request holds until it settles: its rate-limit reservation (`None` when no policy
/// applies) and its budget reservation (`None` when no scope of its chain has a budget).
#[derive(Clone, Debug, Default)]
pub struct Hold {
    pub limits: Option<Admission>,
    pub budget: Option<crate::budget::Hold>,
}

impl Hold {
    /// A refused admission, for its rate-limit headers.
    pub fn refused(admission: Admission) -> Hold {
        Hold {
            limits: Some(admission),
            budget: None,
        }
    }
}

/// What one route of a request asks to be admitted for.
pub struct Ask<'a> {
    pub instance_id: &'a str,
    /// The rate-limit checks and what they reserve (tokens, or images on the image scopes).
    pub checks: &'a [Check],
    pub tokens: u64,
    pub budget: Option<BudgetAsk>,
}

/// The budget reservation of a route: its worst case at every scope of the chain.
pub struct BudgetAsk {
    pub org_id: String,
    /// Unique per route of a request (a fallback reserves anew at its own price).
    pub request_id: String,
    pub chain: Vec<String>,
    pub worst: Cost,
}

/// The verdict of an admission.
pub enum Gate {
    Open(Hold),
    /// A rate limit has no room now (429 with Retry-After).
    Limited(Admission),
    /// The request alone exceeds a per-minute limit: it can never pass (400 naming the field).
    Never(Admission),
    /// A budget has no room for the route's worst case (429 `budget_exceeded`); nothing is held.
    OverBudget {
        refusal: Refusal,
        worst: Cost,
    },
}

/// Admits a route: the rate limiter (no policy, no call) and the budget ledger (no budget on the chain, no
/// call) are asked at once, so a budgeted request waits for the slower of the two Durable Objects, not for
/// both in turn. Whichever refuses (or cannot be reached) has the other's reservation given back: a refused
/// request holds nothing once it is answered. (While both are in flight, a request that the limiter will
/// refuse holds its budget reservation for that moment: a concurrent request may find less room, never more
/// than there is.)
pub async fn admit(env: &Env, ctx: &Context, ask: Ask<'_>) -> Result<Gate, Fault> {
    let limiter = async {
        if ask.checks.is_empty() {
            return Ok(None);
        }
        let (admission, watch) =
            crate::limiter::admit(env, ask.instance_id, ask.checks.to_vec(), ask.tokens).await?;
        if watch {
            // A grant is held in this isolate now: give back what it did not use when its second ends.
            ctx.wait_until(crate::limiter::release_when_due(env.clone()));
        }
        Ok::<_, Fault>(Some(admission))
    };
    let ledger = async {
        match &ask.budget {
            None => None,
            Some(want) => Some(
                crate::budget::reserve(
                    env,
                    &want.org_id,
                    &want.request_id,
                    want.chain.clone(),
                    want.worst,
                )
                .await,
            ),
        }
    };
    let (limits, budget) = futures_util::future::join(limiter, ledger).await;
    // A refusal by the limiter gives back what the ledger holds.
    let give_back = |budget: Option<Result<Result<crate::budget::Hold, Refusal>, Fault>>| {
        if let Some(Ok(Ok(held))) = budget {
            let hold = Hold {
                limits: None,
                budget: Some(held),
            };
            release(env, ctx, ask.instance_id, hold);
        }
    };
    let limits = match limits {
        Err(fault) => {
            give_back(budget);
            return Err(fault);
        }
        Ok(Some(admission)) if admission.never => {
            give_back(budget);
            return Ok(Gate::Never(admission));
        }
        Ok(Some(admission)) if !admission.admitted => {
            give_back(budget);
            return Ok(Gate::Limited(admission));
        }
        Ok(admitted) => admitted,
    };
    let unheld = Hold {
        limits,
        budget: None,
    };
    match (budget, &ask.budget) {
        (None, _) | (_, None) => Ok(Gate::Open(unheld)),
        (Some(Ok(Ok(budget))), _) => Ok(Gate::Open(Hold {
            limits: unheld.limits,
            budget: Some(budget),
        })),
        (Some(Ok(Err(refusal))), Some(want)) => {
            release(env, ctx, ask.instance_id, unheld);
            Ok(Gate::OverBudget {
                refusal,
                worst: want.worst,
            })
        }
        (Some(Err(fault)), _) => {
            release(env, ctx, ask.instance_id, unheld);
            Err(fault)
        }
    }
}

/// Gives a hold back unused, after the response (a route that generated nothing before a fallback, a
/// budget refusal after the limiter admitted). No usage row: the request's row comes at its end.
pub fn release(env: &Env, ctx: &Context, instance_id: &str, hold: Hold) {
    if let Some(call) = settle_call(hold.limits, 0) {
        let (env, instance_id) = (env.clone(), instance_id.to_string());
        ctx.wait_until(async move {
            if let Err(e) = crate::limiter::settle(&env, &instance_id, vec![call]).await {
                worker::console_error!("settling an unused reservation failed: {}", e);
            }
        });
    }
    if let Some(held) = hold.budget {
        let env = env.clone();
        ctx.wait_until(async move {
            let call = crate::budget::SettleCall {
                reservation: held.reservation,
                actual: Cost::ZERO,
            };
            if let Err(e) = crate::budget::settle(&env, &held.org_id, vec![call]).await {
                worker::console_error!("releasing an unused budget reservation failed: {}", e);
            }
        });
    }
}

/// The 429 of a budget refusal, with its `Retry-After`. A client is told not to retry on its own when
/// the budget resets more than a minute away (or never): the official SDKs read `x-should-retry`.
pub fn over_budget(
    request_id: &str,
    started_ms: f64,
    refusal: &Refusal,
    worst: Cost,
    finish: Finish,
) -> worker::Result<Response> {
    let now = clock::now_ms().max(0) as u64;
    let error = generation::spend::refusal_error(refusal, worst, now);
    let mut reply = error_response(request_id, started_ms, &error, &Hold::default(), finish)?;
    if error.retry_after_secs.is_none_or(|secs| secs > 60) {
        reply.headers_mut().set("x-should-retry", "false")?;
    }
    Ok(reply)
}

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
    hold: &Hold,
    finish: Finish,
) -> worker::Result<Response> {
    let mut reply = crate::call::error_response(error, request_id)?;
    decorate(
        reply.headers_mut(),
        started_ms,
        hold,
        finish,
        "application/json",
    )?;
    Ok(reply)
}

/// Content type, rate-limit headers (OpenAI's names), the tightest budget's headers, time spent in the
/// platform, cache status.
pub fn decorate(
    headers: &mut Headers,
    started_ms: f64,
    hold: &Hold,
    finish: Finish,
    content_type: &str,
) -> worker::Result<()> {
    headers.set("content-type", content_type)?;
    if let Some(budget) = &hold.budget {
        for (name, value) in generation::spend::headers(&budget.remaining) {
            headers.set(name, &value)?;
        }
    }
    if let Some(quota) = hold.limits.as_ref().and_then(Admission::tightest) {
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
