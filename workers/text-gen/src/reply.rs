//! The responses of the generation path — success, upstream failure, rate-limited, cached, a fault after
//! admission — with the rate-limit and overhead headers, and what each records after the response: its
//! usage row and its rate-limit settlement. Every request that got past admission leaves a row.

use crate::job::Job;
use budget::{Cost, Refusal};
use envelope::ApiError;
use generation::meter::{End, Meter, Tally};
use kit::call::Reply;
use kit::generate::{decorate, Finish, Hold};
use kit::store::gateway::UsageEvent;
use kit::{clock, Fault};
use limits::Admission;
use providers::chat::ChatResponse;
use providers::upstream::UpstreamError;
use worker::{Context, Env, Response};

/// What gets recorded for one request.
pub struct Outcome {
    pub status: u16,
    pub error_code: Option<String>,
    pub tally: Tally,
    pub finish: Finish,
}

pub fn success(
    env: &Env,
    ctx: &Context,
    job: &Job,
    hold: Hold,
    response: &ChatResponse,
    finish: Finish,
) -> Reply {
    let leg = job.leg(finish.leg);
    let mut reply = whole_response(job, response)?;
    decorate(
        reply.headers_mut(),
        job.started_ms,
        &hold,
        finish,
        "application/json",
    )?;
    let mut meter = leg.map(Meter::new).unwrap_or_default();
    meter.sent_text(response.text());
    for call in response.choices.iter().flat_map(|c| &c.tool_calls) {
        meter.sent_text(&call.name);
        meter.sent_text(&call.arguments);
    }
    let outcome = Outcome {
        status: 200,
        error_code: None,
        tally: meter.tally(End::Complete, Some(response.usage)),
        finish,
    };
    after(env, ctx, job, hold, &outcome);
    Ok(reply)
}

/// A whole answer rendered in the caller's format, under the model name the caller used.
fn whole_response(job: &Job, response: &ChatResponse) -> Result<Response, Fault> {
    let body = generation::render::render(
        job.plan.format,
        response,
        job.model(),
        &job.request_id,
        clock::now_ms() / 1000,
    );
    Ok(Response::from_bytes(serde_json::to_vec(&body)?)?)
}

/// The upstream failed for good (after retries and fallbacks).
pub fn failure(
    env: &Env,
    ctx: &Context,
    job: &Job,
    hold: Hold,
    err: &UpstreamError,
    finish: Finish,
) -> Reply {
    let error = err.to_api_error();
    worker::console_warn!(
        "request_id={} upstream failed after {} attempt(s): {}",
        job.request_id,
        finish.attempts,
        err.kind_name()
    );
    let reply = error_response(job, &error, &hold, finish)?;
    let outcome = Outcome {
        status: error.status(),
        error_code: Some(error.code.to_string()),
        tally: Tally::default(),
        finish,
    };
    after(env, ctx, job, hold, &outcome);
    Ok(reply)
}

/// Something of ours failed after the request was admitted: the row and the settlement are still
/// written; the fault goes on to be rendered (and logged) by the caller.
pub fn fault(
    env: &Env,
    ctx: &Context,
    job: &Job,
    hold: Hold,
    fault: Fault,
    finish: Finish,
) -> Fault {
    let error = fault.client_error();
    let outcome = Outcome {
        status: error.status(),
        error_code: Some(error.code.to_string()),
        tally: Tally::default(),
        finish,
    };
    after(env, ctx, job, hold, &outcome);
    fault
}

/// 429 from our own limiter, with Retry-After and the x-ratelimit-* headers.
pub fn limited(env: &Env, ctx: &Context, job: &Job, admission: &Admission) -> Reply {
    let secs = limits::retry_after_secs(admission.retry_after_ms);
    let error = ApiError::rate_limited(
        secs,
        format!("rate limit reached for this key or provider; retry in {secs} s"),
    );
    let reply = error_response(
        job,
        &error,
        &Hold::refused(admission.clone()),
        Finish::default(),
    )?;
    let outcome = Outcome {
        status: 429,
        error_code: Some(error.code.to_string()),
        tally: Tally::default(),
        finish: Finish::default(),
    };
    after(env, ctx, job, Hold::default(), &outcome);
    Ok(reply)
}

