//! Model configs of an instance: the create body, the patch body and their rules.

use envelope::ApiError;
use serde::Deserialize;

use super::nullable::nullable;
use super::{no_duplicates, optional, slug, Validate};
use crate::inputs::Provider;
use crate::label::labels;
use crate::records::ModelConfig;

mod image_prices;

pub use image_prices::{ImagePrices, IMAGE_QUALITIES, MAX_IMAGE_PRICES};

pub const MODEL_ID_MAX_CHARS: usize = 64;
pub const UPSTREAM_MODEL_MAX_CHARS: usize = 128;
pub const BASE_URL_MAX_CHARS: usize = 2048;
pub const MAX_OUTPUT_TOKENS: u32 = 1_000_000;
pub const MAX_FALLBACKS: usize = 5;

labels! {
    /// What a model can be asked for.
    pub enum Capability ("capability") {
        Chat => "chat",
        Stream => "stream",
        Image => "image",
        Embeddings => "embeddings",
    }
}

impl Capability {
    /// Capabilities a config gets when none are given: images for Ideogram, chat otherwise.
    pub fn defaults_for(provider: Provider) -> Vec<Capability> {
        match provider {
            Provider::Ideogram => vec![Capability::Image],
            _ => vec![Capability::Chat, Capability::Stream],
        }
    }
}

