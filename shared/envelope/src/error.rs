//! `ApiError`: what a client is told when a request fails, and its one JSON rendering.

use std::borrow::Cow;

use serde::Serialize;

/// The class of a failure; fixes the HTTP status and the envelope's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    Unprocessable,
    RateLimited,
    /// A budget has no room: 429 like OpenAI's `insufficient_quota`.
    InsufficientQuota,
    Internal,
    BadGateway,
    GatewayTimeout,
    Unavailable,
}

impl ErrorKind {
    /// The HTTP status code.
    pub fn status(self) -> u16 {
        match self {
            Self::BadRequest => 400,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::Conflict => 409,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::Unprocessable => 422,
            Self::RateLimited | Self::InsufficientQuota => 429,
            Self::Internal => 500,
            Self::BadGateway => 502,
            Self::Unavailable => 503,
            Self::GatewayTimeout => 504,
        }
    }

    /// The envelope's `type` field (the table in docs/api.md).
    pub fn error_type(self) -> &'static str {
        match self {
            Self::BadRequest
            | Self::MethodNotAllowed
            | Self::PayloadTooLarge
            | Self::UnsupportedMediaType
            | Self::Unprocessable => "invalid_request_error",
            Self::Unauthorized => "authentication_error",
            Self::Forbidden => "permission_error",
            Self::NotFound => "not_found_error",
            Self::Conflict => "conflict_error",
            Self::RateLimited => "rate_limit_error",
            Self::InsufficientQuota => "insufficient_quota",
            Self::Internal => "api_error",
            Self::BadGateway | Self::GatewayTimeout => "upstream_error",
            Self::Unavailable => "service_unavailable",
        }
    }
}

/// A client-visible error. `message` is shown to the client verbatim, so it must never hold an
/// internal cause, a secret, a prompt or an upstream body; log those separately.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} {}: {}", kind.status(), code, message)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub code: Cow<'static, str>,
    pub message: String,
    /// Rendered by the shell as a `Retry-After` header.
    pub retry_after_secs: Option<u64>,
    /// The request field at fault, rendered as the envelope's `param` (OpenAI's schema requires the key;
    /// `null` when no single field is at fault).
    pub param: Option<String>,
}

