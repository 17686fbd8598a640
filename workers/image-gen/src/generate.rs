//! One image request: authenticate, parse, plan (`generation::images`), admit the first route by the
//! key's and the provider's image limits (the `n` images reserved), then per attempt call the upstream and
//! ask [`Run`] what next — retry, fall back to the next route (admitted by its own limits; the unused
//! reservation settled), or give up. An answer's images are copied into R2 before the caller is answered
//! (`crate::store`); the usage row (kind `image`) and the settlement (to the images the upstream made) follow.

use crate::store::{self, Failure, Stored};
use envelope::ApiError;
use generation::images::{ImageLeg, ImagePlan};
use generation::{Next, Run};
use kit::call::Reply;
use kit::generate::{
    authenticate, decorate, open_key, timeout, Ask, BudgetAsk, Finish, Gate, Hold,
};
use kit::settings::Settings;
use kit::store::gateway::{self, UsageEvent};
use kit::{clock, random, upstream, Call, Fault};
use providers::images::{self, ImageResponse};
use providers::upstream::{Credentials, UpstreamError};
use std::rc::Rc;
use tenancy::principal::Principal;
use worker::{Context, Env, Request, Response};

/// Prompts are at most 32,000 characters (gpt-image's limit); the rest of a body is small.
const BODY_LIMIT: usize = 256 * 1024;
/// The most of an upstream's answer that is read: ten large images inline as base64 fit.
const ANSWER_LIMIT: usize = 48 * 1024 * 1024;

/// The wire shape the caller speaks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    OpenAi,
    Seed,
}

impl Shape {
    fn endpoint(self) -> &'static str {
        match self {
            Shape::OpenAi => "images.generations",
            Shape::Seed => "generate",
        }
    }
}

pub struct Job {
    pub plan: ImagePlan,
    /// The scopes whose budgets this request reserves on (`None`: none of them has a budget).
    pub budget_chain: Option<Vec<String>>,
    pub shape: Shape,
    pub principal: Principal,
    pub settings: Rc<Settings>,
    pub request_id: String,
    pub client_request_id: Option<String>,
    pub started_ms: f64,
    /// `https://host` of the request, for the URLs of stored images.
    pub origin: String,
}

impl Job {
    /// The model name the caller used.
    fn model(&self) -> &str {
        self.plan
            .legs
            .first()
            .map_or("", |l| l.request.model.as_str())
    }

    fn leg(&self, index: usize) -> Option<&ImageLeg> {
        self.plan.legs.get(index).or(self.plan.legs.first())
    }
}

