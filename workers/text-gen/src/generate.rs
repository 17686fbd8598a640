//! One generation request, as a loop that performs the I/O the pure pipeline (`generation`) asks for:
//! authenticate, parse, plan, answer from the cache or admit the first route, then per attempt call the
//! upstream and ask [`Run`] what next — retry after a delay, fall back to the next route (admitted by its
//! own limits first; the unused reservation settled), or give up. Every request admitted leaves a usage
//! row and a settlement, whatever happens after (see `crate::reply`).

use crate::cache;
use crate::job::Job;
use crate::reply;
use crate::stream;
use envelope::ApiError;
use generation::{Format, Leg, Next, PlanInput, Run};
use kit::call::Reply;
use kit::generate::{authenticate, open_key, timeout, Ask, BudgetAsk, Finish, Gate, Hold};
use kit::settings::Settings;
use kit::store::gateway;
use kit::upstream::{self, Answer};
use kit::{clock, random, Call, Fault};
use providers::chat::ChatResponse;
use providers::upstream::{build_request, parse_response, Credentials, HttpRequest, UpstreamError};
use worker::{Context, Env, Request};

/// Chat bodies may carry long conversations; anything larger is refused while it is read.
const BODY_LIMIT: usize = 4 * 1024 * 1024;

pub async fn run(
    req: &mut Request,
    env: &Env,
    ctx: &Context,
    call: &Call,
    format: Format,
) -> Reply {
    let settings = Settings::load(env)?;
    let principal = authenticate(req, env, &settings).await?;
    let body = kit::call::read_body(req, BODY_LIMIT).await?;
    if format == Format::Seed {
        let catalog = gateway::snapshot(env, &principal.instance_id).await?;
        if generation::seed_images::names_image_model(&body, &catalog) {
            return kit::call::forward(env, kit::bindings::IMAGE_GEN, req, body).await;
        }
    }
    let request = match format {
        Format::OpenAi => providers::openai::parse_request(&body)?,
        Format::Anthropic => providers::anthropic::parse_request(&body)?,
        Format::Responses => providers::responses::parse_request(&body)?,
        Format::Seed => generation::seed::parse_request(&body)?,
    };
    let timeout_ms = timeout(req, &settings)?;
    let cache = cache::wanted(req)?;
    let catalog = gateway::snapshot(env, &principal.instance_id).await?;
    let plan = generation::plan(PlanInput {
        format,
        principal: &principal,
        request,
        catalog: &catalog,
        timeout_ms,
        budget_ms: settings.upstream_budget_ms,
        cache,
    })?;
    let budget_chain = generation::spend::budget_chain(&catalog, &principal);
    let job = Job {
        plan,
        budget_chain,
        principal,
        settings,
        request_id: call.request_id.clone(),
        client_request_id: call.client_request_id.clone(),
        started_ms: call.started_ms,
    };
    if let Some(key) = &job.plan.cache_key {
        if let Some(hit) = cache::get(env, key).await {
            return reply::from_cache(env, ctx, &job, &hit);
        }
    }
    let hold = match admit(env, ctx, &job, 0).await? {
        Gate::Open(hold) => hold,
        Gate::Limited(refused) => return reply::limited(env, ctx, &job, &refused),
        Gate::Never(_) => return Err(ApiError::invalid_field(
            "max_tokens",
            "this request needs more tokens than the per-minute limit allows (without max_tokens, it reserves the model's output limit)",
        )
        .into()),
        Gate::OverBudget { refusal, worst } => {
            return reply::over_budget(env, ctx, &job, &refusal, worst)
        }
    };
    attempt(env, ctx, job, hold).await
}

/// What an attempt brought back.
enum Got {
    Whole(ChatResponse),
    Stream(Answer, providers::upstream::ProviderKind),
}

