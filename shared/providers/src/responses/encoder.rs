//! [`ResponseEncoder`]: [`Delta`]s → the Responses API event stream.

use envelope::ApiError;
use serde_json::{json, Value};

use super::response::{call_item, call_item_id, message_id, message_item, response_object};
use crate::chat::{Delta, FinishReason, ToolCall, Usage};

/// One output item of the stream.
#[derive(Debug, Clone)]
enum Item {
    Text {
        output_index: usize,
        text: String,
    },
    Call {
        output_index: usize,
        index: usize,
        call: ToolCall,
    },
}

/// Renders one response's stream with the Responses API's events, in its order: `response.created`,
/// `response.in_progress`, then per output item `response.output_item.added`, its deltas
/// (`response.content_part.added` + `response.output_text.delta`…, or
/// `response.function_call_arguments.delta`…) and its closing events (`….done`,
/// `response.output_item.done`), then `response.completed` (or `response.incomplete` when the token
/// limit cut it) carrying the whole response with its usage. Every event has a `sequence_number`.
#[derive(Debug, Clone)]
pub struct ResponseEncoder {
    id: String,
    model: String,
    created_at: i64,
    sequence: u64,
    started: bool,
    open: Option<Item>,
    /// Closed items, as the final response lists them.
    done: Vec<Value>,
    /// Output index of each tool call, by the call's index.
    calls: Vec<(u32, usize)>,
    next_output: usize,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
}

impl ResponseEncoder {
    /// `id` is the response id (`resp_…`); `model_alias` the name the client asked for.
    pub fn new(id: impl Into<String>, model_alias: impl Into<String>, created_at: i64) -> Self {
        Self {
            id: id.into(),
            model: model_alias.into(),
            created_at,
            sequence: 0,
            started: false,
            open: None,
            done: Vec::new(),
            calls: Vec::new(),
            next_output: 0,
            finish: None,
            usage: None,
        }
    }

    /// The frames for one delta; possibly none.
    pub fn encode(&mut self, delta: &Delta) -> Vec<String> {
        let mut frames = Vec::new();
        self.start(&mut frames);
        match delta {
            Delta::Start { .. } => {}
            Delta::Text(text) if text.is_empty() => {}
            Delta::Text(text) => {
                if !matches!(self.open, Some(Item::Text { .. })) {
                    self.open_text(&mut frames);
                }
                if let Some(Item::Text {
                    output_index,
                    text: all,
                }) = &mut self.open
                {
                    all.push_str(text);
                    let output_index = *output_index;
                    let payload = json!({"item_id": message_id(&self.id), "output_index": output_index,
                                         "content_index": 0, "delta": text, "logprobs": []});
                    frames.push(self.event("response.output_text.delta", payload));
                }
            }
            Delta::ToolCall { index, id, name } => {
                self.close(&mut frames);
                let output_index = self.take_output_index();
                let slot = self.calls.len();
                let call = ToolCall {
                    id: id.clone(),
                    name: name.clone(),
                    arguments: String::new(),
                };
                let item = call_item(&self.id, slot, &call, "in_progress");
                frames.push(self.event(
                    "response.output_item.added",
                    json!({"output_index": output_index, "item": item}),
                ));
                self.calls.push((*index, output_index));
                self.open = Some(Item::Call {
                    output_index,
                    index: slot,
                    call,
                });
            }
            Delta::ToolArgs { index, fragment } => {
                let target = self
                    .calls
                    .iter()
                    .find(|(i, _)| i == index)
                    .map(|(_, output)| *output);
                if let Some(Item::Call {
                    output_index,
                    index: slot,
                    call,
                }) = &mut self.open
                {
                    if Some(*output_index) == target && !fragment.is_empty() {
                        call.arguments.push_str(fragment);
                        let payload = json!({"item_id": call_item_id(&self.id, *slot),
                                             "output_index": *output_index, "delta": fragment});
                        frames.push(self.event("response.function_call_arguments.delta", payload));
                    }
                }
            }
            Delta::Finish(reason) => self.finish = Some(reason.clone()),
            Delta::Usage(usage) => self.usage = Some(*usage),
        }
        frames
    }

