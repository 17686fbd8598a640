//! Upstream providers and the body that stores an instance's provider key.

use std::fmt;

use envelope::ApiError;
use serde::Deserialize;

use super::Validate;
use crate::label::labels;

pub const API_KEY_MAX_CHARS: usize = 512;

labels! {
    /// The wire protocol a model config speaks upstream.
    pub enum Provider ("provider") {
        Openai => "openai",
        Anthropic => "anthropic",
        OpenaiCompatible => "openai_compatible",
        Ideogram => "ideogram",
    }
}

/// `PUT /admin/instances/{instance_id}/provider-keys/{name}`. `Debug` hides the key.
#[derive(Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProviderKeyInput {
    pub api_key: String,
    #[serde(default)]
    pub provider: Option<Provider>,
    /// Where this provider account is served (OpenAI-compatible servers, proxies); `None` = the provider's own.
    #[serde(default)]
    pub base_url: Option<String>,
}

impl fmt::Debug for ProviderKeyInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderKeyInput")
            .field("api_key", &"<redacted>")
            .field("provider", &self.provider)
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl Validate for ProviderKeyInput {
    /// The message never echoes the key.
    fn validate(&self, _now_ms: i64) -> Result<(), ApiError> {
        let length = self.api_key.chars().count();
        let clean = !self
            .api_key
            .chars()
            .any(|c| c.is_whitespace() || c.is_control());
        if (1..=API_KEY_MAX_CHARS).contains(&length) && clean {
            super::optional("base_url", self.base_url.as_deref(), super::model::base_url)
        } else {
            Err(ApiError::invalid_field(
                "api_key",
                format!("must be 1-{API_KEY_MAX_CHARS} characters without whitespace"),
            ))
        }
    }
}

/// The provider of a key stored under `name_slug`: the one given, else the name itself when it
/// is a known provider (`openai`, `anthropic`, `ideogram`), else `400 missing_field provider`.
/// `name_slug` is expected to be checked with [`super::slug`] first.
pub fn resolve_provider(name_slug: &str, given: Option<Provider>) -> Result<Provider, ApiError> {
    match given {
        Some(provider) => Ok(provider),
        None => name_slug
            .parse()
            .map_err(|_| ApiError::missing_field("provider")),
    }
}
