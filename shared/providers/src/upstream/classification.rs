//! Failed responses → [`UpstreamError`], from the status, `Retry-After` and either provider's
//! error body (`{"error":{"type","code","message"}}` or `{"type":"error","error":{…}}`).

use serde_json::Value;

use super::UpstreamError;

/// Longest provider message kept (for logs).
const MAX_MESSAGE_CHARS: usize = 500;

/// Longest wait we believe a provider means (a day); anything longer is clamped.
const MAX_RETRY_AFTER_MS: u64 = 86_400_000;

/// Classifies a non-2xx answer. `retry_after` is the `Retry-After` header in seconds
/// (decimals allowed; the HTTP-date form is ignored).
pub fn classify(status: u16, retry_after: Option<&str>, body: &[u8]) -> UpstreamError {
    let retry_after_ms = retry_after.and_then(|value| parse_ms(value, 1000.0));
    from_parts(status, retry_after_ms, &error_info(body))
}

/// [`classify`] reading the headers itself: `retry-after-ms` (OpenAI) wins over `retry-after`.
pub fn classify_with_headers(
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> UpstreamError {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    };
    let retry_after_ms = header("retry-after-ms")
        .and_then(|value| parse_ms(value, 1.0))
        .or_else(|| header("retry-after").and_then(|value| parse_ms(value, 1000.0)));
    from_parts(status, retry_after_ms, &error_info(body))
}

/// An error object inside a 2xx body or a stream (`{"error":{…}}`, `{"type":"error",…}`),
/// classified by its type since there is no status to go by.
pub(crate) fn error_in_body(value: &Value) -> Option<UpstreamError> {
    let is_error = value.get("type").and_then(Value::as_str) == Some("error")
        || value.get("error").is_some_and(|e| !e.is_null());
    if !is_error {
        return None;
    }
    let info = info_from_value(value);
    let status = status_for(info.kind.as_deref(), info.code.as_deref());
    Some(from_parts(status, None, &info))
}

/// What an error body says.
#[derive(Debug, Default)]
struct ErrorInfo {
    kind: Option<String>,
    code: Option<String>,
    message: String,
}

fn error_info(body: &[u8]) -> ErrorInfo {
    serde_json::from_slice::<Value>(body)
        .map(|value| info_from_value(&value))
        .unwrap_or_default()
}

fn info_from_value(value: &Value) -> ErrorInfo {
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let inner = value.get("error");
    let source = match inner {
        Some(obj @ Value::Object(_)) => obj,
        _ => value,
    };
    let message = text(source.get("message"))
        .or_else(|| text(inner))
        .or_else(|| text(value.get("detail")))
        .unwrap_or_default();
    let kind = text(source.get("type")).filter(|kind| kind != "error");
    ErrorInfo {
        kind,
        code: text(source.get("code")),
        message: message.chars().take(MAX_MESSAGE_CHARS).collect(),
    }
}

fn from_parts(status: u16, retry_after_ms: Option<u64>, info: &ErrorInfo) -> UpstreamError {
    let message = info.message.clone();
    let kind = info.kind.as_deref().unwrap_or_default();
    let code = info.code.as_deref().unwrap_or_default();
    if (400..500).contains(&status) && is_content_policy(kind, code, &message) {
        return UpstreamError::ContentPolicy { message };
    }
    match status {
        // Out of quota: not a rate limit, retrying cannot help.
        429 if code == "insufficient_quota" || kind == "insufficient_quota" => {
            UpstreamError::Auth { status, message }
        }
        429 => UpstreamError::RateLimited {
            retry_after_ms,
            message,
        },
        401 | 403 => UpstreamError::Auth { status, message },
        404 => UpstreamError::NotFound { message },
        408 => UpstreamError::Timeout,
        503 | 529 => UpstreamError::Overloaded {
            status,
            retry_after_ms,
            message,
        },
        _ if kind == "overloaded_error" => UpstreamError::Overloaded {
            status,
            retry_after_ms,
            message,
        },
        500..=599 => UpstreamError::Server { status, message },
        400..=499 => UpstreamError::BadRequest { status, message },
        _ => UpstreamError::Malformed {
            detail: format!("unexpected status {status}"),
        },
    }
}

fn is_content_policy(kind: &str, code: &str, message: &str) -> bool {
    const CODES: &[&str] = &[
        "content_policy_violation",
        "content_filter",
        "invalid_prompt",
        // OpenAI's image models when their moderation refuses a prompt.
        "moderation_blocked",
    ];
    const PHRASES: &[&str] = &[
        "content management policy",
        "content filtering policy",
        "content policy",
        "usage policy",
        "safety system",
        // Ideogram: "Prompt failed the safety check".
        "safety check",
    ];
    let message = message.to_ascii_lowercase();
    CODES.contains(&code) || CODES.contains(&kind) || PHRASES.iter().any(|p| message.contains(p))
}

/// The status a typed error without one stands for.
fn status_for(kind: Option<&str>, code: Option<&str>) -> u16 {
    match (kind.unwrap_or_default(), code.unwrap_or_default()) {
        (_, "rate_limit_exceeded" | "insufficient_quota") => 429,
        ("invalid_request_error", _) => 400,
        ("authentication_error", _) => 401,
        ("permission_error", _) => 403,
        ("not_found_error", _) => 404,
        ("request_too_large", _) => 413,
        ("rate_limit_error" | "requests" | "tokens" | "insufficient_quota", _) => 429,
        ("overloaded_error", _) => 529,
        ("timeout_error", _) => 504,
        _ => 500,
    }
}

/// A non-negative decimal number of `unit` milliseconds, rounded up, clamped to a day.
fn parse_ms(value: &str, unit: f64) -> Option<u64> {
    let number: f64 = value.trim().parse().ok()?;
    if !number.is_finite() || number < 0.0 {
        return None;
    }
    let ms = (number * unit).ceil().min(MAX_RETRY_AFTER_MS as f64);
    // In range by construction: 0 ≤ ms ≤ a day.
    Some(ms as u64)
}

#[cfg(test)]
mod tests;
