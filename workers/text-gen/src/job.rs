//! One generation request, from the caller's key to the upstream and back: authenticate, parse the wire
//! format, resolve the model, answer from the cache or admit through the rate limiter, call the upstream
//! (retries, fallbacks), respond, and record usage after the response.

use crate::reply::{self, Finish};
use crate::{cache, seed, stream};
use envelope::ApiError;
use kit::call::Reply;
use kit::settings::Settings;
use kit::store::gateway::{self, Route, Snapshot};
use kit::upstream;
use kit::{clock, principal, Call, Fault};
use limits::{Admission, Check};
use providers::chat::{ChatRequest, ChatResponse};
use providers::retry::RetryPolicy;
use providers::upstream::{
    build_request, parse_response, Credentials, HttpRequest, ProviderKind, UpstreamError,
};
use std::rc::Rc;
use tenancy::inputs::{Capability, Provider};
use tenancy::principal::{Actor, Principal};
use tenancy::roles::Scopes;
use worker::{Context, Env, Request};

/// Chat bodies may carry long conversations; anything larger is refused before it is read.
const BODY_LIMIT: usize = 4 * 1024 * 1024;
/// Completion tokens reserved when the caller sets no max_tokens (settled to the real count later).
const DEFAULT_RESERVED_COMPLETION: u64 = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    OpenAi,
    Anthropic,
    Seed,
}

/// Everything decided before the upstream is called.
pub struct Job {
    pub format: Format,
    pub principal: Principal,
    pub request: ChatRequest,
    pub route: Route,
    /// The instance's models, provider keys and policies (cached in the isolate).
    pub snapshot: Rc<Snapshot>,
    pub settings: Rc<Settings>,
    pub request_id: String,
    /// The caller's own `x-request-id`, recorded in its usage row.
    pub client_request_id: Option<String>,
    pub started_ms: f64,
    pub timeout_ms: u64,
}

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
    let request = match format {
        Format::OpenAi => providers::openai::parse_request(&body)?,
        Format::Anthropic => providers::anthropic::parse_request(&body)?,
        Format::Seed => seed::parse_request(&body)?,
    };
    let snapshot = gateway::snapshot(env, &principal.instance_id).await?;
    let route = resolve(&snapshot, &principal, &request)?;
    let timeout_ms = timeout(req, &settings)?;
    let cache_wanted = cache::wanted(req)?;
    let job = Job {
        format,
        principal,
        request,
        route,
        snapshot,
        settings,
        request_id: call.request_id.clone(),
        client_request_id: call.client_request_id.clone(),
        started_ms: call.started_ms,
        timeout_ms,
    };
    let cache_key = if cache_wanted { cache::key(&job) } else { None };
    if let Some(key) = &cache_key {
        if let Some(hit) = cache::get(env, key).await {
            return reply::from_cache(env, ctx, &job, &hit);
        }
    }
    let admission = match admit(env, ctx, &job).await? {
        Gate::Open(admission) => admission,
        Gate::Closed(admission) => return reply::limited(env, ctx, &job, &admission),
    };
    if job.request.stream {
        return stream::respond(env, ctx, job, admission).await;
    }
    complete(env, ctx, job, admission, cache_key).await
}

