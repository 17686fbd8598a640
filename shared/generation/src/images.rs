//! [`plan()`] for `POST /v1/images/generations`: the routes (a model config with the `image` capability
//! on an OpenAI, OpenAI-compatible or Ideogram provider key, then its usable fallbacks), each with its
//! rate-limit checks on the image scopes and the images it reserves; and [`ImageLeg::cost_usd`], what
//! an answer of that route costs. Retries as for embeddings.

use envelope::ApiError;
use limits::Check;
use providers::images::{
    is_gpt_image, ImageRequest, ImageUsage, Quality, Size, MAX_IDEOGRAM_IMAGES,
};
use providers::retry::RetryPolicy;
use providers::upstream::ProviderKind;
use tenancy::inputs::Capability;
use tenancy::principal::Principal;

use crate::catalog::{Catalog, Route};
use crate::plan::{has_key, usable, MAX_LEGS};

/// The decisions made before the upstream is called.
#[derive(Debug, Clone)]
pub struct ImagePlan {
    /// The model first, then the fallbacks this key may use (at most [`MAX_LEGS`] in all).
    pub legs: Vec<ImageLeg>,
    pub timeout_ms: u64,
    pub retry: RetryPolicy,
}

/// One route an image request may take.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageLeg {
    pub route: Route,
    /// The upstream's wire format (never Anthropic).
    pub kind: ProviderKind,
    /// The request as sent to this route (the caller's; `build_request` takes the route's upstream model).
    pub request: ImageRequest,
    /// The image scopes of the key's and the provider key's policies (`key:{id}:images`,
    /// `provider:{name}:images`), whose tokens are images.
    pub checks: Vec<Check>,
    /// What the admission reserves on those scopes: every image asked for (`n`).
    pub reserved_images: u64,
}

/// Resolves the model and its fallbacks. A model this key may not use, that is not configured, disabled,
/// cannot make images, is an Anthropic model, has no provider key, or is an Ideogram model asked for
/// more images than Ideogram makes is refused here; a fallback with any of those problems is left out
/// (the caller did not name it).
pub fn plan(
    principal: &Principal,
    request: ImageRequest,
    catalog: &Catalog,
    timeout_ms: u64,
    budget_ms: u64,
) -> Result<ImagePlan, ApiError> {
    let route = usable(catalog, principal, &request.model, Capability::Image)?;
    let kind = route.image_kind()?;
    has_key(&route)?;
    fits(kind, &request)?;
    let fallbacks = route.config.fallbacks.clone();
    let mut legs = vec![leg(catalog, principal, &request, route, kind)];
    for name in fallbacks {
        if legs.len() >= MAX_LEGS {
            break;
        }
        let Ok(route) = usable(catalog, principal, &name, Capability::Image) else {
            continue;
        };
        if legs.iter().any(|l| l.route.config.id == route.config.id) {
            continue;
        }
        let Ok(kind) = route.image_kind() else {
            continue;
        };
        if has_key(&route).is_err() || fits(kind, &request).is_err() {
            continue;
        }
        legs.push(leg(catalog, principal, &request, route, kind));
    }
    Ok(ImagePlan {
        legs,
        timeout_ms,
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay_ms: 200,
            max_delay_ms: 2_000,
            total_budget_ms: budget_ms,
        },
    })
}

/// Ideogram makes at most [`MAX_IDEOGRAM_IMAGES`] per request (the adapter would refuse it later, after
/// the admission: refused before it instead).
fn fits(kind: ProviderKind, request: &ImageRequest) -> Result<(), ApiError> {
    if kind == ProviderKind::Ideogram && request.n > MAX_IDEOGRAM_IMAGES {
        return Err(ApiError::invalid_field(
            "n",
            format_args!("ideogram generates at most {MAX_IDEOGRAM_IMAGES} images per request"),
        ));
    }
    Ok(())
}

fn leg(
    catalog: &Catalog,
    principal: &Principal,
    request: &ImageRequest,
    route: Route,
    kind: ProviderKind,
) -> ImageLeg {
    ImageLeg {
        checks: checks(catalog, principal, &route),
        route,
        kind,
        request: request.clone(),
        reserved_images: u64::from(request.n),
    }
}

/// The key's and the route's provider policies, on the image scopes.
fn checks(catalog: &Catalog, principal: &Principal, route: &Route) -> Vec<Check> {
    let key_id = &principal.key_id;
    let (key_limit, provider_limit) = catalog.image_limits_for(key_id, &route.provider_key);
    let key = key_limit.map(|limit| Check::new(format!("key:{key_id}:images"), limit));
    let provider = provider_limit
        .map(|limit| Check::new(format!("provider:{}:images", route.provider_key), limit));
    key.into_iter().chain(provider).collect()
}

impl ImageLeg {
    /// What `images` stored images cost on this route: gpt-image models bill tokens, so an answer with
    /// token usage on a config with token prices costs those tokens; any other answer costs its per-image
    /// price each, by the request's size (`auto` when not given) and quality (see
    /// `ModelConfig::image_price`; unpriced → 0).
    pub fn cost_usd(&self, images: u32, usage: Option<ImageUsage>) -> f64 {
        let config = &self.route.config;
        let token_priced =
            config.input_price_per_mtok.is_some() || config.output_price_per_mtok.is_some();
        match usage {
            Some(usage) if token_priced && is_gpt_image(&config.upstream_model) => {
                config.cost_usd(usage.input_tokens, usage.output_tokens)
            }
            _ => {
                let size = self
                    .request
                    .size
                    .map_or_else(|| "auto".to_owned(), Size::to_wire);
                let quality = self.request.quality.map(Quality::as_str);
                config.image_price(&size, quality).unwrap_or(0.0) * f64::from(images)
            }
        }
    }
}

#[cfg(test)]
mod tests;