/// 429 `budget_exceeded`: a budget of the chain has no room for this route's worst case.
pub fn over_budget(env: &Env, ctx: &Context, job: &Job, refusal: &Refusal, worst: Cost) -> Reply {
    let reply = kit::generate::over_budget(
        &job.request_id,
        job.started_ms,
        refusal,
        worst,
        Finish::default(),
    )?;
    let outcome = Outcome {
        status: 429,
        error_code: Some("budget_exceeded".to_string()),
        tally: Tally::default(),
        finish: Finish::default(),
    };
    after(env, ctx, job, Hold::default(), &outcome);
    Ok(reply)
}

/// A stored answer to the same deterministic request: no upstream call, nothing billed.
pub fn from_cache(env: &Env, ctx: &Context, job: &Job, hit: &ChatResponse) -> Reply {
    let finish = Finish {
        cached: true,
        ..Finish::default()
    };
    let mut reply = whole_response(job, hit)?;
    decorate(
        reply.headers_mut(),
        job.started_ms,
        &Hold::default(),
        finish,
        "application/json",
    )?;
    let outcome = Outcome {
        status: 200,
        error_code: None,
        tally: Tally::default(),
        finish,
    };
    after(env, ctx, job, Hold::default(), &outcome);
    Ok(reply)
}

/// The one error envelope (kit's), with this path's headers.
pub fn error_response(
    job: &Job,
    error: &ApiError,
    hold: &Hold,
    finish: Finish,
) -> worker::Result<Response> {
    kit::generate::error_response(&job.request_id, job.started_ms, error, hold, finish)
}

/// After the response: queue the usage row and the settlement (written in batches, see `crate::flush`).
pub fn after(env: &Env, ctx: &Context, job: &Job, hold: Hold, outcome: &Outcome) {
    let event = usage_event(job, outcome);
    let instance_id = job.principal.instance_id.clone();
    let tokens = outcome.tally.settle_tokens;
    if let Some(flush) = kit::usage::queue(env, instance_id, hold, tokens, event) {
        ctx.wait_until(flush);
    }
}

pub fn usage_event(job: &Job, outcome: &Outcome) -> UsageEvent {
    let latency_ms = clock::tick_ms() - job.started_ms;
    let leg = job.leg(outcome.finish.leg);
    let usage = outcome.tally.usage;
    let config = leg.map(|l| &l.route.config);
    let created_at = clock::now_ms();
    UsageEvent {
        id: kit::store::gateway::new_usage_id(created_at),
        request_id: job.request_id.clone(),
        client_request_id: job.client_request_id.clone(),
        org_id: job.principal.org_id.clone(),
        instance_id: job.principal.instance_id.clone(),
        project_id: job.principal.project_id.clone(),
        key_id: job.principal.key_id.clone(),
        endpoint: job.plan.format.endpoint(),
        kind: "text",
        model: job.model().to_string(),
        provider: leg.map(|l| l.route.provider_key.clone()),
        upstream_model: config.map(|c| c.upstream_model.clone()),
        status: outcome.status,
        error_code: outcome.error_code.clone(),
        stream: job.plan.stream,
        cached: outcome.finish.cached,
        attempts: outcome.finish.attempts,
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        images: 0,
        cost_usd: config.map_or(0.0, |c| {
            c.cost_usd(usage.prompt_tokens, usage.completion_tokens)
        }),
        latency_ms,
        upstream_ms: outcome.finish.upstream_ms,
        overhead_ms: (latency_ms - outcome.finish.upstream_ms).max(0.0),
        created_at,
    }
}
