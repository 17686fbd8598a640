//! [`plan()`]: everything decided about a chat request before the upstream is called.

use envelope::{ApiError, ErrorKind};
use limits::Check;
use providers::chat::ChatRequest;
use providers::retry::RetryPolicy;
use providers::tokens::estimate_prompt_tokens;
use tenancy::inputs::Capability;
use tenancy::principal::Principal;

use crate::cache;
use crate::catalog::{clip, Catalog, Route};

/// Completion tokens a request may generate when neither the caller nor the model config sets a limit.
/// Always sent upstream, so the reservation bounds what the upstream may generate.
pub const DEFAULT_COMPLETION_TOKENS: u32 = 4096;
/// Routes one request may take: the model and at most two fallbacks.
pub const MAX_LEGS: usize = 3;
/// Upstream calls one request may make in all, across retries and fallbacks.
pub const MAX_ATTEMPTS: u32 = 4;

/// The wire format the caller speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    OpenAi,
    Anthropic,
    /// The OpenAI Responses API.
    Responses,
    Seed,
}

impl Format {
    /// The `endpoint` column of usage rows.
    pub fn endpoint(self) -> &'static str {
        match self {
            Format::OpenAi => "chat.completions",
            Format::Anthropic => "messages",
            Format::Responses => "responses",
            Format::Seed => "generate",
        }
    }
}

/// What a plan is made from.
pub struct PlanInput<'a> {
    pub format: Format,
    pub principal: &'a Principal,
    pub request: ChatRequest,
    pub catalog: &'a Catalog,
    /// The per-attempt deadline (already capped by the deployment's setting).
    pub timeout_ms: u64,
    /// Time allowed across every attempt of every route.
    pub budget_ms: u64,
    /// Whether the caller asked for the response cache.
    pub cache: bool,
}

/// One route a request may take, with what its admission checks and reserves.
#[derive(Debug, Clone, PartialEq)]
pub struct Leg {
    pub route: Route,
    /// The request as sent to this route: `max_tokens` always set, to [`Leg::completion_tokens`].
    pub request: ChatRequest,
    /// The rate-limit checks of this route (the key's and its provider key's policies).
    pub checks: Vec<Check>,
    pub prompt_tokens: u64,
    /// At most what any provider can count for the prompt (see `providers::tokens::prompt_tokens_bound`):
    /// what a budget reserves.
    pub prompt_tokens_bound: u64,
    pub completion_tokens: u64,
    /// What the admission reserves: the prompt estimate plus every completion it may generate.
    pub reserved_tokens: u64,
}

/// The decisions made before the upstream is called.
#[derive(Debug, Clone)]
pub struct Plan {
    pub format: Format,
    pub stream: bool,
    /// The model first, then the fallbacks this key may use (at most [`MAX_LEGS`] in all).
    pub legs: Vec<Leg>,
    pub cache_key: Option<String>,
    pub timeout_ms: u64,
    pub retry: RetryPolicy,
}

/// Resolves the request's model and its fallbacks, fixes the completion limit sent upstream, the checks,
/// the reservations and the cache key. A model this key may not use, that is not configured, disabled,
/// cannot chat, has no provider key, or whose cap the request exceeds is refused here; a fallback with any
/// of those problems is left out (the caller did not name it).
pub fn plan(input: PlanInput) -> Result<Plan, ApiError> {
    let PlanInput {
        format,
        principal,
        request,
        catalog,
        timeout_ms,
        budget_ms,
        cache,
    } = input;
    let primary = primary_route(catalog, principal, &request)?;
    let mut legs = vec![leg(catalog, principal, &request, primary, true)?];
    let fallbacks = legs
        .first()
        .map(|l| l.route.config.fallbacks.clone())
        .unwrap_or_default();
    for name in fallbacks {
        if legs.len() >= MAX_LEGS {
            break;
        }
        let Some(route) = usable(catalog, principal, &name, Capability::Chat).ok() else {
            continue;
        };
        if legs.iter().any(|l| l.route.config.id == route.config.id) {
            continue;
        }
        if let Ok(fallback) = leg(catalog, principal, &request, route, false) {
            legs.push(fallback);
        }
    }
    let cache_key = match (cache, legs.first()) {
        (true, Some(first)) => cache::key(
            &principal.instance_id,
            principal.project_id.as_deref(),
            first,
        ),
        _ => None,
    };
    Ok(Plan {
        format,
        stream: request.stream,
        legs,
        cache_key,
        timeout_ms,
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay_ms: 200,
            max_delay_ms: 2_000,
            total_budget_ms: budget_ms,
        },
    })
}