/// `POST /admin/instances/{instance_id}/models`
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NewModelConfig {
    pub id: String,
    pub provider: Provider,
    pub upstream_model: String,
    #[serde(default)]
    pub provider_key: Option<String>,
    /// Refused when given (see [`no_model_base_url`]); read only to say so clearly.
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub capabilities: Option<Vec<Capability>>,
    #[serde(default)]
    pub input_price_per_mtok: Option<f64>,
    #[serde(default)]
    pub output_price_per_mtok: Option<f64>,
    #[serde(default)]
    pub price_per_image: Option<f64>,
    /// Prices per image by size and quality, over `price_per_image` (see [`ModelConfig::image_price`]).
    #[serde(default)]
    pub image_prices: Option<ImagePrices>,
    #[serde(default)]
    pub max_output_tokens: Option<u32>,
    #[serde(default)]
    pub fallbacks: Option<Vec<String>>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

impl Validate for NewModelConfig {
    fn validate(&self, _now_ms: i64) -> Result<(), ApiError> {
        model_id("id", &self.id)?;
        upstream_model("upstream_model", &self.upstream_model)?;
        optional("provider_key", self.provider_key.as_deref(), slug)?;
        no_model_base_url(self.base_url.as_deref())?;
        capabilities(self.capabilities.as_deref())?;
        prices(
            self.input_price_per_mtok,
            self.output_price_per_mtok,
            self.price_per_image,
        )?;
        image_prices::validate(self.image_prices.as_ref())?;
        max_output_tokens(self.max_output_tokens)?;
        fallbacks(self.fallbacks.as_deref().unwrap_or_default())?;
        check_consistency(&self.id, self.fallbacks.as_deref().unwrap_or_default())
    }
}

impl NewModelConfig {
    /// The stored config, with defaults applied (capabilities by provider, enabled, no
    /// fallbacks). Call after [`Validate::validate`].
    pub fn into_record(self, instance_id: &str, now_ms: i64) -> ModelConfig {
        ModelConfig {
            capabilities: self
                .capabilities
                .unwrap_or_else(|| Capability::defaults_for(self.provider)),
            id: self.id,
            instance_id: instance_id.to_string(),
            provider: self.provider,
            upstream_model: self.upstream_model,
            provider_key: self.provider_key,
            base_url: None,
            input_price_per_mtok: self.input_price_per_mtok,
            output_price_per_mtok: self.output_price_per_mtok,
            price_per_image: self.price_per_image,
            image_prices: image_prices::normalize(self.image_prices),
            max_output_tokens: self.max_output_tokens,
            fallbacks: self.fallbacks.unwrap_or_default(),
            enabled: self.enabled.unwrap_or(true),
            created_at: now_ms,
            updated_at: now_ms,
        }
    }
}

/// `PATCH /admin/instances/{instance_id}/models/{model_id}`. Absent fields stay; nullable
/// fields set to `null` are cleared (`capabilities: null` restores the provider's defaults).
#[derive(Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct ModelConfigPatch {
    #[serde(default)]
    pub provider: Option<Provider>,
    #[serde(default)]
    pub upstream_model: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub provider_key: Option<Option<String>>,
    /// Only `null` is accepted (it clears a value stored before base URLs moved to provider keys).
    #[serde(default, deserialize_with = "nullable")]
    pub base_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub capabilities: Option<Option<Vec<Capability>>>,
    #[serde(default, deserialize_with = "nullable")]
    pub input_price_per_mtok: Option<Option<f64>>,
    #[serde(default, deserialize_with = "nullable")]
    pub output_price_per_mtok: Option<Option<f64>>,
    #[serde(default, deserialize_with = "nullable")]
    pub price_per_image: Option<Option<f64>>,
    #[serde(default, deserialize_with = "nullable")]
    pub image_prices: Option<Option<ImagePrices>>,
    #[serde(default, deserialize_with = "nullable")]
    pub max_output_tokens: Option<Option<u32>>,
    #[serde(default, deserialize_with = "nullable")]
    pub fallbacks: Option<Option<Vec<String>>>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

impl Validate for ModelConfigPatch {
    /// Checks each field alone; rules that span fields are checked by [`Self::apply`].
    fn validate(&self, _now_ms: i64) -> Result<(), ApiError> {
        optional(
            "upstream_model",
            self.upstream_model.as_deref(),
            upstream_model,
        )?;
        optional(
            "provider_key",
            self.provider_key.as_ref().and_then(Option::as_deref),
            slug,
        )?;
        no_model_base_url(self.base_url.as_ref().and_then(Option::as_deref))?;
        capabilities(self.capabilities.as_ref().and_then(Option::as_deref))?;
        prices(
            self.input_price_per_mtok.flatten(),
            self.output_price_per_mtok.flatten(),
            self.price_per_image.flatten(),
        )?;
        image_prices::validate(self.image_prices.as_ref().and_then(Option::as_ref))?;
        max_output_tokens(self.max_output_tokens.flatten())?;
        fallbacks(
            self.fallbacks
                .as_ref()
                .and_then(Option::as_deref)
                .unwrap_or_default(),
        )
    }
}

impl ModelConfigPatch {
    /// `current` with this patch applied and `updated_at` set, if the result is consistent.
    pub fn apply(self, current: &ModelConfig, now_ms: i64) -> Result<ModelConfig, ApiError> {
        self.validate(now_ms)?;
        let mut next = current.clone();
        let provider = self.provider.unwrap_or(current.provider);
        next.provider = provider;
        set(&mut next.upstream_model, self.upstream_model);
        set(&mut next.provider_key, self.provider_key);
        next.base_url = None;
        if let Some(capabilities) = self.capabilities {
            next.capabilities = capabilities.unwrap_or_else(|| Capability::defaults_for(provider));
        }
        set(&mut next.input_price_per_mtok, self.input_price_per_mtok);
        set(&mut next.output_price_per_mtok, self.output_price_per_mtok);
        set(&mut next.price_per_image, self.price_per_image);
        if let Some(prices) = self.image_prices {
            next.image_prices = image_prices::normalize(prices);
        }
        set(&mut next.max_output_tokens, self.max_output_tokens);
        if let Some(fallbacks) = self.fallbacks {
            next.fallbacks = fallbacks.unwrap_or_default();
        }
        set(&mut next.enabled, self.enabled);
        next.updated_at = now_ms;
        check_consistency(&next.id, &next.fallbacks)?;
        Ok(next)
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

/// A model id as clients name it: 1–64 of `A-Z a-z 0-9 . _ : / -`, not starting with `/`.
pub fn model_id(field: &str, value: &str) -> Result<(), ApiError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._:/-".contains(c);
    let well_formed = (1..=MODEL_ID_MAX_CHARS).contains(&value.len())
        && !value.starts_with('/')
        && value.chars().all(allowed);
    if well_formed {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            field,
            format!("must be 1-{MODEL_ID_MAX_CHARS} characters of A-Z, a-z, 0-9 and ._:/-, not starting with /"),
        ))
    }
}

