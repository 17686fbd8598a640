//! [`plan()`] for `POST /v1/embeddings`: the route (a model config with the `embeddings` capability on an
//! OpenAI or OpenAI-compatible provider key), its rate-limit checks, and the tokens it reserves (the
//! input estimate: embeddings generate nothing). No fallbacks: another model's vectors live in another
//! space, so a caller must not get them in place of the ones it asked for. Retries as for chat.

use envelope::ApiError;
use limits::Check;
use providers::embeddings::{estimate_tokens, EmbeddingRequest};
use providers::retry::RetryPolicy;
use providers::upstream::ProviderKind;
use tenancy::inputs::Capability;
use tenancy::principal::Principal;

use crate::catalog::{Catalog, Route};
use crate::plan::{checks, has_key, usable};

/// The decisions made before the upstream is called.
#[derive(Debug, Clone)]
pub struct EmbedPlan {
    pub route: Route,
    pub request: EmbeddingRequest,
    pub checks: Vec<Check>,
    /// The input estimate, reserved in full.
    pub reserved_tokens: u64,
    /// At most what any provider can count for the input (one token per byte): what a budget reserves.
    pub tokens_bound: u64,
    pub timeout_ms: u64,
    pub retry: RetryPolicy,
}

pub fn plan(
    principal: &Principal,
    request: EmbeddingRequest,
    catalog: &Catalog,
    timeout_ms: u64,
    budget_ms: u64,
) -> Result<EmbedPlan, ApiError> {
    let route = usable(catalog, principal, &request.model, Capability::Embeddings)?;
    if route.kind()? == ProviderKind::Anthropic {
        return Err(ApiError::invalid_field(
            "model",
            "anthropic models have no embeddings; use an OpenAI or OpenAI-compatible model",
        ));
    }
    has_key(&route)?;
    let checks = checks(catalog, principal, &route);
    Ok(EmbedPlan {
        reserved_tokens: estimate_tokens(&request),
        tokens_bound: providers::embeddings::tokens_bound(&request).max(estimate_tokens(&request)),
        route,
        request,
        checks,
        timeout_ms,
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay_ms: 200,
            max_delay_ms: 2_000,
            total_budget_ms: budget_ms,
        },
    })
}

#[cfg(test)]
mod tests;