/// The attempts, from the first route's admission on.
async fn attempt(env: &Env, ctx: &Context, job: Job, mut hold: Hold) -> Reply {
    let mut run = Run::new(job.plan.legs.len(), job.plan.retry, now());
    let mut finish = Finish::default();
    loop {
        finish.leg = run.leg();
        let Some(leg) = job.plan.legs.get(run.leg()) else {
            let fault = Fault::Data("the run left its routes".into());
            return Err(reply::fault(env, ctx, &job, hold, fault, finish));
        };
        let http = match upstream_request(&job, leg) {
            Ok(http) => http,
            Err(fault) => return Err(reply::fault(env, ctx, &job, hold, fault, finish)),
        };
        run.attempt();
        finish.attempts = run.attempts();
        let started = clock::tick_ms();
        let got = call_upstream(&job, leg, &http).await;
        finish.upstream_ms += clock::tick_ms() - started;
        let err = match got {
            Ok(Got::Whole(response)) => return whole(env, ctx, &job, hold, response, finish),
            Ok(Got::Stream(answer, kind)) => {
                return stream::respond(env, ctx, job, hold, answer, kind, finish)
            }
            Err(err) => err,
        };
        let [byte] = random::bytes::<1>();
        let mut next = run.on_failure(&err, now(), f64::from(byte) / 255.0);
        loop {
            match next {
                Next::Retry { delay_ms } => {
                    let slept = clock::tick_ms();
                    worker::Delay::from(std::time::Duration::from_millis(delay_ms)).await;
                    finish.upstream_ms += clock::tick_ms() - slept;
                    break;
                }
                Next::GiveUp => return reply::failure(env, ctx, &job, hold, &err, finish),
                Next::Fallback { leg } => {
                    // The failed route generated nothing: its reservations settle to zero.
                    let unused = std::mem::take(&mut hold);
                    kit::generate::release(env, ctx, &job.principal.instance_id, unused);
                    match admit(env, ctx, &job, leg).await {
                        Ok(Gate::Open(granted)) => {
                            hold = granted;
                            break;
                        }
                        // Refused or unreachable: this fallback is skipped, like one this key may not use.
                        Ok(_) | Err(_) => next = run.skip(now()),
                    }
                }
            }
        }
    }
}

async fn call_upstream(job: &Job, leg: &Leg, http: &HttpRequest) -> Result<Got, UpstreamError> {
    let kind = leg.route.kind().map_err(|e| UpstreamError::BadRequest {
        status: 400,
        message: e.message,
    })?;
    if job.plan.stream {
        let answer = upstream::send(http, job.plan.timeout_ms).await?;
        return Ok(Got::Stream(answer, kind));
    }
    let body = upstream::fetch_whole(http, job.plan.timeout_ms).await?;
    Ok(Got::Whole(parse_response(kind, 200, &body)?))
}

/// A whole answer: cached when asked, then rendered.
fn whole(
    env: &Env,
    ctx: &Context,
    job: &Job,
    hold: Hold,
    mut response: ChatResponse,
    finish: Finish,
) -> Reply {
    generation::render::own(&mut response, &job.request_id);
    // Only the model's own answer is cached under its key (a fallback's answer is another model's).
    if let (Some(key), 0) = (&job.plan.cache_key, finish.leg) {
        ctx.wait_until(cache::remember(env, key.clone(), &response));
    }
    reply::success(env, ctx, job, hold, &response, finish)
}

/// Admits route `leg`: its rate-limit checks, and its worst case on the budget chain when it has one
/// (under a request id of its own per route: a fallback reserves at its own price).
async fn admit(env: &Env, ctx: &Context, job: &Job, leg: usize) -> Result<Gate, Fault> {
    let Some(route) = job.plan.legs.get(leg) else {
        return Err(Fault::Data("no such route".into()));
    };
    let budget = job.budget_chain.as_ref().map(|chain| BudgetAsk {
        org_id: job.principal.org_id.clone(),
        request_id: format!("{}/{leg}", job.request_id),
        chain: chain.clone(),
        worst: generation::spend::chat_worst(route),
    });
    let ask = Ask {
        instance_id: &job.principal.instance_id,
        checks: &route.checks,
        tokens: route.reserved_tokens,
        budget,
    };
    kit::generate::admit(env, ctx, ask).await
}

/// The upstream request for `leg`, with the provider key opened in memory only.
fn upstream_request(job: &Job, leg: &Leg) -> Result<HttpRequest, Fault> {
    let route = &leg.route;
    let api_key = open_key(&job.settings, &job.principal.instance_id, route)?;
    let creds = Credentials {
        api_key: &api_key,
        base_url: route.base_url.as_deref(),
    };
    Ok(build_request(
        route.kind()?,
        &leg.request,
        &route.config.upstream_model,
        &creds,
    )?)
}

fn now() -> u64 {
    clock::now_ms().max(0) as u64
}