/// The caller must be an API key with the `generate` scope (the platform token manages, it does not generate).
async fn authenticate(req: &Request, env: &Env, settings: &Settings) -> Result<Principal, Fault> {
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

/// The model the request names, if this key may use it and it can chat.
fn resolve(
    snapshot: &Snapshot,
    principal: &Principal,
    request: &ChatRequest,
) -> Result<Route, Fault> {
    let model = request.model.as_str();
    if !principal.may_use_model(model) {
        return Err(ApiError::forbidden(
            "model_not_allowed",
            format!("model: this API key may not use '{}'", clip(model)),
        )
        .into());
    }
    let route = snapshot.route(model).ok_or_else(|| {
        ApiError::new(
            envelope::ErrorKind::NotFound,
            "model_not_found",
            format!(
                "model: '{}' is not configured for this instance",
                clip(model)
            ),
        )
    })?;
    if let Some(config) = &route.config {
        if !config.enabled {
            return Err(ApiError::forbidden(
                "model_disabled",
                format!("model: '{}' is disabled", clip(model)),
            )
            .into());
        }
        if !config.capabilities.contains(&Capability::Chat) {
            return Err(ApiError::invalid_field(
                "model",
                format!("'{}' does not support chat", clip(model)),
            )
            .into());
        }
        if let (Some(cap), Some(asked)) = (config.max_output_tokens, request.max_tokens) {
            if asked > cap {
                return Err(ApiError::invalid_field(
                    "max_tokens",
                    format!("exceeds this model's limit of {cap}"),
                )
                .into());
            }
        }
    }
    Ok(route)
}

fn clip(text: &str) -> String {
    text.chars().take(64).collect()
}

/// The per-attempt deadline: the caller may ask for less than the deployment allows, never more.
fn timeout(req: &Request, settings: &Settings) -> Result<u64, Fault> {
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

/// Tokens this request may use: its prompt estimate plus what it may generate.
fn reserved_tokens(job: &Job) -> u64 {
    let completion = job.request.max_tokens.map(u64::from).or(job
        .route
        .config
        .as_ref()
        .and_then(|c| c.max_output_tokens.map(u64::from)));
    providers::tokens::estimate_prompt_tokens(&job.request)
        + completion.unwrap_or(DEFAULT_RESERVED_COMPLETION)
}

/// What the rate limiter said.
enum Gate {
    /// Admitted; `None` when no policy applies (and the limiter was not called).
    Open(Option<Admission>),
    Closed(Admission),
}

/// One call to the instance's limiter object checks and records the key and provider limits together.
/// No policy → no call.
async fn admit(env: &Env, ctx: &Context, job: &Job) -> Result<Gate, Fault> {
    let key_id = &job.principal.key_id;
    let (key_limit, provider_limit) = job.snapshot.limits_for(key_id, &job.route.provider_key);
    let mut checks = Vec::new();
    if let Some(limit) = key_limit {
        checks.push(Check {
            scope: format!("key:{key_id}"),
            limit,
        });
    }
    if let Some(limit) = provider_limit {
        checks.push(Check {
            scope: format!("provider:{}", job.route.provider_key),
            limit,
        });
    }
    if checks.is_empty() {
        return Ok(Gate::Open(None));
    }
    let (admission, watch) = kit::limiter::admit(
        env,
        &job.principal.instance_id,
        checks,
        reserved_tokens(job),
    )
    .await?;
    if watch {
        // A grant is held in this isolate now: give back what it did not use when its second ends.
        ctx.wait_until(kit::limiter::release_when_due(env.clone()));
    }
    if admission.never {
        return Err(ApiError::invalid_field(
            "max_tokens",
            "this request needs more tokens than the per-minute limit allows",
        )
        .into());
    }
    if !admission.admitted {
        return Ok(Gate::Closed(admission));
    }
    Ok(Gate::Open(Some(admission)))
}

pub fn provider_kind(provider: Provider) -> Result<ProviderKind, ApiError> {
    match provider {
        Provider::Openai => Ok(ProviderKind::OpenAi),
        Provider::Anthropic => Ok(ProviderKind::Anthropic),
        Provider::OpenaiCompatible => Ok(ProviderKind::OpenAiCompatible),
        Provider::Ideogram => Err(ApiError::invalid_field(
            "model",
            "is an image model; use /v1/images/generations",
        )),
    }
}

/// The upstream request for `route`, with the provider key opened in memory only.
pub fn upstream_request(job: &Job, route: &Route) -> Result<HttpRequest, Fault> {
    let sealed = route.sealed_key.as_deref().ok_or_else(|| {
        ApiError::unprocessable(
            "model",
            format!(
                "no provider key '{}' is configured for this instance",
                route.provider_key
            ),
        )
    })?;
    let vault = job.settings.vault()?;
    let aad = format!("{}/{}", job.principal.instance_id, route.provider_key);
    let api_key = vault.open(sealed, &aad).map_err(|e| {
        Fault::Data(format!(
            "provider key {} does not open: {e}",
            route.provider_key
        ))
    })?;
    let creds = Credentials {
        api_key: &api_key,
        base_url: route.base_url.as_deref(),
    };
    Ok(build_request(
        provider_kind(route.provider)?,
        &job.request,
        &route.upstream_model,
        &creds,
    )?)
}

pub fn retry_policy(job: &Job) -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay_ms: 200,
        max_delay_ms: 2_000,
        total_budget_ms: job.settings.upstream_budget_ms,
    }
}