fn primary_route(
    catalog: &Catalog,
    principal: &Principal,
    request: &ChatRequest,
) -> Result<Route, ApiError> {
    let route = usable(catalog, principal, &request.model, Capability::Chat)?;
    route.kind()?;
    has_key(&route)?;
    Ok(route)
}

/// The model the caller named must have its provider key configured.
pub(crate) fn has_key(route: &Route) -> Result<(), ApiError> {
    if route.sealed_key.is_none() {
        return Err(ApiError::unprocessable(
            "model",
            format!(
                "no provider key '{}' is configured for this instance",
                route.provider_key
            ),
        ));
    }
    Ok(())
}

/// The route of `model` if this key may use it, it exists, is enabled and has `capability`. An allow-list
/// names model ids or direct names: either name of the same config passes, no other.
pub(crate) fn usable(
    catalog: &Catalog,
    principal: &Principal,
    model: &str,
    capability: Capability,
) -> Result<Route, ApiError> {
    let not_allowed = || {
        ApiError::forbidden(
            "model_not_allowed",
            format!("model: this API key may not use '{}'", clip(model)),
        )
        .with_param("model")
    };
    let Some(route) = catalog.route(model) else {
        // A key that may not use the name learns nothing about whether it exists.
        if !principal.may_use_model(model) {
            return Err(not_allowed());
        }
        return Err(ApiError::new(
            ErrorKind::NotFound,
            "model_not_found",
            format!(
                "model: '{}' is not configured for this instance (a provider/model name must match a model config)",
                clip(model)
            ),
        )
        .with_param("model"));
    };
    if !principal.may_use_model(model) && !principal.may_use_model(&route.config.id) {
        return Err(not_allowed());
    }
    if !route.config.enabled {
        return Err(ApiError::forbidden(
            "model_disabled",
            format!("model: '{}' is disabled", clip(model)),
        )
        .with_param("model"));
    }
    if !route.config.capabilities.contains(&capability) {
        return Err(ApiError::invalid_field(
            "model",
            format!("'{}' does not support {}", clip(model), capability.as_str()),
        ));
    }
    Ok(route)
}

/// The request for one route: the completion limit it may generate is always set (the caller's, capped
/// by the model's; a fallback clamps rather than refuses), and reserved in full, times `n` choices.
fn leg(
    catalog: &Catalog,
    principal: &Principal,
    request: &ChatRequest,
    route: Route,
    primary: bool,
) -> Result<Leg, ApiError> {
    route.kind()?;
    if route.sealed_key.is_none() {
        return Err(ApiError::unprocessable("model", "no provider key"));
    }
    let cap = route.config.max_output_tokens;
    let completion = match (request.max_tokens, cap) {
        (Some(asked), Some(cap)) if asked > cap && primary => {
            return Err(ApiError::invalid_field(
                "max_tokens",
                format!("exceeds this model's limit of {cap}"),
            ))
        }
        (Some(asked), Some(cap)) => asked.min(cap),
        (Some(asked), None) => asked,
        (None, Some(cap)) => cap.min(DEFAULT_COMPLETION_TOKENS),
        (None, None) => DEFAULT_COMPLETION_TOKENS,
    };
    let mut sent = request.clone();
    sent.max_tokens = Some(completion);
    let prompt_tokens = estimate_prompt_tokens(&sent);
    let prompt_tokens_bound = providers::tokens::prompt_tokens_bound(&sent).max(prompt_tokens);
    let choices = choices(&sent);
    let completion_tokens = u64::from(completion).saturating_mul(choices);
    let checks = checks(catalog, principal, &route);
    Ok(Leg {
        route,
        request: sent,
        checks,
        prompt_tokens,
        prompt_tokens_bound,
        completion_tokens,
        reserved_tokens: prompt_tokens.saturating_add(completion_tokens),
    })
}

/// OpenAI's `n`: each choice generates up to the completion limit.
fn choices(request: &ChatRequest) -> u64 {
    request
        .extra
        .get("n")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(1)
        .max(1)
}

/// The key's policy and the route's provider policy (a specific target wins over `*`).
pub(crate) fn checks(catalog: &Catalog, principal: &Principal, route: &Route) -> Vec<Check> {
    let key_id = &principal.key_id;
    let (key_limit, provider_limit) = catalog.limits_for(key_id, &route.provider_key);
    let mut checks = Vec::new();
    if let Some(limit) = key_limit {
        checks.push(Check {
            scope: format!("key:{key_id}"),
            limit,
        });
    }
    if let Some(limit) = provider_limit {
        checks.push(Check {
            scope: format!("provider:{}", route.provider_key),
            limit,
        });
    }
    checks
}

#[cfg(test)]
mod tests;
