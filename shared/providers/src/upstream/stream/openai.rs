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

/// Text (content, or a refusal) and the finish reason of one choice.
fn choice_deltas(choice: &Value, deltas: &mut Vec<Delta>) {
    for key in ["content", "refusal"] {
        match str_at(choice, &["delta", key]) {
            Some(text) if !text.is_empty() => deltas.push(Delta::Text(text.to_owned())),
            _ => {}
        }
    }
    if let Some(reason) = str_at(choice, &["finish_reason"]) {
        deltas.push(Delta::Finish(FinishReason::from_openai(reason)));
    }
}
