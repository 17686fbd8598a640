//! [`ChatResponse`] → the `chat.completion` object.

use serde_json::{json, Value};

use crate::chat::tools::openai::calls_json;
use crate::chat::{ChatResponse, Usage};

/// A `chat.completion` object as the OpenAI SDKs read it; `model` is the alias the client
/// asked for, not the upstream's model name.
pub fn render_response(resp: &ChatResponse, model_alias: &str) -> Value {
    let choices: Vec<Value> = resp
        .choices
        .iter()
        .map(|choice| {
            let content = if choice.text.is_empty() && !choice.tool_calls.is_empty() {
                Value::Null
            } else {
                json!(choice.text)
            };
            let mut message = json!({"role": "assistant", "content": content, "refusal": null});
            if let (false, Some(map)) = (choice.tool_calls.is_empty(), message.as_object_mut()) {
                map.insert("tool_calls".into(), calls_json(&choice.tool_calls));
            }
            json!({
                "index": choice.index,
                "message": message,
                "logprobs": null,
                "finish_reason": choice.finish_reason.as_openai(),
            })
        })
        .collect();
    json!({
        "id": resp.id,
        "object": "chat.completion",
        "created": resp.created,
        "model": model_alias,
        "choices": choices,
        "usage": usage_json(&resp.usage),
    })
}

/// `{"prompt_tokens","completion_tokens","total_tokens"}`.
pub(crate) fn usage_json(usage: &Usage) -> Value {
    json!({
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{Choice, FinishReason};

    #[test]
    fn renders_a_chat_completion() {
        let resp = ChatResponse {
            id: "chatcmpl-1".into(),
            model: "gpt-4o-mini-2024-07-18".into(),
            created: 1_700_000_000,
            choices: vec![Choice {
                index: 0,
                text: "Hi!".into(),
                tool_calls: Vec::new(),
                finish_reason: FinishReason::Length,
            }],
            usage: Usage {
                prompt_tokens: 9,
                completion_tokens: 2,
            },
        };
        assert_eq!(
            render_response(&resp, "fast"),
            json!({
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": "fast",
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hi!", "refusal": null},
                    "logprobs": null,
                    "finish_reason": "length",
                }],
                "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
            })
        );
    }
}
