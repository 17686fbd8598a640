//! `POST /v1/embeddings`: authenticate, parse, plan (`generation::embed`), admit by the key's and the
//! provider's limits (the input estimate reserved), call the upstream with retries, answer in the OpenAI
//! format under the caller's model name, then record the usage row (endpoint `embeddings`, the
//! upstream's input count, or the estimate when a compatible server reports none) and settle.

use envelope::ApiError;
use generation::embed::EmbedPlan;
use generation::{Next, Run};
use kit::call::Reply;
use kit::generate::{
    authenticate, decorate, open_key, timeout, Ask, BudgetAsk, Finish, Gate, Hold,
};
use kit::settings::Settings;
use kit::store::gateway::{self, UsageEvent};
use kit::{clock, random, upstream, Call, Fault};
use providers::embeddings::{self, EmbeddingResponse};
use providers::upstream::{Credentials, UpstreamError};
use tenancy::principal::Principal;
use worker::{Context, Env, Request, Response};

/// Inputs of up to 2048 texts fit well within this.
const BODY_LIMIT: usize = 4 * 1024 * 1024;

struct Job {
    plan: EmbedPlan,
    budget_chain: Option<Vec<String>>,
    principal: Principal,
    settings: std::rc::Rc<Settings>,
    request_id: String,
    client_request_id: Option<String>,
    started_ms: f64,
}

pub async fn run(req: &mut Request, env: &Env, ctx: &Context, call: &Call) -> Reply {
    let settings = Settings::load(env)?;
    let principal = authenticate(req, env, &settings).await?;
    let body = kit::call::read_body(req, BODY_LIMIT).await?;
    let request = embeddings::parse_request(&body)?;
    let timeout_ms = timeout(req, &settings)?;
    let catalog = gateway::snapshot(env, &principal.instance_id).await?;
    let plan = generation::embed::plan(
        &principal,
        request,
        &catalog,
        timeout_ms,
        settings.upstream_budget_ms,
    )?;
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
    let hold = match admit(env, ctx, &job).await? {
        Gate::Open(hold) => hold,
        Gate::Limited(refused) => {
            let secs = limits::retry_after_secs(refused.retry_after_ms);
            let error = ApiError::rate_limited(
                secs,
                format!("rate limit reached for this key or provider; retry in {secs} s"),
            );
            let finish = Finish::default();
            let reply = error_reply(&job, &error, &Hold::refused(refused), finish)?;
            record(
                env,
                ctx,
                &job,
                Hold::default(),
                429,
                Some(&error),
                0,
                finish,
            );
            return Ok(reply);
        }
        Gate::Never(_) => {
            return Err(ApiError::invalid_field(
                "input",
                "this input needs more tokens than the per-minute limit allows",
            )
            .into())
        }
        Gate::OverBudget { refusal, worst } => {
            let finish = Finish::default();
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
                429,
                Some(&error),
                0,
                finish,
            );
            return Ok(reply);
        }
    };
    let mut finish = Finish::default();
    match attempts(&job, &mut finish).await {
        Ok(answer) => {
            // The upstream's count when it gave one, else the estimate (never zero).
            let counted = if answer.prompt_tokens > 0 {
                answer.prompt_tokens
            } else {
                job.plan.reserved_tokens
            };
            let json = embeddings::render_response(&answer, &job.plan.request.model, counted);
            let mut reply = Response::from_bytes(serde_json::to_vec(&json)?)?;
            decorate(
                reply.headers_mut(),
                job.started_ms,
                &hold,
                finish,
                "application/json",
            )?;
            record(env, ctx, &job, hold, 200, None, counted, finish);
            Ok(reply)
        }
        Err(Failure::Upstream(err)) => {
            worker::console_warn!(
                "request_id={} embeddings upstream failed after {} attempt(s): {}",
                job.request_id,
                finish.attempts,
                err.kind_name()
            );
            let error = err.to_api_error();
            let reply = error_reply(&job, &error, &hold, finish)?;
            record(
                env,
                ctx,
                &job,
                hold,
                error.status(),
                Some(&error),
                0,
                finish,
            );
            Ok(reply)
        }
        Err(Failure::Ours(fault)) => {
            let error = fault.client_error();
            record(
                env,
                ctx,
                &job,
                hold,
                error.status(),
                Some(&error),
                0,
                finish,
            );
            Err(fault)
        }
    }
}