/// The result of calling the upstream across the route and its fallbacks.
pub struct Called<T> {
    pub result: Result<(T, Route), UpstreamError>,
    pub attempts: u32,
    pub upstream_ms: f64,
}

/// Tries the model, then each fallback in order, each with retries. Errors that are the caller's
/// (bad request, content policy) do not fall back.
pub async fn call_with_fallbacks<T, F, Fut>(job: &Job, attempt: F) -> Result<Called<T>, Fault>
where
    F: Fn(HttpRequest, ProviderKind, u64) -> Fut,
    Fut: std::future::Future<Output = Result<T, UpstreamError>>,
{
    let fallbacks = job
        .route
        .config
        .as_ref()
        .map(|c| c.fallbacks.clone())
        .unwrap_or_default();
    let mut called = Called {
        result: Err(UpstreamError::Network {
            detail: "no route".into(),
        }),
        attempts: 0,
        upstream_ms: 0.0,
    };
    for (i, name) in std::iter::once(job.route.model.clone())
        .chain(fallbacks)
        .enumerate()
    {
        let route = if i == 0 {
            Some(job.route.clone())
        } else {
            job.snapshot.route(&name)
        };
        let Some(route) = route else { continue };
        let http = upstream_request(job, &route)?;
        let kind = provider_kind(route.provider)?;
        let attempted = upstream::with_retries(&retry_policy(job), || {
            attempt(http.clone(), kind, job.timeout_ms)
        })
        .await;
        called.attempts += attempted.attempts;
        called.upstream_ms += attempted.upstream_ms;
        match attempted.result {
            Ok(value) => {
                called.result = Ok((value, route));
                return Ok(called);
            }
            Err(err) => {
                let final_for_caller = matches!(
                    err,
                    UpstreamError::BadRequest { .. } | UpstreamError::ContentPolicy { .. }
                );
                called.result = Err(err);
                if final_for_caller {
                    return Ok(called);
                }
            }
        }
    }
    Ok(called)
}

/// Non-streaming: one upstream answer, rendered in the caller's format.
async fn complete(
    env: &Env,
    ctx: &Context,
    job: Job,
    admission: Option<Admission>,
    cache_key: Option<String>,
) -> Reply {
    let called = call_with_fallbacks(&job, |http, kind, timeout| async move {
        let body = upstream::fetch_whole(&http, timeout).await?;
        parse_response(kind, 200, &body)
    })
    .await?;
    let finish = Finish {
        attempts: called.attempts,
        upstream_ms: called.upstream_ms,
        cached: false,
    };
    match called.result {
        Ok((response, route)) => {
            if let Some(key) = cache_key {
                cache::remember(&key, &response);
                // The KV write (shared with other isolates) happens after the response.
                let (env, response) = (env.clone(), response.clone());
                ctx.wait_until(async move { cache::put(&env, &key, &response).await });
            }
            reply::success(env, ctx, &job, &route, admission, &response, finish)
        }
        Err(err) => reply::failure(env, ctx, &job, admission, &err, finish),
    }
}

/// Renders a response body in the caller's wire format. Ids and timestamps follow the caller's format, not
/// the upstream's (an Anthropic answer has no `created`; an OpenAI caller expects `chatcmpl-…` ids).
pub fn render(job: &Job, response: &ChatResponse) -> serde_json::Value {
    let bare = job.request_id.trim_start_matches("req_");
    match job.format {
        Format::OpenAi => {
            let mut response = response.clone();
            if !response.id.starts_with("chatcmpl-") {
                response.id = format!("chatcmpl-{bare}");
            }
            if response.created <= 0 {
                response.created = clock::now_ms() / 1000;
            }
            providers::openai::render_response(&response, &job.route.model)
        }
        Format::Anthropic if !response.id.starts_with("msg_") => {
            let response = ChatResponse {
                id: format!("msg_{bare}"),
                ..response.clone()
            };
            providers::anthropic::render_response(&response, &job.route.model)
        }
        Format::Anthropic => providers::anthropic::render_response(response, &job.route.model),
        Format::Seed => seed::render_response(response, &job.route.model, &job.request_id),
    }
}
