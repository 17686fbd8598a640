//! [`EventEncoder`]: [`Delta`]s → our outbound Messages API SSE stream.

use envelope::ApiError;
use serde_json::{json, Value};

use crate::anthropic::error_type;
use crate::chat::{Delta, FinishReason, Usage};

/// Renders one message's stream with Anthropic's event names and order: `message_start`,
/// `content_block_start`, `ping`, `content_block_delta`…, `content_block_stop`,
/// `message_delta` (stop reason and usage), `message_stop`.
///
/// `message_start` reports `input_tokens` only when a usage delta came before it (else 0);
/// `message_delta` carries both counts, which the Anthropic SDKs take as final.
#[derive(Debug, Clone)]
pub struct EventEncoder {
    id: String,
    model: String,
    started: bool,
    block_open: bool,
    stop_reason: Option<FinishReason>,
    usage: Option<Usage>,
}

impl EventEncoder {
    /// `model_alias` is the model name the client asked for.
    pub fn new(id: impl Into<String>, model_alias: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            model: model_alias.into(),
            started: false,
            block_open: false,
            stop_reason: None,
            usage: None,
        }
    }

    /// The frames (`event: …\ndata: {…}\n\n`) for one delta; possibly none.
    pub fn encode(&mut self, delta: &Delta) -> Vec<String> {
        let mut frames = Vec::new();
        match delta {
            Delta::Start { .. } => self.start(&mut frames),
            Delta::Text(text) => {
                self.start(&mut frames);
                if !text.is_empty() {
                    let delta = json!({"type": "text_delta", "text": text});
                    frames.push(frame(
                        "content_block_delta",
                        &json!({"type": "content_block_delta", "index": 0, "delta": delta}),
                    ));
                }
            }
            Delta::Finish(reason) => {
                self.start(&mut frames);
                self.close_block(&mut frames);
                self.stop_reason = Some(reason.clone());
            }
            Delta::Usage(usage) => self.usage = Some(*usage),
        }
        frames
    }

    /// The end of a clean stream: `content_block_stop` if still open, `message_delta`,
    /// `message_stop` (and `message_start` first if nothing was sent yet).
    pub fn finish(&mut self) -> Vec<String> {
        let mut frames = Vec::new();
        self.start(&mut frames);
        self.close_block(&mut frames);
        let stop_reason = self
            .stop_reason
            .as_ref()
            .map_or("end_turn", FinishReason::as_anthropic);
        let usage = self.usage.unwrap_or_default();
        frames.push(frame(
            "message_delta",
            &json!({
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": null},
                "usage": {
                    "input_tokens": usage.prompt_tokens,
                    "output_tokens": usage.completion_tokens,
                },
            }),
        ));
        frames.push(frame("message_stop", &json!({"type": "message_stop"})));
        frames
    }

    /// The usage reported so far.
    pub fn usage(&self) -> Option<Usage> {
        self.usage
    }

    /// The frame sent when a stream fails midway: `event: error` with
    /// `{"type":"error","error":{"type","message"},"request_id"}`, as Anthropic sends it.
    /// Nothing follows it, so no client mistakes the cut stream for a complete message.
    pub fn error_frame(err: &ApiError, request_id: &str) -> String {
        frame(
            "error",
            &json!({
                "type": "error",
                "error": {"type": error_type(err.kind), "message": err.message},
                "request_id": request_id,
            }),
        )
    }

    fn start(&mut self, frames: &mut Vec<String>) {
        if std::mem::replace(&mut self.started, true) {
            return;
        }
        let input_tokens = self.usage.map_or(0, |usage| usage.prompt_tokens);
        let message = json!({
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": null,
            "stop_sequence": null,
            "usage": {"input_tokens": input_tokens, "output_tokens": 0},
        });
        frames.push(frame(
            "message_start",
            &json!({"type": "message_start", "message": message}),
        ));
        let block = json!({"type": "text", "text": ""});
        frames.push(frame(
            "content_block_start",
            &json!({"type": "content_block_start", "index": 0, "content_block": block}),
        ));
        frames.push(frame("ping", &json!({"type": "ping"})));
        self.block_open = true;
    }

    fn close_block(&mut self, frames: &mut Vec<String>) {
        if std::mem::replace(&mut self.block_open, false) {
            frames.push(frame(
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": 0}),
            ));
        }
    }
}

fn frame(name: &str, payload: &Value) -> String {
    sse::encode(Some(name), &payload.to_string())
}

#[cfg(test)]
mod tests;
