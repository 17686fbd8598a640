//! Responses in the caller's wire format. Ids and timestamps follow the caller's format and the request,
//! not the upstream: an OpenAI caller gets `chatcmpl-<request>` in a stream and in a whole response alike,
//! an Anthropic caller `msg_<request>`, whichever provider answered. A cached answer keeps the id of the
//! request that produced it (it is the same completion), in the format of the caller it is replayed to.

use providers::chat::ChatResponse;
use serde_json::Value;

use crate::plan::Format;
use crate::seed;

/// The response (or stream) id for a request: the same in every chunk and in the whole response.
pub fn response_id(format: Format, request_id: &str) -> String {
    let bare = bare_id(request_id);
    match format {
        Format::Anthropic => format!("msg_{bare}"),
        Format::Responses => format!("resp_{bare}"),
        Format::OpenAi | Format::Seed => format!("chatcmpl-{bare}"),
    }
}

/// The format-neutral part of an id: `req_…`, `chatcmpl-…` and `msg_…` prefixes removed. What a whole
/// answer's `ChatResponse::id` holds once it is ours (see [`own`]).
pub fn bare_id(id: &str) -> &str {
    ["req_", "chatcmpl-", "msg_", "resp_"]
        .iter()
        .find_map(|p| id.strip_prefix(p))
        .unwrap_or(id)
}

/// Makes a fresh upstream answer this request's: its id becomes the request's (bare).
pub fn own(response: &mut ChatResponse, request_id: &str) {
    response.id = bare_id(request_id).to_string();
}

/// The body of a whole (non-streamed) answer, whose id was made ours by [`own`]. `model` is the name the
/// caller used; `now_s` stands in for an upstream that gave no `created` time.
pub fn render(
    format: Format,
    response: &ChatResponse,
    model: &str,
    request_id: &str,
    now_s: i64,
) -> Value {
    let mut response = response.clone();
    response.id = response_id(format, &response.id);
    match format {
        Format::OpenAi => {
            if response.created <= 0 {
                response.created = now_s;
            }
            providers::openai::render_response(&response, model)
        }
        Format::Anthropic => providers::anthropic::render_response(&response, model),
        Format::Responses => providers::responses::render_response(&response, model, now_s),
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
        .unwrap();
        let mut response = response;
        own(&mut response, "req_abc");
        let body = render(Format::OpenAi, &response, "alias", "req_abc", 77);
        assert_eq!(body["id"], "chatcmpl-abc");
        assert_eq!(body["created"], 77);
        let body = render(Format::Anthropic, &response, "alias", "req_abc", 77);
        assert_eq!(body["id"], "msg_abc");
        let body = render(Format::Responses, &response, "alias", "req_abc", 77);
        assert_eq!(body["id"], "resp_abc");
        assert_eq!(response_id(Format::Responses, "req_abc"), "resp_abc");
        // Replayed from the cache to another request: the producing request's id.
        let body = render(Format::OpenAi, &response, "alias", "req_other", 77);
        assert_eq!(body["id"], "chatcmpl-abc");
    }
}
