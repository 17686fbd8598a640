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
    /// The index of the open content block, if one is open.
    open: Option<u32>,
    /// Whether the open block is a text block.
    open_is_text: bool,
    /// The index the next block gets.
    next_block: u32,
    /// The block index of each tool call, by the call's index.
    tool_blocks: Vec<u32>,
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
            open: None,
            open_is_text: false,
            next_block: 0,
            tool_blocks: Vec::new(),
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
                    if !self.open_is_text {
                        self.open_block(&mut frames, json!({"type": "text", "text": ""}), true);
                    }
                    let index = self.open.unwrap_or_default();
                    let delta = json!({"type": "text_delta", "text": text});
                    frames.push(frame(
                        "content_block_delta",
                        &json!({"type": "content_block_delta", "index": index, "delta": delta}),
                    ));
                }
            }
            Delta::ToolCall { index, id, name } => {
                self.start(&mut frames);
                let block = json!({"type": "tool_use", "id": id, "name": name, "input": {}});
                let at = self.open_block(&mut frames, block, false);
                let slot = *index as usize;
                if self.tool_blocks.len() <= slot {
                    self.tool_blocks.resize(slot + 1, at);
                }
                if let Some(b) = self.tool_blocks.get_mut(slot) {
                    *b = at;
                }
            }
            Delta::ToolArgs { index, fragment } => {
                self.start(&mut frames);
                let block = self.tool_blocks.get(*index as usize).copied();
                if let (Some(block), false) = (block, fragment.is_empty()) {
                    let delta = json!({"type": "input_json_delta", "partial_json": fragment});
                    frames.push(frame(
                        "content_block_delta",
                        &json!({"type": "content_block_delta", "index": block, "delta": delta}),
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
        self.open = Some(0);
        self.open_is_text = true;
        self.next_block = 1;
    }

    /// Closes the open block and opens `block` as the next one; returns its index.
    fn open_block(&mut self, frames: &mut Vec<String>, block: Value, text: bool) -> u32 {
        self.close_block(frames);
        let index = self.next_block;
        self.next_block += 1;
        frames.push(frame(
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": block}),
        ));
        self.open = Some(index);
        self.open_is_text = text;
        index
    }

    fn close_block(&mut self, frames: &mut Vec<String>) {
        if let Some(index) = self.open.take() {
            self.open_is_text = false;
            frames.push(frame(
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": index}),
            ));
        }
    }
}

fn frame(name: &str, payload: &Value) -> String {
    sse::encode(Some(name), &payload.to_string())
}

#[cfg(test)]
mod tests;
