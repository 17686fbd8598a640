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

impl ProviderKeyInput {
    /// Where this key's secret may be sent, once its provider is known: see [`check_upstream`].
    /// `openai_compatible` has no address of its own, so it needs a `base_url`.
    pub fn check_upstream(&self, provider: Provider, allow_loopback: bool) -> Result<(), ApiError> {
        match self.base_url.as_deref() {
            None if provider == Provider::OpenaiCompatible => Err(ApiError::unprocessable(
                "base_url",
                "is required for provider openai_compatible",
            )),
            None => Ok(()),
            Some(url) => check_upstream("base_url", url, allow_loopback),
        }
    }
}

/// Where a provider key's secret may be sent (`url` already has the shape [`super::model::base_url`]
/// checks): `https://` only, with no credentials in the URL; a loopback host (`localhost`, `127.x.x.x`,
/// `::1`), over http or https, only when the deployment allows it (local development and tests, where
/// the provider simulator listens on 127.0.0.1). `422` otherwise.
pub fn check_upstream(field: &str, url: &str, allow_loopback: bool) -> Result<(), ApiError> {
    let authority = authority(url).unwrap_or_default();
    if authority.contains('@') {
        return Err(ApiError::unprocessable(
            field,
            "must not carry credentials (user:password@); the provider key's api_key is the credential",
        ));
    }
    match url_host(url) {
        None => Err(ApiError::invalid_field(field, "must name a host")),
        Some(host) if is_loopback(&host) && !allow_loopback => Err(ApiError::unprocessable(
            field,
            "loopback hosts are allowed only in local development (ALLOW_LOOPBACK_UPSTREAMS)",
        )),
        Some(host) if is_loopback(&host) => Ok(()),
        Some(_) if url.starts_with("https://") => Ok(()),
        Some(_) => Err(ApiError::unprocessable(
            field,
            "must be an https:// URL (plain http only for loopback hosts in local development)",
        )),
    }
}

/// What lies between `scheme://` and the path, query or fragment.
fn authority(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    rest.get(..end)
}

/// The host of an `http(s)://` URL, lower-cased, without credentials, port or IPv6 brackets: what an
/// audit entry may show of an upstream address. `None` when there is none.
pub fn url_host(url: &str) -> Option<String> {
    let authority = authority(url)?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split_once(']')?.0,
        None => host_port.split(':').next().unwrap_or_default(),
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

fn is_loopback(host: &str) -> bool {
    let ipv4_loopback = host
        .strip_prefix("127.")
        .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit() || c == '.'));
    ipv4_loopback
        || host == "localhost"
        || host.ends_with(".localhost")
        || host == "::1"
        || host == "0.0.0.0"
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

#[cfg(test)]
mod tests;
