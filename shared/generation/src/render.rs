//! Responses in the caller's wire format. Ids and timestamps follow the caller's format and the request,
//! not the upstream: an OpenAI caller gets `chatcmpl-<request>` in a stream and in a whole response alike,
//! an Anthropic caller `msg_<request>`, whichever provider answered.

use providers::chat::ChatResponse;
use serde_json::Value;

use crate::plan::Format;
use crate::seed;

/// The response (or stream) id for a request: the same in every chunk and in the whole response.
pub fn response_id(format: Format, request_id: &str) -> String {
    let bare = request_id.trim_start_matches("req_");
    match format {
        Format::Anthropic => format!("msg_{bare}"),
        Format::OpenAi | Format::Seed => format!("chatcmpl-{bare}"),
    }
}

/// The body of a whole (non-streamed) answer. `model` is the name the caller used; `now_s` stands in
/// for an upstream that gave no `created` time.
pub fn render(
    format: Format,
    response: &ChatResponse,
    model: &str,
    request_id: &str,
    now_s: i64,
) -> Value {
    let mut response = response.clone();
    response.id = response_id(format, request_id);
    match format {
        Format::OpenAi => {
            if response.created <= 0 {
                response.created = now_s;
            }
            providers::openai::render_response(&response, model)
        }
        Format::Anthropic => providers::anthropic::render_response(&response, model),
        Format::Seed => seed::render_response(&response, model, request_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_and_whole_ids_agree() {
        assert_eq!(response_id(Format::OpenAi, "req_abc"), "chatcmpl-abc");
        assert_eq!(response_id(Format::Anthropic, "req_abc"), "msg_abc");
        let response: ChatResponse = serde_json::from_value(serde_json::json!({
            "id": "chatcmpl-upstream", "created": 0, "model": "m",
            "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let body = render(Format::OpenAi, &response, "alias", "req_abc", 77);
        assert_eq!(body["id"], "chatcmpl-abc");
        assert_eq!(body["created"], 77);
        let body = render(Format::Anthropic, &response, "alias", "req_abc", 77);
        assert_eq!(body["id"], "msg_abc");
    }
}