impl ApiError {
    pub fn new(
        kind: ErrorKind,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            code: code.into(),
            message: message.into(),
            retry_after_secs: None,
            param: None,
        }
    }

    /// Names the field at fault (the envelope's `param`).
    pub fn with_param(mut self, field: &str) -> Self {
        self.param = Some(field.to_string());
        self
    }

    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// 400 with a caller-chosen code (e.g. `invalid_json`, `invalid_cursor`).
    pub fn bad_request(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, code, message)
    }

    /// 400 `invalid_field`, message `"<field>: <message>"`.
    pub fn invalid_field(field: &str, message: impl std::fmt::Display) -> Self {
        Self::bad_request("invalid_field", format!("{field}: {message}")).with_param(field)
    }

    /// 400 `missing_field`, message `"<field>: is required"`.
    pub fn missing_field(field: &str) -> Self {
        Self::bad_request("missing_field", format!("{field}: is required")).with_param(field)
    }

    /// 400 `unknown_field`, message `"<field>: unknown field"`.
    pub fn unknown_field(field: &str) -> Self {
        Self::bad_request("unknown_field", format!("{field}: unknown field")).with_param(field)
    }

    /// 400 `invalid_id`: a malformed id in a path or query parameter.
    pub fn invalid_id(param: &str) -> Self {
        Self::bad_request("invalid_id", format!("{param}: malformed id"))
    }

    /// 400 `invalid_cursor`: a pagination cursor this service did not issue.
    pub fn invalid_cursor() -> Self {
        Self::bad_request("invalid_cursor", "cursor: malformed cursor")
    }

    /// 422 `invalid_value` (valid JSON, invalid value), message `"<field>: <message>"`.
    pub fn unprocessable(field: &str, message: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorKind::Unprocessable,
            "invalid_value",
            format!("{field}: {message}"),
        )
        .with_param(field)
    }

    pub fn unauthorized(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthorized, code, message)
    }

    pub fn forbidden(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, code, message)
    }

    /// 404 `not_found`, message `"<what> not found"`. Also used for resources of another
    /// tenant, so that their existence is not revealed.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            ErrorKind::NotFound,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn route_not_found() -> Self {
        Self::new(
            ErrorKind::NotFound,
            "route_not_found",
            "no route matches this path",
        )
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            ErrorKind::MethodNotAllowed,
            "method_not_allowed",
            "method not allowed on this route",
        )
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, "conflict", message)
    }

    /// 413 `body_too_large`.
    pub fn too_large(limit_bytes: usize) -> Self {
        Self::new(
            ErrorKind::PayloadTooLarge,
            "body_too_large",
            format!("request body exceeds {limit_bytes} bytes"),
        )
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            ErrorKind::UnsupportedMediaType,
            "unsupported_media_type",
            "content-type must be application/json",
        )
    }

    /// 429 `rate_limited` carrying the `Retry-After` seconds.
    pub fn rate_limited(retry_after_secs: u64, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::RateLimited, "rate_limited", message)
            .with_retry_after(retry_after_secs)
    }

    /// 429 `budget_exceeded` (type `insufficient_quota`): a budget of the request's chain has no room
    /// for it; `Retry-After` at the budget's reset when it has one.
    pub fn budget_exceeded(retry_after_secs: Option<u64>, message: impl Into<String>) -> Self {
        let error = Self::new(ErrorKind::InsufficientQuota, "budget_exceeded", message);
        match retry_after_secs {
            Some(secs) => error.with_retry_after(secs),
            None => error,
        }
    }

    /// 500 `internal_error`. Takes no cause on purpose: the cause is logged by the caller and
    /// never reaches the client.
    pub fn internal() -> Self {
        Self::new(ErrorKind::Internal, "internal_error", "internal error")
    }

    /// 502 `upstream_error`. `message` must not contain the upstream body.
    pub fn upstream(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadGateway, "upstream_error", message)
    }

    /// 504 `upstream_timeout`.
    pub fn upstream_timeout() -> Self {
        Self::new(
            ErrorKind::GatewayTimeout,
            "upstream_timeout",
            "upstream did not answer in time",
        )
    }

    /// 503 `service_unavailable`.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, "service_unavailable", message)
    }

    /// 503 `rate_limiter_unavailable` with `Retry-After: 1`: the rate limiter could not be asked, so the
    /// request was not admitted (nothing was sent upstream).
    pub fn rate_limiter_unavailable() -> Self {
        Self::new(
            ErrorKind::Unavailable,
            "rate_limiter_unavailable",
            "the rate limiter did not answer in time; nothing was sent upstream, retry shortly",
        )
        .with_retry_after(1)
    }

    /// 503 `budget_unavailable` with `Retry-After: 1`: the budget ledger could not be asked, so the
    /// request was not admitted (nothing was sent upstream).
    pub fn budget_unavailable() -> Self {
        Self::new(
            ErrorKind::Unavailable,
            "budget_unavailable",
            "the budget ledger did not answer in time; nothing was sent upstream, retry shortly",
        )
        .with_retry_after(1)
    }

    /// The envelope `{"error":{"type","code","message","param","request_id"}}`.
    pub fn to_json(&self, request_id: &str) -> String {
        let body = Envelope {
            error: Body {
                kind: self.kind.error_type(),
                code: &self.code,
                message: &self.message,
                param: self.param.as_deref(),
                request_id,
            },
        };
        // Serializing a struct of strings cannot fail; the fallback only keeps this panic-free.
        serde_json::to_string(&body).unwrap_or_else(|_| {
            r#"{"error":{"type":"api_error","code":"internal_error","message":"internal error","param":null}}"#
                .to_owned()
        })
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    code: &'a str,
    message: &'a str,
    /// Always present, `null` when no field is at fault.
    param: Option<&'a str>,
    request_id: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn statuses_and_types_follow_the_api_table() {
        let cases = [
            (ErrorKind::BadRequest, 400, "invalid_request_error"),
            (ErrorKind::Unauthorized, 401, "authentication_error"),
            (ErrorKind::Forbidden, 403, "permission_error"),
            (ErrorKind::NotFound, 404, "not_found_error"),
            (ErrorKind::MethodNotAllowed, 405, "invalid_request_error"),
            (ErrorKind::Conflict, 409, "conflict_error"),
            (ErrorKind::PayloadTooLarge, 413, "invalid_request_error"),
            (
                ErrorKind::UnsupportedMediaType,
                415,
                "invalid_request_error",
            ),
            (ErrorKind::Unprocessable, 422, "invalid_request_error"),
            (ErrorKind::RateLimited, 429, "rate_limit_error"),
            (ErrorKind::Internal, 500, "api_error"),
            (ErrorKind::BadGateway, 502, "upstream_error"),
            (ErrorKind::Unavailable, 503, "service_unavailable"),
            (ErrorKind::GatewayTimeout, 504, "upstream_error"),
        ];
        for (kind, status, error_type) in cases {
            assert_eq!(kind.status(), status, "{kind:?}");
            assert_eq!(kind.error_type(), error_type, "{kind:?}");
        }
    }

    #[test]
    fn constructors_set_code_and_message() {
        let e = ApiError::invalid_field("name", "must be 1-64 characters");
        assert_eq!((e.status(), &*e.code), (400, "invalid_field"));
        assert_eq!(e.message, "name: must be 1-64 characters");

        let e = ApiError::missing_field("slug");
        assert_eq!((e.status(), &*e.code), (400, "missing_field"));
        assert_eq!(e.message, "slug: is required");

        let e = ApiError::unprocessable("expires_at", "must be in the future");
        assert_eq!((e.status(), &*e.code), (422, "invalid_value"));
        assert_eq!(e.message, "expires_at: must be in the future");

        let e = ApiError::not_found("org");
        assert_eq!(
            (e.status(), &*e.code, &*e.message),
            (404, "not_found", "org not found")
        );

        let e = ApiError::too_large(65536);
        assert_eq!((e.status(), &*e.code), (413, "body_too_large"));
        assert!(e.message.contains("65536"));

        assert_eq!(ApiError::method_not_allowed().status(), 405);
        assert_eq!(ApiError::route_not_found().code, "route_not_found");
        assert_eq!(ApiError::conflict("slug taken").status(), 409);
        assert_eq!(ApiError::unsupported_media_type().status(), 415);
        assert_eq!(ApiError::upstream_timeout().status(), 504);
    }

    #[test]
    fn internal_is_generic() {
        let e = ApiError::internal();
        assert_eq!((e.status(), &*e.code), (500, "internal_error"));
        assert_eq!(e.message, "internal error");
    }

    #[test]
    fn retry_after_is_carried() {
        let e = ApiError::rate_limited(7, "slow down");
        assert_eq!((e.status(), e.retry_after_secs), (429, Some(7)));
        assert_eq!(
            ApiError::unavailable("d1 down")
                .with_retry_after(3)
                .retry_after_secs,
            Some(3)
        );
        assert_eq!(ApiError::conflict("x").retry_after_secs, None);
    }

    #[test]
    fn to_json_renders_the_envelope() {
        let e = ApiError::unauthorized("invalid_api_key", "the API key is not valid");
        let v: Value = serde_json::from_str(&e.to_json("req_abc")).unwrap();
        assert_eq!(
            v,
            json!({"error": {
                "type": "authentication_error",
                "code": "invalid_api_key",
                "message": "the API key is not valid",
                "param": null,
                "request_id": "req_abc",
            }})
        );
    }

    /// OpenAI's published error schema requires `param` (null when none); SDKs read it.
    #[test]
    fn to_json_names_the_param_of_field_errors() {
        let v: Value =
            serde_json::from_str(&ApiError::invalid_field("max_tokens", "too big").to_json("r"))
                .unwrap();
        assert_eq!(v["error"]["param"], "max_tokens");
        let v: Value =
            serde_json::from_str(&ApiError::missing_field("model").to_json("r")).unwrap();
        assert_eq!(v["error"]["param"], "model");
        let v: Value = serde_json::from_str(&ApiError::not_found("key").to_json("r")).unwrap();
        assert!(v["error"].as_object().unwrap().contains_key("param"));
        assert_eq!(v["error"]["param"], Value::Null);
    }

    #[test]
    fn to_json_escapes_quotes_and_control_characters() {
        let e = ApiError::invalid_field("scopes[1]", "unknown scope \"ad\nmin\"");
        let text = e.to_json("req_\"x");
        assert!(!text.contains('\n'), "raw newline leaked: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v["error"]["message"],
            "scopes[1]: unknown scope \"ad\nmin\""
        );
        assert_eq!(v["error"]["request_id"], "req_\"x");
    }

    #[test]
    fn display_names_status_and_code() {
        let e = ApiError::not_found("key");
        assert_eq!(e.to_string(), "404 not_found: key not found");
        let boxed: Box<dyn std::error::Error> = Box::new(e);
        assert!(boxed.to_string().starts_with("404"));
    }
}
