//! OpenAI `chat.completion.chunk` events.

use serde_json::Value;

use super::{parse, str_at, State};
use crate::chat::{Delta, FinishReason};
use crate::upstream::classification::error_in_body;
use crate::upstream::response::openai_usage;
use crate::upstream::UpstreamError;

pub(super) fn apply(
    state: &mut State,
    event: &sse::Event,
    deltas: &mut Vec<Delta>,
) -> Result<(), UpstreamError> {
    if event.data.trim() == "[DONE]" {
        state.done = true;
        return Ok(());
    }
    let chunk = parse(&event.data)?;
    if let Some(err) = error_in_body(&chunk) {
        return Err(err);
    }
    if event.event.as_deref() == Some("error") {
        return Err(UpstreamError::Server {
            status: 500,
            message: event.data.chars().take(200).collect(),
        });
    }
    if !std::mem::replace(&mut state.started, true) {
        deltas.push(Delta::Start {
            id: str_at(&chunk, &["id"]).unwrap_or_default().to_owned(),
            model: str_at(&chunk, &["model"]).unwrap_or_default().to_owned(),
        });
    }
    // One choice only: requests with `n` > 1 are refused at parse time.
    if let Some(choice) = chunk
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|choices| choices.first())
    {
        choice_deltas(choice, deltas);
    }
    if let Some(usage) = chunk.get("usage").and_then(openai_usage) {
        state.usage = Some(usage);
        deltas.push(Delta::Usage(usage));
    }
    Ok(())
}

/// Text (content, or a refusal), tool calls and the finish reason of one choice.
fn choice_deltas(choice: &Value, deltas: &mut Vec<Delta>) {
    for key in ["content", "refusal"] {
        match str_at(choice, &["delta", key]) {
            Some(text) if !text.is_empty() => deltas.push(Delta::Text(text.to_owned())),
            _ => {}
        }
    }
    let calls = choice
        .get("delta")
        .and_then(|d| d.get("tool_calls"))
        .and_then(Value::as_array);
    for (position, call) in calls.into_iter().flatten().enumerate() {
        tool_call_deltas(call, position, deltas);
    }
    if let Some(reason) = str_at(choice, &["finish_reason"]) {
        deltas.push(Delta::Finish(FinishReason::from_openai(reason)));
    }
}

/// One `tool_calls` entry of a delta: the call's first fragment carries its id and name, later ones
/// pieces of its arguments.
fn tool_call_deltas(call: &Value, position: usize, deltas: &mut Vec<Delta>) {
    let index = call
        .get("index")
        .and_then(Value::as_u64)
        .and_then(|i| u32::try_from(i).ok())
        .unwrap_or(u32::try_from(position).unwrap_or(u32::MAX));
    if let (Some(id), Some(name)) = (str_at(call, &["id"]), str_at(call, &["function", "name"])) {
        deltas.push(Delta::ToolCall {
            index,
            id: id.to_owned(),
            name: name.to_owned(),
        });
    }
    match str_at(call, &["function", "arguments"]) {
        Some(fragment) if !fragment.is_empty() => deltas.push(Delta::ToolArgs {
            index,
            fragment: fragment.to_owned(),
        }),
        _ => {}
    }
}
