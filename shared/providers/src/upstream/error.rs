//! `UpstreamError`: how a provider call failed, and what the client is told.

use envelope::{ApiError, ErrorKind};

/// Longest upstream message passed on to a client (for its own bad request).
const MAX_CLIENT_MESSAGE_CHARS: usize = 300;

/// A failed provider call. Messages hold the provider's own words for the logs; what reaches
/// the client is [`UpstreamError::to_api_error`], which never carries a key.
#[derive(thiserror::Error, Debug, Clone, PartialEq)]
pub enum UpstreamError {
    #[error("provider rate limited the request: {message}")]
    RateLimited {
        retry_after_ms: Option<u64>,
        message: String,
    },
    /// 529, 503 or Anthropic's `overloaded_error`.
    #[error("provider overloaded ({status}): {message}")]
    Overloaded {
        status: u16,
        retry_after_ms: Option<u64>,
        message: String,
    },
    /// Any other 5xx.
    #[error("provider failed ({status}): {message}")]
    Server { status: u16, message: String },
    /// 401/403: the configured provider key was refused; 429 with OpenAI's
    /// `insufficient_quota`: its account has no quota left, which waiting will not fix.
    #[error("provider refused the key ({status}): {message}")]
    Auth { status: u16, message: String },
    #[error("provider rejected the request ({status}): {message}")]
    BadRequest { status: u16, message: String },
    #[error("provider refused the content: {message}")]
    ContentPolicy { message: String },
    #[error("provider does not know the model: {message}")]
    NotFound { message: String },
    /// A 2xx whose body or stream we could not read.
    #[error("provider sent a malformed response: {detail}")]
    Malformed { detail: String },
    /// The stream ended before its terminal marker.
    #[error("provider stream ended before completion")]
    Truncated,
    #[error("provider did not answer in time")]
    Timeout,
    #[error("could not reach the provider: {detail}")]
    Network { detail: String },
}

impl UpstreamError {
    /// Whether trying again (after [`crate::retry::next_delay`]) may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Overloaded { .. }
                | Self::Server { .. }
                | Self::Timeout
                | Self::Network { .. }
        )
    }

    /// What kind of failure this is, for logs: never the upstream's body or message.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::RateLimited { .. } => "rate limited",
            Self::Overloaded { .. } => "overloaded",
            Self::Server { .. } => "server error",
            Self::Auth { .. } => "auth rejected",
            Self::BadRequest { .. } => "bad request",
            Self::ContentPolicy { .. } => "content policy",
            Self::NotFound { .. } => "not found",
            Self::Malformed { .. } => "malformed body",
            Self::Truncated => "truncated",
            Self::Timeout => "timeout",
            Self::Network { .. } => "network",
        }
    }

    /// The wait the provider asked for, if any.
    pub fn retry_after_ms(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after_ms, .. } | Self::Overloaded { retry_after_ms, .. } => {
                *retry_after_ms
            }
            _ => None,
        }
    }

    /// What the client is told.
    pub fn to_api_error(&self) -> ApiError {
        match self {
            Self::RateLimited { retry_after_ms, .. } => {
                let err = ApiError::new(
                    ErrorKind::RateLimited,
                    "rate_limited",
                    "the provider is rate limiting this model; retry later",
                );
                with_retry_after(err, *retry_after_ms)
            }
            Self::Overloaded { retry_after_ms, .. } => with_retry_after(
                ApiError::upstream("the provider is overloaded; retry later"),
                *retry_after_ms,
            ),
            Self::Server { status, .. } => {
                ApiError::upstream(format!("the provider failed with status {status}"))
            }
            Self::Auth { status: 429, .. } => {
                ApiError::upstream("the provider account of the configured key has no quota left")
            }
            Self::Auth { .. } => {
                ApiError::upstream("the provider rejected the configured provider key")
            }
            Self::BadRequest { message, .. } => ApiError::bad_request(
                "upstream_invalid_request",
                client_message(message, "the provider rejected the request"),
            ),
            Self::ContentPolicy { message } => ApiError::bad_request(
                "content_policy_violation",
                client_message(message, "the provider refused the content under its policy"),
            ),
            Self::NotFound { .. } => {
                ApiError::upstream("the provider does not know the configured model")
            }
            Self::Malformed { .. } => ApiError::upstream("the provider sent a malformed response"),
            Self::Truncated => ApiError::upstream("the provider's stream ended before completion"),
            Self::Timeout => ApiError::upstream_timeout(),
            Self::Network { .. } => ApiError::upstream("could not reach the provider"),
        }
    }
}