    /// The end of a clean stream: the open item's closing events, then `response.completed` (or
    /// `response.incomplete`) with the whole response.
    pub fn finish(&mut self) -> Vec<String> {
        let mut frames = Vec::new();
        self.start(&mut frames);
        self.close(&mut frames);
        if self.done.is_empty() {
            // Nothing was generated: an empty message, as a whole response would have.
            self.open_text(&mut frames);
            self.close(&mut frames);
        }
        let finish = self.finish.clone().unwrap_or(FinishReason::Stop);
        let usage = self.usage.unwrap_or_default();
        let response = response_object(
            &self.id,
            &self.model,
            self.created_at,
            &finish,
            self.done.clone(),
            Some(&usage),
        );
        let name = if response.get("status").and_then(Value::as_str) == Some("incomplete") {
            "response.incomplete"
        } else {
            "response.completed"
        };
        frames.push(self.event(name, json!({"response": response})));
        frames
    }

    /// The usage reported so far.
    pub fn usage(&self) -> Option<Usage> {
        self.usage
    }

    /// The frame sent when a stream fails midway: an `error` event with our envelope's code and message
    /// (the OpenAI SDKs raise on it). Nothing follows it.
    pub fn error_frame(&self, err: &ApiError, request_id: &str) -> String {
        let payload = json!({
            "type": "error",
            "sequence_number": self.sequence,
            "code": err.code,
            "message": err.message,
            "param": err.param,
            "request_id": request_id,
        });
        sse::encode(Some("error"), &payload.to_string())
    }

    fn start(&mut self, frames: &mut Vec<String>) {
        if std::mem::replace(&mut self.started, true) {
            return;
        }
        let response = response_object(
            &self.id,
            &self.model,
            self.created_at,
            &FinishReason::Stop,
            Vec::new(),
            None,
        );
        frames.push(self.event("response.created", json!({"response": response.clone()})));
        frames.push(self.event("response.in_progress", json!({"response": response})));
    }

    fn open_text(&mut self, frames: &mut Vec<String>) {
        self.close(frames);
        let output_index = self.take_output_index();
        let mut item = message_item(&self.id, "", "in_progress");
        if let Some(content) = item.get_mut("content") {
            *content = json!([]);
        }
        frames.push(self.event(
            "response.output_item.added",
            json!({"output_index": output_index, "item": item}),
        ));
        let part = json!({"type": "output_text", "text": "", "annotations": []});
        frames.push(self.event(
            "response.content_part.added",
            json!({"item_id": message_id(&self.id), "output_index": output_index,
                   "content_index": 0, "part": part}),
        ));
        self.open = Some(Item::Text {
            output_index,
            text: String::new(),
        });
    }

    /// Closes the open item with its `….done` events.
    fn close(&mut self, frames: &mut Vec<String>) {
        match self.open.take() {
            None => {}
            Some(Item::Text { output_index, text }) => {
                let item_id = message_id(&self.id);
                frames.push(self.event(
                    "response.output_text.done",
                    json!({"item_id": item_id, "output_index": output_index, "content_index": 0,
                           "text": text, "logprobs": []}),
                ));
                let part = json!({"type": "output_text", "text": text, "annotations": []});
                frames.push(self.event(
                    "response.content_part.done",
                    json!({"item_id": item_id, "output_index": output_index, "content_index": 0,
                           "part": part}),
                ));
                let item = message_item(&self.id, &text, "completed");
                frames.push(self.event(
                    "response.output_item.done",
                    json!({"output_index": output_index, "item": item.clone()}),
                ));
                self.done.push(item);
            }
            Some(Item::Call {
                output_index,
                index,
                call,
            }) => {
                frames.push(self.event(
                    "response.function_call_arguments.done",
                    json!({"item_id": call_item_id(&self.id, index), "output_index": output_index,
                           "arguments": call.arguments}),
                ));
                let item = call_item(&self.id, index, &call, "completed");
                frames.push(self.event(
                    "response.output_item.done",
                    json!({"output_index": output_index, "item": item.clone()}),
                ));
                self.done.push(item);
            }
        }
    }

    fn take_output_index(&mut self) -> usize {
        let index = self.next_output;
        self.next_output += 1;
        index
    }

    fn event(&mut self, name: &str, mut payload: Value) -> String {
        if let Some(map) = payload.as_object_mut() {
            map.insert("type".into(), json!(name));
            map.insert("sequence_number".into(), json!(self.sequence));
        }
        self.sequence += 1;
        sse::encode(Some(name), &payload.to_string())
    }
}
