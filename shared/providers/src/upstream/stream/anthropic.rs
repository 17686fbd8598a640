//! Anthropic Messages stream events.

use serde_json::Value;

use super::{parse, str_at, State};
use crate::chat::{Delta, FinishReason, Usage};
use crate::upstream::classification::error_in_body;
use crate::upstream::response::anthropic_input_tokens;
use crate::upstream::UpstreamError;

pub(super) fn apply(
    state: &mut State,
    event: &sse::Event,
    deltas: &mut Vec<Delta>,
) -> Result<(), UpstreamError> {
    let payload = parse(&event.data)?;
    let kind = str_at(&payload, &["type"]).or(event.event.as_deref());
    match kind {
        Some("message_start") => start(state, &payload, deltas),
        Some("content_block_start")
            if str_at(&payload, &["content_block", "type"]) == Some("tool_use") =>
        {
            tool_start(state, &payload, deltas)
        }
        Some("content_block_start") => text(&payload, &["content_block", "text"], deltas),
        Some("content_block_delta")
            if str_at(&payload, &["delta", "type"]) == Some("text_delta") =>
        {
            text(&payload, &["delta", "text"], deltas)
        }
        Some("content_block_delta")
            if str_at(&payload, &["delta", "type"]) == Some("input_json_delta") =>
        {
            tool_args(state, &payload, deltas)
        }
        Some("message_delta") => message_delta(state, &payload, deltas),
        Some("message_stop") => {
            state.done = true;
            send_usage(state, deltas);
        }
        Some("error") => {
            return Err(error_in_body(&payload).unwrap_or(UpstreamError::Server {
                status: 500,
                message: String::new(),
            }))
        }
        // ping, content_block_stop, and non-text deltas (tool input, thinking, signatures).
        _ => {}
    }
    Ok(())
}

fn start(state: &mut State, payload: &Value, deltas: &mut Vec<Delta>) {
    let message = payload.get("message").unwrap_or(&Value::Null);
    if !std::mem::replace(&mut state.started, true) {
        deltas.push(Delta::Start {
            id: str_at(message, &["id"]).unwrap_or_default().to_owned(),
            model: str_at(message, &["model"]).unwrap_or_default().to_owned(),
        });
    }
    if let Some(usage) = message.get("usage") {
        state.usage = Some(Usage {
            prompt_tokens: anthropic_input_tokens(usage).unwrap_or(0),
            completion_tokens: output_tokens(usage).unwrap_or(0),
        });
    }
}

fn tool_start(state: &mut State, payload: &Value, deltas: &mut Vec<Delta>) {
    let block = payload.get("index").and_then(Value::as_u64).unwrap_or(0);
    let index = u32::try_from(state.tool_blocks.len()).unwrap_or(u32::MAX);
    state.tool_blocks.push(block);
    deltas.push(Delta::ToolCall {
        index,
        id: str_at(payload, &["content_block", "id"])
            .unwrap_or_default()
            .to_owned(),
        name: str_at(payload, &["content_block", "name"])
            .unwrap_or_default()
            .to_owned(),
    });
}

fn tool_args(state: &State, payload: &Value, deltas: &mut Vec<Delta>) {
    let block = payload.get("index").and_then(Value::as_u64).unwrap_or(0);
    let Some(index) = state.tool_blocks.iter().position(|b| *b == block) else {
        return;
    };
    match str_at(payload, &["delta", "partial_json"]) {
        Some(fragment) if !fragment.is_empty() => deltas.push(Delta::ToolArgs {
            index: u32::try_from(index).unwrap_or(u32::MAX),
            fragment: fragment.to_owned(),
        }),
        _ => {}
    }
}

fn text(payload: &Value, path: &[&str], deltas: &mut Vec<Delta>) {
    match str_at(payload, path) {
        Some(text) if !text.is_empty() => deltas.push(Delta::Text(text.to_owned())),
        _ => {}
    }
}

/// The stop reason, and the final output count; newer API versions repeat the (cumulative)
/// input counts here too, which then win.
fn message_delta(state: &mut State, payload: &Value, deltas: &mut Vec<Delta>) {
    if let Some(reason) = str_at(payload, &["delta", "stop_reason"]) {
        deltas.push(Delta::Finish(FinishReason::from_anthropic(reason)));
    }
    let Some(usage) = payload.get("usage") else {
        return;
    };
    let mut total = state.usage.unwrap_or_default();
    if let Some(input) = anthropic_input_tokens(usage) {
        total.prompt_tokens = input;
    }
    if let Some(output) = output_tokens(usage) {
        total.completion_tokens = output;
    }
    state.usage = Some(total);
    send_usage(state, deltas);
}

fn send_usage(state: &mut State, deltas: &mut Vec<Delta>) {
    if let (false, Some(usage)) = (state.usage_sent, state.usage) {
        state.usage_sent = true;
        deltas.push(Delta::Usage(usage));
    }
}

fn output_tokens(usage: &Value) -> Option<u64> {
    usage.get("output_tokens").and_then(Value::as_u64)
}