fn upstream_model(field: &str, value: &str) -> Result<(), ApiError> {
    let length = value.chars().count();
    if (1..=UPSTREAM_MODEL_MAX_CHARS).contains(&length) && !value.chars().any(char::is_control) {
        return Ok(());
    }
    Err(ApiError::invalid_field(
        field,
        format!("must be 1-{UPSTREAM_MODEL_MAX_CHARS} characters without control characters"),
    ))
}

/// A model config has no upstream address of its own: it goes where its provider key says, so that a
/// provider key's secret is only ever sent to the address it was stored with.
fn no_model_base_url(value: Option<&str>) -> Result<(), ApiError> {
    match value {
        Some(_) => Err(ApiError::unprocessable(
            "base_url",
            "a model config cannot set base_url; set it on the provider key \
             (PUT /admin/instances/{instance_id}/provider-keys/{name})",
        )),
        None => Ok(()),
    }
}

/// The shape of an upstream URL: `http://` or `https://` and a host. Where it may point is
/// [`super::provider::check_upstream`]'s concern.
pub fn base_url(field: &str, value: &str) -> Result<(), ApiError> {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    let well_formed = value.len() <= BASE_URL_MAX_CHARS
        && rest.is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    if well_formed {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            field,
            "must be an http:// or https:// URL",
        ))
    }
}

fn capabilities(list: Option<&[Capability]>) -> Result<(), ApiError> {
    match list {
        Some([]) => Err(ApiError::unprocessable("capabilities", "must not be empty")),
        Some(list) => no_duplicates("capabilities", list),
        None => Ok(()),
    }
}

fn prices(input: Option<f64>, output: Option<f64>, image: Option<f64>) -> Result<(), ApiError> {
    let named = [
        ("input_price_per_mtok", input),
        ("output_price_per_mtok", output),
        ("price_per_image", image),
    ];
    for (field, price) in named {
        if price.is_some_and(|p| !p.is_finite() || p < 0.0) {
            return Err(ApiError::unprocessable(field, "must be a number >= 0"));
        }
    }
    Ok(())
}

fn max_output_tokens(value: Option<u32>) -> Result<(), ApiError> {
    match value {
        Some(n) if !(1..=MAX_OUTPUT_TOKENS).contains(&n) => Err(ApiError::unprocessable(
            "max_output_tokens",
            format!("must be from 1 to {MAX_OUTPUT_TOKENS}"),
        )),
        _ => Ok(()),
    }
}

fn fallbacks(list: &[String]) -> Result<(), ApiError> {
    if list.len() > MAX_FALLBACKS {
        return Err(ApiError::invalid_field(
            "fallbacks",
            format!("at most {MAX_FALLBACKS} models"),
        ));
    }
    for (index, id) in list.iter().enumerate() {
        model_id(&format!("fallbacks[{index}]"), id)?;
    }
    no_duplicates("fallbacks", list)
}

/// Rules across fields, checked on the config as it would be stored.
fn check_consistency(id: &str, fallbacks: &[String]) -> Result<(), ApiError> {
    if let Some(index) = fallbacks.iter().position(|fallback| fallback == id) {
        return Err(ApiError::unprocessable(
            &format!("fallbacks[{index}]"),
            "a model cannot fall back to itself",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
