//! Building the responses of the generation path — success, upstream failure, rate-limited, cached — with
//! the rate-limit and overhead headers, and recording usage (and settling the limiter) after the response.

use crate::job::{render, Job};
use envelope::ApiError;
use kit::call::Reply;
use kit::clock;
use kit::limiter::SettleCall;
use kit::store::gateway::{Route, UsageEvent};
use limits::Admission;
use providers::chat::{ChatResponse, Usage};
use providers::upstream::UpstreamError;
use worker::{Context, Env, Headers, Response};

/// How the upstream part went.
#[derive(Debug, Clone, Copy, Default)]
pub struct Finish {
    pub attempts: u32,
    pub upstream_ms: f64,
    pub cached: bool,
}

/// What gets recorded for one request.
pub struct Outcome<'a> {
    pub status: u16,
    pub error_code: Option<String>,
    pub route: Option<&'a Route>,
    pub usage: Usage,
    pub finish: Finish,
}

pub fn success(
    env: &Env,
    ctx: &Context,
    job: &Job,
    route: &Route,
    admission: Option<Admission>,
    response: &ChatResponse,
    finish: Finish,
) -> Reply {
    let body = serde_json::to_string(&render(job, response))?;
    let mut reply = Response::from_bytes(body.into_bytes())?;
    decorate(
        reply.headers_mut(),
        job,
        admission.as_ref(),
        finish,
        "application/json",
    )?;
    let outcome = Outcome {
        status: 200,
        error_code: None,
        route: Some(route),
        usage: response.usage,
        finish,
    };
    after(env, ctx, job, admission, &outcome);
    Ok(reply)
}

pub fn failure(
    env: &Env,
    ctx: &Context,
    job: &Job,
    admission: Option<Admission>,
    err: &UpstreamError,
    finish: Finish,
) -> Reply {
    let error = err.to_api_error();
    worker::console_warn!(
        "request_id={} upstream failed after {} attempt(s): {}",
        job.request_id,
        finish.attempts,
        err_kind(err)
    );
    let reply = error_response(job, &error, admission.as_ref(), finish)?;
    let outcome = Outcome {
        status: error.status(),
        error_code: Some(error.code.to_string()),
        route: Some(&job.route),
        usage: Usage::default(),
        finish,
    };
    after(env, ctx, job, admission, &outcome);
    Ok(reply)
}

/// 429 from our own limiter, with Retry-After and the x-ratelimit-* headers.
pub fn limited(env: &Env, ctx: &Context, job: &Job, admission: &Admission) -> Reply {
    let secs = limits::retry_after_secs(admission.retry_after_ms);
    let error = ApiError::rate_limited(
        secs,
        format!("rate limit reached for this key or provider; retry in {secs} s"),
    );
    let reply = error_response(job, &error, Some(admission), Finish::default())?;
    let outcome = Outcome {
        status: 429,
        error_code: Some(error.code.to_string()),
        route: Some(&job.route),
        usage: Usage::default(),
        finish: Finish::default(),
    };
    after(env, ctx, job, None, &outcome);
    Ok(reply)
}

/// A stored answer to the same deterministic request: no upstream call, nothing billed.
pub fn from_cache(env: &Env, ctx: &Context, job: &Job, hit: &ChatResponse) -> Reply {
    let body = serde_json::to_string(&render(job, hit))?;
    let mut reply = Response::from_bytes(body.into_bytes())?;
    let finish = Finish {
        cached: true,
        ..Finish::default()
    };
    decorate(reply.headers_mut(), job, None, finish, "application/json")?;
    let outcome = Outcome {
        status: 200,
        error_code: None,
        route: Some(&job.route),
        usage: Usage::default(),
        finish,
    };
    after(env, ctx, job, None, &outcome);
    Ok(reply)
}

/// Never the upstream's body or message beyond what `to_api_error` keeps: only the kind is logged.
fn err_kind(err: &UpstreamError) -> &'static str {
    match err {
        UpstreamError::RateLimited { .. } => "rate limited",
        UpstreamError::Overloaded { .. } => "overloaded",
        UpstreamError::Server { .. } => "server error",
        UpstreamError::Auth { .. } => "auth rejected",
        UpstreamError::BadRequest { .. } => "bad request",
        UpstreamError::ContentPolicy { .. } => "content policy",
        UpstreamError::NotFound { .. } => "not found",
        UpstreamError::Malformed { .. } => "malformed body",
        UpstreamError::Truncated => "truncated",
        UpstreamError::Timeout => "timeout",
        UpstreamError::Network { .. } => "network",
    }
}

