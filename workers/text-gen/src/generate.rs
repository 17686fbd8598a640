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
use kit::generate::{authenticate, open_key, timeout, Finish};
use kit::settings::Settings;
use kit::store::gateway;
use kit::upstream::{self, Answer};
use kit::{clock, random, Call, Fault};
use limits::Admission;
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
    let job = Job {
        plan,
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
    let admission = match admit(env, ctx, &job, 0).await? {
        Gate::Open(admission) => admission,
        Gate::Closed(admission) => return reply::limited(env, ctx, &job, &admission),
    };
    attempt(env, ctx, job, admission).await
}

/// What an attempt brought back.
enum Got {
    Whole(ChatResponse),
    Stream(Answer, providers::upstream::ProviderKind),
}

/// The attempts, from the first route's admission on.
async fn attempt(env: &Env, ctx: &Context, job: Job, mut admission: Option<Admission>) -> Reply {
    let mut run = Run::new(job.plan.legs.len(), job.plan.retry, now());
    let mut finish = Finish::default();
    loop {
        finish.leg = run.leg();
        let Some(leg) = job.plan.legs.get(run.leg()) else {
            let fault = Fault::Data("the run left its routes".into());
            return Err(reply::fault(env, ctx, &job, admission, fault, finish));
        };
        let http = match upstream_request(&job, leg) {
            Ok(http) => http,
            Err(fault) => return Err(reply::fault(env, ctx, &job, admission, fault, finish)),
        };
        run.attempt();
        finish.attempts = run.attempts();
        let started = clock::tick_ms();
        let got = call_upstream(&job, leg, &http).await;
        finish.upstream_ms += clock::tick_ms() - started;
        let err = match got {
            Ok(Got::Whole(response)) => return whole(env, ctx, &job, admission, response, finish),
            Ok(Got::Stream(answer, kind)) => {
                return stream::respond(env, ctx, job, admission, answer, kind, finish)
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
                Next::GiveUp => return reply::failure(env, ctx, &job, admission, &err, finish),
                Next::Fallback { leg } => {
                    // The failed route generated nothing: its reservation settles to zero.
                    let unused = kit::generate::settle_call(admission.take(), 0);
                    settle_now(env, ctx, &job, unused);
                    match admit(env, ctx, &job, leg).await {
                        Ok(Gate::Open(granted)) => {
                            admission = granted;
                            break;
                        }
                        // Refused or unreachable: this fallback is skipped, like one this key may not use.
                        Ok(Gate::Closed(_)) | Err(_) => next = run.skip(now()),
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
    admission: Option<Admission>,
    mut response: ChatResponse,
    finish: Finish,
) -> Reply {
    generation::render::own(&mut response, &job.request_id);
    // Only the model's own answer is cached under its key (a fallback's answer is another model's).
    if let (Some(key), 0) = (&job.plan.cache_key, finish.leg) {
        ctx.wait_until(cache::remember(env, key.clone(), &response));
    }
    reply::success(env, ctx, job, admission, &response, finish)
}

/// Queues a settlement on its own (no usage row: the request's row comes at its end).
pub(crate) fn settle_now(
    env: &Env,
    ctx: &Context,
    job: &Job,
    settle: Option<kit::limiter::SettleCall>,
) {
    let Some(call) = settle else { return };
    let (env, instance_id) = (env.clone(), job.principal.instance_id.clone());
    ctx.wait_until(async move {
        if let Err(e) = kit::limiter::settle(&env, &instance_id, vec![call]).await {
            worker::console_error!("settling an unused reservation failed: {}", e);
        }
    });
}

/// What the rate limiter said.
enum Gate {
    /// Admitted; `None` when no policy applies (and the limiter was not called).
    Open(Option<Admission>),
    Closed(Admission),
}

/// One call to the instance's limiter object checks and records the route's key and provider limits
/// together. No policy → no call.
async fn admit(env: &Env, ctx: &Context, job: &Job, leg: usize) -> Result<Gate, Fault> {
    let Some(leg) = job.plan.legs.get(leg) else {
        return Err(Fault::Data("no such route".into()));
    };
    if leg.checks.is_empty() {
        return Ok(Gate::Open(None));
    }
    let (admission, watch) = kit::limiter::admit(
        env,
        &job.principal.instance_id,
        leg.checks.clone(),
        leg.reserved_tokens,
    )
    .await?;
    if watch {
        // A grant is held in this isolate now: give back what it did not use when its second ends.
        ctx.wait_until(kit::limiter::release_when_due(env.clone()));
    }
    if admission.never {
        return Err(ApiError::invalid_field(
            "max_tokens",
            "this request needs more tokens than the per-minute limit allows (without max_tokens, it reserves the model's output limit)",
        )
        .into());
    }
    if !admission.admitted {
        return Ok(Gate::Closed(admission));
    }
    Ok(Gate::Open(Some(admission)))
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
