//! [`ChunkEncoder`]: [`Delta`]s → our outbound `chat.completion.chunk` SSE frames.

use envelope::ApiError;
use serde_json::{json, Value};

use crate::chat::{Delta, FinishReason, Usage};
use crate::openai::usage_json;

/// Renders one completion's stream the way OpenAI does: a first chunk carrying
/// `role: "assistant"`, content chunks, a chunk with `finish_reason`, then (when the client
/// set `stream_options.include_usage`) a usage chunk with `"choices": []`, then `[DONE]`.
#[derive(Debug, Clone)]
pub struct ChunkEncoder {
    id: String,
    model: String,
    created: i64,
    include_usage: bool,
    started: bool,
    usage: Option<Usage>,
}

impl ChunkEncoder {
    /// `model_alias` is the model name the client asked for; `created` is Unix seconds.
    pub fn new(
        id: impl Into<String>,
        model_alias: impl Into<String>,
        created: i64,
        include_usage: bool,
    ) -> Self {
        Self {
            id: id.into(),
            model: model_alias.into(),
            created,
            include_usage,
            started: false,
            usage: None,
        }
    }

    /// The frames (`data: {…}\n\n`) for one delta; possibly none.
    pub fn encode(&mut self, delta: &Delta) -> Vec<String> {
        let mut frames = Vec::new();
        match delta {
            Delta::Start { .. } => self.start(&mut frames),
            Delta::Text(text) => {
                self.start(&mut frames);
                if !text.is_empty() {
                    frames.push(self.chunk(json!({"content": text}), None));
                }
            }
            Delta::ToolCall { index, id, name } => {
                self.start(&mut frames);
                let call = json!({"index": index, "id": id, "type": "function",
                                  "function": {"name": name, "arguments": ""}});
                frames.push(self.chunk(json!({"tool_calls": [call]}), None));
            }
            Delta::ToolArgs { index, fragment } => {
                self.start(&mut frames);
                if !fragment.is_empty() {
                    let call = json!({"index": index, "function": {"arguments": fragment}});
                    frames.push(self.chunk(json!({"tool_calls": [call]}), None));
                }
            }
            Delta::Finish(reason) => {
                self.start(&mut frames);
                frames.push(self.chunk(json!({}), Some(reason)));
            }
            // Held for the final chunk: OpenAI sends usage once, last, and some compatible
            // servers report it on every chunk.
            Delta::Usage(usage) => self.usage = Some(*usage),
        }
        frames
    }

    /// The end of a clean stream: the usage chunk (when asked for and known), then
    /// `data: [DONE]\n\n`.
    pub fn done(&self) -> String {
        let mut out = String::new();
        if let (true, Some(usage)) = (self.include_usage, &self.usage) {
            let chunk = json!({
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [],
                "usage": usage_json(usage),
            });
            out.push_str(&sse::encode_data(&chunk.to_string()));
        }
        out.push_str(&sse::encode_data("[DONE]"));
        out
    }

    /// The usage reported so far.
    pub fn usage(&self) -> Option<Usage> {
        self.usage
    }

    /// The frame sent when a stream fails midway: `data: {"error":{…}}` with our envelope.
    /// The OpenAI SDKs raise on it; it is never followed by `[DONE]`, so no client mistakes
    /// the cut stream for a complete answer.
    pub fn error_frame(err: &ApiError, request_id: &str) -> String {
        sse::encode_data(&err.to_json(request_id))
    }

    fn start(&mut self, frames: &mut Vec<String>) {
        if !std::mem::replace(&mut self.started, true) {
            frames.push(self.chunk(json!({"role": "assistant", "content": ""}), None));
        }
    }

    fn chunk(&self, delta: Value, finish: Option<&FinishReason>) -> String {
        let mut chunk = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{
                "index": 0,
                "delta": delta,
                "logprobs": null,
                "finish_reason": finish.map(FinishReason::as_openai),
            }],
        });
        if let (true, Some(object)) = (self.include_usage, chunk.as_object_mut()) {
            object.insert("usage".into(), Value::Null);
        }
        sse::encode_data(&chunk.to_string())
    }
}

#[cfg(test)]
mod tests;
