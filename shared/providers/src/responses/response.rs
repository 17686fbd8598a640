//! [`ChatResponse`] → the Responses API `response` object.

use serde_json::{json, Value};

use crate::chat::{ChatResponse, FinishReason, ToolCall, Usage};

/// The id of the message item of response `id` (`resp_…`), and of its `index`-th function call.
pub(crate) fn message_id(id: &str) -> String {
    format!("msg_{}", bare(id))
}

pub(crate) fn call_item_id(id: &str, index: usize) -> String {
    format!("fc_{}_{index}", bare(id))
}

fn bare(id: &str) -> &str {
    id.strip_prefix("resp_").unwrap_or(id)
}

/// A `response` object as the OpenAI SDKs read it: `id` is the response id (`resp_…`), `model` the alias
/// the client asked for. Output: the message (when there is text, or nothing else), then one
/// `function_call` item per call. A reply cut by its token limit is `incomplete` with reason
/// `max_output_tokens`.
pub fn render_response(resp: &ChatResponse, model_alias: &str, created_at: i64) -> Value {
    let choice = resp.choices.first();
    let text = resp.text();
    let calls = choice.map(|c| c.tool_calls.as_slice()).unwrap_or_default();
    let mut output = Vec::with_capacity(1 + calls.len());
    if !text.is_empty() || calls.is_empty() {
        output.push(message_item(&resp.id, text, "completed"));
    }
    output.extend(
        calls
            .iter()
            .enumerate()
            .map(|(i, call)| call_item(&resp.id, i, call, "completed")),
    );
    response_object(
        &resp.id,
        model_alias,
        created_at,
        &resp.finish_reason(),
        output,
        Some(&resp.usage),
    )
}

pub(crate) fn message_item(id: &str, text: &str, status: &str) -> Value {
    json!({
        "type": "message",
        "id": message_id(id),
        "status": status,
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    })
}

pub(crate) fn call_item(id: &str, index: usize, call: &ToolCall, status: &str) -> Value {
    json!({
        "type": "function_call",
        "id": call_item_id(id, index),
        "call_id": call.id,
        "name": call.name,
        "arguments": call.arguments,
        "status": status,
    })
}

/// The envelope around `output`; `usage` is `None` while a stream is in progress.
pub(crate) fn response_object(
    id: &str,
    model_alias: &str,
    created_at: i64,
    finish: &FinishReason,
    output: Vec<Value>,
    usage: Option<&Usage>,
) -> Value {
    let (status, incomplete) = match (usage, finish) {
        (None, _) => ("in_progress", Value::Null),
        (Some(_), FinishReason::Length) => ("incomplete", json!({"reason": "max_output_tokens"})),
        (Some(_), FinishReason::ContentFilter) => {
            ("incomplete", json!({"reason": "content_filter"}))
        }
        (Some(_), _) => ("completed", Value::Null),
    };
    json!({
        "id": id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "error": null,
        "incomplete_details": incomplete,
        "instructions": null,
        "max_output_tokens": null,
        "model": model_alias,
        "output": output,
        "parallel_tool_calls": true,
        "previous_response_id": null,
        "reasoning": {"effort": null, "summary": null},
        "store": false,
        "temperature": null,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": null,
        "truncation": "disabled",
        "usage": usage.map(usage_json),
        "metadata": {},
    })
}

fn usage_json(usage: &Usage) -> Value {
    json!({
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.total_tokens(),
    })
}
