//! Talking to providers, sans-IO: [`build_request`] says what to send, [`parse_response`] and
//! [`StreamDecoder`] read what came back, [`classify`] turns a failure into an
//! [`UpstreamError`]. The shell does the fetching, timing and retrying.

mod anthropic;
mod classification;
mod error;
mod openai;
mod response;
mod stream;

use std::fmt;

use envelope::ApiError;

use crate::chat::ChatRequest;

pub(crate) use classification::error_in_body;
pub use classification::{classify, classify_with_headers};
pub use error::UpstreamError;
pub use response::parse_response;
pub use stream::StreamDecoder;

/// Which wire format an upstream speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    OpenAi,
    Anthropic,
    /// An OpenAI-style server at a configured base URL (vLLM, llama.cpp, Ollama, …).
    OpenAiCompatible,
    /// Ideogram's image API (images only: no chat, no embeddings).
    Ideogram,
}

impl ProviderKind {
    fn default_base_url(self) -> Option<&'static str> {
        match self {
            Self::OpenAi => Some("https://api.openai.com/v1"),
            Self::Anthropic => Some("https://api.anthropic.com/v1"),
            Self::OpenAiCompatible => None,
            Self::Ideogram => Some("https://api.ideogram.ai"),
        }
    }
}

/// A provider key and, optionally, where to reach the provider instead of its default URL.
#[derive(Clone, Copy)]
pub struct Credentials<'a> {
    pub api_key: &'a str,
    pub base_url: Option<&'a str>,
}

impl fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key", &"[redacted]")
            .field("base_url", &self.base_url)
            .finish()
    }
}

/// An HTTP request for the shell to send.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Credentials are redacted and the body (a prompt) is reduced to its size, so that a request
/// can be logged.
impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(name, value)| {
                let secret = ["authorization", "x-api-key", "api-key"]
                    .iter()
                    .any(|s| name.eq_ignore_ascii_case(s));
                (
                    name.as_str(),
                    if secret { "[redacted]" } else { value.as_str() },
                )
            })
            .collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

/// The upstream request for `req`, with `upstream_model` in place of the client's model name.
///
/// OpenAI-style: `POST {base}/chat/completions`, bearer auth, the canonical body with every
/// pass-through field, and `stream_options.include_usage` forced on when streaming (usage is
/// what we bill). Anthropic: `POST {base}/messages` with the body translated; features it
/// cannot express are a 400 naming the field. A missing or unusable base URL or key is a 502:
/// the configuration, not the client, is at fault.
pub fn build_request(
    kind: ProviderKind,
    req: &ChatRequest,
    upstream_model: &str,
    creds: &Credentials,
) -> Result<HttpRequest, ApiError> {
    let base = base_url(kind, creds.base_url)?;
    check_key(creds)?;
    match kind {
        ProviderKind::OpenAi | ProviderKind::OpenAiCompatible => {
            openai::build(kind, req, upstream_model, base, creds.api_key)
        }
        ProviderKind::Anthropic => anthropic::build(req, upstream_model, base, creds.api_key),
        ProviderKind::Ideogram => Err(ApiError::invalid_field(
            "model",
            "ideogram models generate images, not chat",
        )),
    }
}

/// An OpenAI-style `POST {base}/{path}` of `body` with bearer auth (none for a local server without a
/// key), checked like [`build_request`].
pub(crate) fn openai_post(
    kind: ProviderKind,
    path: &str,
    body: &serde_json::Value,
    creds: &Credentials,
) -> Result<HttpRequest, ApiError> {
    let base = base_url(kind, creds.base_url)?;
    check_key(creds)?;
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    if !creds.api_key.is_empty() {
        headers.push((
            "authorization".to_owned(),
            format!("Bearer {}", creds.api_key),
        ));
    }
    Ok(HttpRequest {
        method: "POST",
        url: format!("{base}/{path}"),
        headers,
        body: json_body(body),
    })
}

/// A key with control characters would break the header it goes in: the configuration is at fault.
pub(crate) fn check_key(creds: &Credentials) -> Result<(), ApiError> {
    if creds.api_key.chars().any(char::is_control) {
        return Err(ApiError::upstream(
            "the configured provider key is malformed",
        ));
    }
    Ok(())
}

pub(crate) fn base_url(kind: ProviderKind, configured: Option<&str>) -> Result<&str, ApiError> {
    let base = configured
        .or(kind.default_base_url())
        .map(|url| url.trim().trim_end_matches('/'))
        .ok_or_else(|| ApiError::upstream("the provider has no base URL configured"))?;
    let usable = (base.starts_with("https://") || base.starts_with("http://"))
        && !base.chars().any(|c| c.is_control() || c.is_whitespace());
    if usable {
        Ok(base)
    } else {
        Err(ApiError::upstream(
            "the provider's base URL is not a valid http(s) URL",
        ))
    }
}

/// The body as bytes; serializing a `Value` cannot fail, the fallback keeps this panic-free.
fn json_body(body: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(body).unwrap_or_default()
}

#[cfg(test)]
mod tests;