pub async fn run(req: &mut Request, env: &Env, ctx: &Context, call: &Call, shape: Shape) -> Reply {
    let settings = Settings::load(env)?;
    let principal = authenticate(req, env, &settings).await?;
    let body = kit::call::read_body(req, BODY_LIMIT).await?;
    let request = match shape {
        Shape::OpenAi => images::parse_request(&body)?,
        Shape::Seed => generation::seed_images::parse_request(&body)?,
    };
    let timeout_ms = timeout(req, &settings)?;
    let catalog = gateway::snapshot(env, &principal.instance_id).await?;
    let plan = generation::images::plan(
        &principal,
        request,
        &catalog,
        timeout_ms,
        settings.upstream_budget_ms,
    )?;
    let url = req.url()?;
    let budget_chain = generation::spend::budget_chain(&catalog, &principal);
    let job = Job {
        plan,
        budget_chain,
        shape,
        principal,
        settings,
        request_id: call.request_id.clone(),
        client_request_id: call.client_request_id.clone(),
        started_ms: call.started_ms,
        origin: url.origin().ascii_serialization(),
    };
    let mut finish = Finish::default();
    let mut hold = match admit(env, ctx, &job, 0).await? {
        Gate::Open(hold) => hold,
        Gate::Limited(refused) => {
            let secs = limits::retry_after_secs(refused.retry_after_ms);
            let error = ApiError::rate_limited(
                secs,
                format!("image rate limit reached for this key or provider; retry in {secs} s"),
            );
            let reply = error_reply(&job, &error, &Hold::refused(refused), finish)?;
            record(
                env,
                ctx,
                &job,
                Hold::default(),
                &Outcome::failed(&error),
                finish,
            );
            return Ok(reply);
        }
        Gate::Never(_) => {
            return Err(ApiError::invalid_field(
                "n",
                "this request asks for more images than the per-minute limit allows",
            )
            .into())
        }
        Gate::OverBudget { refusal, worst } => {
            let reply = kit::generate::over_budget(
                &job.request_id,
                job.started_ms,
                &refusal,
                worst,
                finish,
            )?;
            let error = ApiError::budget_exceeded(None, "");
            record(
                env,
                ctx,
                &job,
                Hold::default(),
                &Outcome::failed(&error),
                finish,
            );
            return Ok(reply);
        }
    };
    let mut run = Run::new(job.plan.legs.len(), job.plan.retry, now());
    loop {
        finish.leg = run.leg();
        let Some(leg) = job.plan.legs.get(run.leg()) else {
            return Err(fault(
                env,
                ctx,
                &job,
                hold,
                Fault::Data("the run left its routes".into()),
                finish,
            ));
        };
        run.attempt();
        finish.attempts = run.attempts();
        let started = clock::tick_ms();
        let got = match call_upstream(&job, leg).await {
            Ok(got) => Ok(got),
            Err(Failure::Upstream(err)) => Err(err),
            Err(Failure::Ours(e)) => return Err(fault(env, ctx, &job, hold, e, finish)),
        };
        finish.upstream_ms += clock::tick_ms() - started;
        let err = match got {
            Ok(answer) => return deliver(env, ctx, &job, hold, leg, answer, finish).await,
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
                Next::GiveUp => return failure(env, ctx, &job, hold, &err, finish),
                Next::Fallback { leg } => {
                    // The failed route delivered nothing: its reservations settle to zero.
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

/// One upstream call, its answer read.
async fn call_upstream(job: &Job, leg: &ImageLeg) -> Result<ImageResponse, Failure> {
    let route = &leg.route;
    let api_key =
        open_key(&job.settings, &job.principal.instance_id, route).map_err(Failure::Ours)?;
    let creds = Credentials {
        api_key: &api_key,
        base_url: route.base_url.as_deref(),
    };
    let http = images::build_request(leg.kind, &leg.request, &route.config.upstream_model, &creds)
        .map_err(|e| Failure::Ours(e.into()))?;
    let body = upstream::fetch_within(&http, job.plan.timeout_ms, ANSWER_LIMIT)
        .await
        .map_err(Failure::Upstream)?;
    images::parse_response(leg.kind, 200, &body).map_err(Failure::Upstream)
}

/// Copies the answer's images into R2, then answers. When an image cannot be fetched or stored, the
/// request is a 502 and keeps none of its images (see `crate::store::keep`): its usage row counts no image
/// and no cost, so no row counts an image that is not stored and no stored image lacks its row.
async fn deliver(
    env: &Env,
    ctx: &Context,
    job: &Job,
    hold: Hold,
    leg: &ImageLeg,
    answer: ImageResponse,
    mut finish: Finish,
) -> Reply {
    let made = u32::try_from(answer.images.len()).unwrap_or(u32::MAX);
    let started = clock::tick_ms();
    let stored = store::keep(env, job, leg, &answer).await;
    // Fetching an upstream's URLs is upstream time.
    finish.upstream_ms += clock::tick_ms() - started;
    let stored: Vec<Stored> = match stored {
        Ok(stored) => stored,
        Err(Failure::Upstream(err)) => {
            let detail = match &err {
                UpstreamError::Malformed { detail } => detail.as_str(),
                _ => "",
            };
            worker::console_warn!(
                "request_id={} fetching generated images failed: {} {}",
                job.request_id,
                err.kind_name(),
                detail
            );
            let error = err.to_api_error();
            let reply = error_reply(job, &error, &hold, finish)?;
            // Nothing was kept, so nothing is counted or billed; the image limits still count what the
            // provider made (they bound the provider's load).
            let outcome = Outcome {
                made,
                ..Outcome::failed(&error)
            };
            record(env, ctx, job, hold, &outcome, finish);
            return Ok(reply);
        }
        Err(Failure::Ours(e)) => return Err(fault(env, ctx, job, hold, e, finish)),
    };
    let created = clock::now_ms() / 1000;
    let openai = images::render_response(
        &stored.iter().map(|s| s.image.clone()).collect::<Vec<_>>(),
        created,
        leg.request.response_format,
        answer.usage,
    );
    let body = match job.shape {
        Shape::OpenAi => openai,
        Shape::Seed => {
            generation::seed_images::render_response(&openai, job.model(), &job.request_id)
        }
    };
    let mut reply = Response::from_bytes(serde_json::to_vec(&body)?)?;
    decorate(
        reply.headers_mut(),
        job.started_ms,
        &hold,
        finish,
        "application/json",
    )?;
    let outcome = Outcome {
        status: 200,
        error_code: None,
        made,
        kept: u32::try_from(stored.len()).unwrap_or(u32::MAX),
        usage: answer.usage,
    };
    record(env, ctx, job, hold, &outcome, finish);
    Ok(reply)
}

/// Admits route `leg`: its image limits (the `n` images), and its worst case on the budget chain when
/// it has one (under a request id of its own per route: a fallback reserves at its own price).
async fn admit(env: &Env, ctx: &Context, job: &Job, leg: usize) -> Result<Gate, Fault> {
    let Some(route) = job.plan.legs.get(leg) else {
        return Err(Fault::Data("no such route".into()));
    };
    let budget = job.budget_chain.as_ref().map(|chain| BudgetAsk {
        org_id: job.principal.org_id.clone(),
        request_id: format!("{}/{leg}", job.request_id),
        chain: chain.clone(),
        worst: generation::spend::image_worst(route),
    });
    let ask = Ask {
        instance_id: &job.principal.instance_id,
        checks: &route.checks,
        tokens: route.reserved_images,
        budget,
    };
    kit::generate::admit(env, ctx, ask).await
}

/// What gets recorded for one request.
struct Outcome {
    status: u16,
    error_code: Option<String>,
    /// Images the upstream generated (what the image limits settle to).
    made: u32,
    /// Images stored and given to the caller (what the usage row counts and prices).
    kept: u32,
    usage: Option<images::ImageUsage>,
}

impl Outcome {
    fn failed(error: &ApiError) -> Outcome {
        Outcome {
            status: error.status(),
            error_code: Some(error.code.to_string()),
            made: 0,
            kept: 0,
            usage: None,
        }
    }
}

fn failure(
    env: &Env,
    ctx: &Context,
    job: &Job,
    hold: Hold,
    err: &UpstreamError,
    finish: Finish,
) -> Reply {
    worker::console_warn!(
        "request_id={} image upstream failed after {} attempt(s): {}",
        job.request_id,
        finish.attempts,
        err.kind_name()
    );
    let error = err.to_api_error();
    let reply = error_reply(job, &error, &hold, finish)?;
    record(env, ctx, job, hold, &Outcome::failed(&error), finish);
    Ok(reply)
}

/// A fault of ours after admission: recorded (the request was admitted), then answered as a fault.
fn fault(env: &Env, ctx: &Context, job: &Job, hold: Hold, fault: Fault, finish: Finish) -> Fault {
    record(
        env,
        ctx,
        job,
        hold,
        &Outcome::failed(&fault.client_error()),
        finish,
    );
    fault
}

fn error_reply(
    job: &Job,
    error: &ApiError,
    hold: &Hold,
    finish: Finish,
) -> worker::Result<Response> {
    kit::generate::error_response(&job.request_id, job.started_ms, error, hold, finish)
}

/// Queues the usage row (kind `image`, the images kept and what they cost) and the settlement.
fn record(env: &Env, ctx: &Context, job: &Job, hold: Hold, outcome: &Outcome, finish: Finish) {
    let latency_ms = clock::tick_ms() - job.started_ms;
    let leg = job.leg(finish.leg);
    let created_at = clock::now_ms();
    let usage = outcome.usage.unwrap_or_default();
    let event = UsageEvent {
        id: gateway::new_usage_id(created_at),
        request_id: job.request_id.clone(),
        client_request_id: job.client_request_id.clone(),
        org_id: job.principal.org_id.clone(),
        instance_id: job.principal.instance_id.clone(),
        project_id: job.principal.project_id.clone(),
        key_id: job.principal.key_id.clone(),
        endpoint: job.shape.endpoint(),
        kind: "image",
        images: outcome.kept,
        model: job.model().to_string(),
        provider: leg.map(|l| l.route.provider_key.clone()),
        upstream_model: leg.map(|l| l.route.config.upstream_model.clone()),
        status: outcome.status,
        error_code: outcome.error_code.clone(),
        stream: false,
        cached: false,
        attempts: finish.attempts,
        prompt_tokens: usage.input_tokens,
        completion_tokens: usage.output_tokens,
        cost_usd: leg.map_or(0.0, |l| l.cost_usd(outcome.kept, outcome.usage)),
        latency_ms,
        upstream_ms: finish.upstream_ms,
        overhead_ms: (latency_ms - finish.upstream_ms).max(0.0),
        created_at,
    };
    // The provider's image limits count what it generated, delivered or not.
    let instance_id = job.principal.instance_id.clone();
    let made = u64::from(outcome.made);
    if let Some(flush) = kit::usage::queue(env, instance_id, hold, made, event) {
        ctx.wait_until(flush);
    }
}

fn now() -> u64 {
    clock::now_ms().max(0) as u64
}