pub fn error_response(
    job: &Job,
    error: &ApiError,
    admission: Option<&Admission>,
    finish: Finish,
) -> worker::Result<Response> {
    let mut reply = Response::from_bytes(error.to_json(&job.request_id).into_bytes())?
        .with_status(error.status());
    decorate(
        reply.headers_mut(),
        job,
        admission,
        finish,
        "application/json",
    )?;
    if let Some(secs) = error.retry_after_secs {
        reply.headers_mut().set("retry-after", &secs.to_string())?;
    }
    Ok(reply)
}

/// Content type, rate-limit headers (OpenAI's names), time spent in the platform, cache status.
pub fn decorate(
    headers: &mut Headers,
    job: &Job,
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
    let overhead = (clock::tick_ms() - job.started_ms - finish.upstream_ms).max(0.0);
    headers.set("x-de-overhead-ms", &format!("{overhead:.2}"))?;
    if finish.cached {
        headers.set("x-de-cache", "hit")?;
    }
    headers.set("x-de-attempts", &finish.attempts.to_string())?;
    Ok(())
}

/// After the response: settle the reservation with the real tokens and write the usage row.
pub fn after(env: &Env, ctx: &Context, job: &Job, admission: Option<Admission>, outcome: &Outcome) {
    let event = usage_event(job, outcome);
    let settle = settle_call(admission, &outcome.usage);
    let instance_id = job.principal.instance_id.clone();
    if let Some(flush) = crate::flush::queue(env, instance_id, settle, event) {
        ctx.wait_until(flush);
    }
}

/// What settles a reservation: the tokens the upstream really billed.
pub fn settle_call(admission: Option<Admission>, usage: &Usage) -> Option<SettleCall> {
    let reservation = admission?.reservation?;
    Some(SettleCall {
        reservation,
        actual_tokens: usage.prompt_tokens + usage.completion_tokens,
    })
}

/// Queues the settle and the usage row from inside a `wait_until` already running (the end of a stream);
/// they are written in batches a moment later (see [`crate::flush`]).
pub async fn record(env: &Env, instance_id: String, settle: Option<SettleCall>, event: UsageEvent) {
    if let Some(flush) = crate::flush::queue(env, instance_id, settle, event) {
        flush.await;
    }
}

pub fn usage_event(job: &Job, outcome: &Outcome) -> UsageEvent {
    let latency_ms = clock::tick_ms() - job.started_ms;
    let route = outcome.route;
    let cost_usd = route
        .and_then(|r| r.config.as_ref())
        .map(|c| c.cost_usd(outcome.usage.prompt_tokens, outcome.usage.completion_tokens))
        .unwrap_or(0.0);
    let created_at = clock::now_ms();
    UsageEvent {
        id: kit::store::gateway::new_usage_id(created_at),
        request_id: job.request_id.clone(),
        client_request_id: job.client_request_id.clone(),
        org_id: job.principal.org_id.clone(),
        instance_id: job.principal.instance_id.clone(),
        project_id: job.principal.project_id.clone(),
        key_id: job.principal.key_id.clone(),
        endpoint: endpoint(job),
        model: job.route.model.clone(),
        provider: route.map(|r| r.provider_key.clone()),
        upstream_model: route.map(|r| r.upstream_model.clone()),
        status: outcome.status,
        error_code: outcome.error_code.clone(),
        stream: job.request.stream,
        cached: outcome.finish.cached,
        attempts: outcome.finish.attempts,
        prompt_tokens: outcome.usage.prompt_tokens,
        completion_tokens: outcome.usage.completion_tokens,
        cost_usd,
        latency_ms,
        upstream_ms: outcome.finish.upstream_ms,
        overhead_ms: (latency_ms - outcome.finish.upstream_ms).max(0.0),
        created_at,
    }
}

fn endpoint(job: &Job) -> &'static str {
    match job.format {
        crate::job::Format::OpenAi => "chat.completions",
        crate::job::Format::Anthropic => "messages",
        crate::job::Format::Seed => "generate",
    }
}