fn with_retry_after(err: ApiError, retry_after_ms: Option<u64>) -> ApiError {
    match retry_after_ms {
        // Whole seconds for the header, never 0 (which would invite an immediate retry).
        Some(ms) => err.with_retry_after(ms.div_ceil(1000).max(1)),
        None => err,
    }
}

fn client_message(message: &str, fallback: &str) -> String {
    let message = message.trim();
    if message.is_empty() {
        return fallback.to_owned();
    }
    let mut out: String = message.chars().take(MAX_CLIENT_MESSAGE_CHARS).collect();
    if message.chars().nth(MAX_CLIENT_MESSAGE_CHARS).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_set() {
        let retryable = [
            UpstreamError::RateLimited {
                retry_after_ms: None,
                message: String::new(),
            },
            UpstreamError::Overloaded {
                status: 529,
                retry_after_ms: None,
                message: String::new(),
            },
            UpstreamError::Server {
                status: 500,
                message: String::new(),
            },
            UpstreamError::Timeout,
            UpstreamError::Network {
                detail: String::new(),
            },
        ];
        assert!(retryable.iter().all(UpstreamError::is_retryable));
        let final_ = [
            UpstreamError::Auth {
                status: 401,
                message: String::new(),
            },
            UpstreamError::BadRequest {
                status: 400,
                message: String::new(),
            },
            UpstreamError::ContentPolicy {
                message: String::new(),
            },
            UpstreamError::NotFound {
                message: String::new(),
            },
            UpstreamError::Malformed {
                detail: String::new(),
            },
            UpstreamError::Truncated,
        ];
        assert!(!final_.iter().any(UpstreamError::is_retryable));
    }

    #[test]
    fn client_errors() {
        let rate = UpstreamError::RateLimited {
            retry_after_ms: Some(1200),
            message: "x".into(),
        };
        let api = rate.to_api_error();
        assert_eq!(
            (api.status(), &*api.code, api.retry_after_secs),
            (429, "rate_limited", Some(2))
        );
        assert_eq!(rate.retry_after_ms(), Some(1200));

        let auth = UpstreamError::Auth {
            status: 401,
            message: "Incorrect API key provided: sk-abc".into(),
        };
        let api = auth.to_api_error();
        assert_eq!((api.status(), &*api.code), (502, "upstream_error"));
        assert_eq!(
            api.message,
            "the provider rejected the configured provider key"
        );

        let long = "y".repeat(1000);
        let api = UpstreamError::BadRequest {
            status: 400,
            message: long,
        }
        .to_api_error();
        assert_eq!(api.status(), 400);
        assert_eq!(api.message.chars().count(), 301);

        let api = UpstreamError::ContentPolicy {
            message: String::new(),
        }
        .to_api_error();
        assert_eq!(
            (api.status(), &*api.code),
            (400, "content_policy_violation")
        );
        assert_eq!(UpstreamError::Timeout.to_api_error().status(), 504);
        assert_eq!(UpstreamError::Truncated.to_api_error().status(), 502);
        assert_eq!(
            UpstreamError::Network {
                detail: "dns".into()
            }
            .to_api_error()
            .status(),
            502
        );
        let over = UpstreamError::Overloaded {
            status: 529,
            retry_after_ms: None,
            message: String::new(),
        };
        assert_eq!(over.to_api_error().status(), 502);
    }
}