/// Admits the request: its rate-limit checks (the input estimate), and its input's bound at the input
/// price on the budget chain when it has one.
async fn admit(env: &Env, ctx: &Context, job: &Job) -> Result<Gate, Fault> {
    let budget = job.budget_chain.as_ref().map(|chain| BudgetAsk {
        org_id: job.principal.org_id.clone(),
        request_id: job.request_id.clone(),
        chain: chain.clone(),
        worst: generation::spend::embed_worst(&job.plan),
    });
    let ask = Ask {
        instance_id: &job.principal.instance_id,
        checks: &job.plan.checks,
        tokens: job.plan.reserved_tokens,
        budget,
    };
    kit::generate::admit(env, ctx, ask).await
}

enum Failure {
    Upstream(UpstreamError),
    Ours(Fault),
}

/// Calls the upstream until it answers, [`Run`] gives up, or the budget is spent.
async fn attempts(job: &Job, finish: &mut Finish) -> Result<EmbeddingResponse, Failure> {
    let route = &job.plan.route;
    let kind = route.kind().map_err(|e| Failure::Ours(e.into()))?;
    let api_key =
        open_key(&job.settings, &job.principal.instance_id, route).map_err(Failure::Ours)?;
    let creds = Credentials {
        api_key: &api_key,
        base_url: route.base_url.as_deref(),
    };
    let http = embeddings::build_request(
        kind,
        &job.plan.request,
        &route.config.upstream_model,
        &creds,
    )
    .map_err(|e| Failure::Ours(e.into()))?;
    let inputs = job.plan.request.input.len();
    let mut run = Run::new(1, job.plan.retry, now());
    loop {
        run.attempt();
        finish.attempts = run.attempts();
        let started = clock::tick_ms();
        let got = match upstream::fetch_whole(&http, job.plan.timeout_ms).await {
            Ok(body) => embeddings::parse_response(kind, 200, &body, inputs),
            Err(err) => Err(err),
        };
        finish.upstream_ms += clock::tick_ms() - started;
        let err = match got {
            Ok(answer) => return Ok(answer),
            Err(err) => err,
        };
        let [byte] = random::bytes::<1>();
        match run.on_failure(&err, now(), f64::from(byte) / 255.0) {
            Next::Retry { delay_ms } => {
                let slept = clock::tick_ms();
                worker::Delay::from(std::time::Duration::from_millis(delay_ms)).await;
                finish.upstream_ms += clock::tick_ms() - slept;
            }
            Next::GiveUp | Next::Fallback { .. } => return Err(Failure::Upstream(err)),
        }
    }
}

fn error_reply(
    job: &Job,
    error: &ApiError,
    hold: &Hold,
    finish: Finish,
) -> worker::Result<Response> {
    kit::generate::error_response(&job.request_id, job.started_ms, error, hold, finish)
}

/// Queues the usage row and the settlement (to the tokens counted; zero when nothing was embedded).
#[allow(clippy::too_many_arguments)]
fn record(
    env: &Env,
    ctx: &Context,
    job: &Job,
    hold: Hold,
    status: u16,
    error: Option<&ApiError>,
    prompt_tokens: u64,
    finish: Finish,
) {
    let latency_ms = clock::tick_ms() - job.started_ms;
    let config = &job.plan.route.config;
    let created_at = clock::now_ms();
    let event = UsageEvent {
        id: gateway::new_usage_id(created_at),
        request_id: job.request_id.clone(),
        client_request_id: job.client_request_id.clone(),
        org_id: job.principal.org_id.clone(),
        instance_id: job.principal.instance_id.clone(),
        project_id: job.principal.project_id.clone(),
        key_id: job.principal.key_id.clone(),
        endpoint: "embeddings",
        kind: "embedding",
        model: job.plan.request.model.clone(),
        provider: Some(job.plan.route.provider_key.clone()),
        upstream_model: Some(config.upstream_model.clone()),
        status,
        error_code: error.map(|e| e.code.to_string()),
        stream: false,
        cached: false,
        attempts: finish.attempts,
        prompt_tokens,
        completion_tokens: 0,
        images: 0,
        cost_usd: config.cost_usd(prompt_tokens, 0),
        latency_ms,
        upstream_ms: finish.upstream_ms,
        overhead_ms: (latency_ms - finish.upstream_ms).max(0.0),
        created_at,
    };
    let instance_id = job.principal.instance_id.clone();
    if let Some(flush) = kit::usage::queue(env, instance_id, hold, prompt_tokens, event) {
        ctx.wait_until(flush);
    }
}

fn now() -> u64 {
    clock::now_ms().max(0) as u64
}
