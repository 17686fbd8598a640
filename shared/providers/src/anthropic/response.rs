//! [`ChatResponse`] → the Messages API `message` object.

use envelope::ErrorKind;
use serde_json::{json, Value};

use crate::chat::tools::anthropic::response_block;
use crate::chat::ChatResponse;

/// A `message` object as the Anthropic SDKs read it; `model` is the alias the client asked for. The
/// text block comes first (left out when empty and the model only called tools), then one `tool_use`
/// block per call.
pub fn render_response(resp: &ChatResponse, model_alias: &str) -> Value {
    let calls = resp
        .choices
        .first()
        .map(|c| c.tool_calls.as_slice())
        .unwrap_or_default();
    let mut content = Vec::with_capacity(1 + calls.len());
    if !resp.text().is_empty() || calls.is_empty() {
        content.push(json!({"type": "text", "text": resp.text()}));
    }
    content.extend(calls.iter().map(response_block));
    json!({
        "id": resp.id,
        "type": "message",
        "role": "assistant",
        "model": model_alias,
        "content": content,
        "stop_reason": resp.finish_reason().as_anthropic(),
        "stop_sequence": null,
        "usage": {
            "input_tokens": resp.usage.prompt_tokens,
            "output_tokens": resp.usage.completion_tokens,
        },
    })
}

/// Anthropic's `error.type` for one of our error kinds.
pub(crate) fn error_type(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::BadRequest
        | ErrorKind::MethodNotAllowed
        | ErrorKind::Conflict
        | ErrorKind::UnsupportedMediaType
        | ErrorKind::Unprocessable => "invalid_request_error",
        ErrorKind::Unauthorized => "authentication_error",
        ErrorKind::Forbidden => "permission_error",
        ErrorKind::NotFound => "not_found_error",
        ErrorKind::PayloadTooLarge => "request_too_large",
        ErrorKind::RateLimited => "rate_limit_error",
        // Anthropic's own name for a spend limit (still a 429: its SDKs raise RateLimitError).
        ErrorKind::InsufficientQuota => "billing_error",
        ErrorKind::Unavailable => "overloaded_error",
        ErrorKind::Internal | ErrorKind::BadGateway | ErrorKind::GatewayTimeout => "api_error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{Choice, FinishReason, Usage};

    #[test]
    fn renders_a_message() {
        let resp = ChatResponse {
            id: "chatcmpl-9".into(),
            model: "gpt-4o".into(),
            created: 0,
            choices: vec![Choice {
                index: 0,
                text: "Hello".into(),
                tool_calls: Vec::new(),
                finish_reason: FinishReason::Length,
            }],
            usage: Usage {
                prompt_tokens: 12,
                completion_tokens: 3,
            },
        };
        assert_eq!(
            render_response(&resp, "smart"),
            json!({
                "id": "chatcmpl-9",
                "type": "message",
                "role": "assistant",
                "model": "smart",
                "content": [{"type": "text", "text": "Hello"}],
                "stop_reason": "max_tokens",
                "stop_sequence": null,
                "usage": {"input_tokens": 12, "output_tokens": 3},
            })
        );
    }

    #[test]
    fn error_types_follow_anthropic_names() {
        assert_eq!(error_type(ErrorKind::RateLimited), "rate_limit_error");
        assert_eq!(error_type(ErrorKind::BadGateway), "api_error");
        assert_eq!(
            error_type(ErrorKind::Unprocessable),
            "invalid_request_error"
        );
    }
}
