//! Error answers in each provider's own body shape, rendered in this one place:
//! OpenAI `{"error":{"message","type","param","code"}}`, Anthropic
//! `{"type":"error","error":{"type","message"}}`, Ideogram `{"detail": message}`.

use hyper::header::{HeaderValue, RETRY_AFTER};
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

use crate::body::SimBody;
use crate::respond;

/// Which provider's error body to speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    OpenAi,
    Anthropic,
    Ideogram,
}

/// An error answer before it is rendered in a provider's shape.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    message: String,
    /// OpenAI's machine-readable `code` (the other shapes have no such field).
    code: Option<&'static str>,
    /// OpenAI's `param`: the request field at fault.
    param: Option<String>,
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            code: None,
            param: None,
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// A missing or rejected API key.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message).code("invalid_api_key")
    }

    /// The answer a `status=NNN` directive asks for, with the code OpenAI uses for that status.
    pub fn injected(status: u16) -> Self {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let error = Self::new(status, injected_message(status));
        match status.as_u16() {
            401 => error.code("invalid_api_key"),
            404 => error.code("model_not_found"),
            429 => error.code("rate_limit_exceeded"),
            _ => error,
        }
    }

    /// The answer to `content_policy=1`: a refusal that names the provider's safety system — 400
    /// for OpenAI (`content_policy_violation`) and Anthropic, 422 for Ideogram, as they send it.
    pub fn content_policy(shape: Shape) -> Self {
        let (status, message) = match shape {
            Shape::OpenAi => (
                StatusCode::BAD_REQUEST,
                "Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system. (simulated)",
            ),
            Shape::Anthropic => (
                StatusCode::BAD_REQUEST,
                "Output blocked by content filtering policy (simulated).",
            ),
            Shape::Ideogram => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Prompt failed the safety check (simulated content policy violation).",
            ),
        };
        Self::new(status, message).code("content_policy_violation")
    }

    pub fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    pub fn param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn retry_after(mut self, seconds: Option<u64>) -> Self {
        self.retry_after = seconds;
        self
    }

    pub fn render(&self, shape: Shape) -> Response<SimBody> {
        let mut response = respond::json(self.status, &self.body(shape));
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }

    /// The JSON error body in `shape`.
    pub fn body(&self, shape: Shape) -> Value {
        match shape {
            Shape::OpenAi => json!({
                "error": {
                    "message": self.message,
                    "type": openai_type(self.status),
                    "param": self.param,
                    "code": self.code,
                }
            }),
            Shape::Anthropic => json!({
                "type": "error",
                "error": { "type": anthropic_type(self.status), "message": self.message },
            }),
            Shape::Ideogram => json!({ "detail": self.message }),
        }
    }
}

fn openai_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        403 => "request_forbidden",
        429 => "requests",
        500..=599 => "server_error",
        _ => "invalid_request_error",
    }
}

fn anthropic_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        500..=599 => "api_error",
        _ => "invalid_request_error",
    }
}

fn injected_message(status: StatusCode) -> String {
    let what = match status.as_u16() {
        400 => "invalid request",
        401 => "invalid API key",
        403 => "permission denied",
        404 => "model not found",
        408 => "request timeout",
        413 => "request too large",
        429 => "rate limit exceeded",
        500 => "internal server error",
        502 => "bad gateway",
        503 => "service unavailable",
        504 => "gateway timeout",
        529 => "overloaded",
        _ => "error",
    };
    format!("Simulated {what} (HTTP {}).", status.as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_statuses_to_provider_types() {
        assert_eq!(
            anthropic_type(StatusCode::TOO_MANY_REQUESTS),
            "rate_limit_error"
        );
        let overloaded = StatusCode::from_u16(529).unwrap();
        assert_eq!(anthropic_type(overloaded), "overloaded_error");
        assert_eq!(anthropic_type(StatusCode::BAD_GATEWAY), "api_error");
        assert_eq!(
            anthropic_type(StatusCode::UNAUTHORIZED),
            "authentication_error"
        );
        assert_eq!(openai_type(StatusCode::BAD_GATEWAY), "server_error");
        assert_eq!(
            openai_type(StatusCode::UNAUTHORIZED),
            "invalid_request_error"
        );
    }

    #[test]
    fn injected_errors_carry_retry_after() {
        let response = ApiError::injected(429)
            .retry_after(Some(7))
            .render(Shape::Anthropic);
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[RETRY_AFTER], "7");
    }
}
