//! Anthropic Messages (`POST /v1/messages`): `message` bodies and the event stream
//! message_start → content_block_start → ping → content_block_delta × N → content_block_stop →
//! message_delta → message_stop, with usage split as the real API splits it: input tokens in
//! message_start, the (cumulative) output tokens in message_delta.

use bytes::Bytes;
use hyper::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::chat::{sse, Dialect, Exchange, Frames};
use crate::conversation::{text_of, Conversation};
use crate::errors::{ApiError, Shape};
use crate::intake;
use crate::tools::{self, Choice, Offer, Tool};

pub struct Anthropic;

/// message_start's `output_tokens`: the real API reports a small non-zero count there before
/// any text, so a client must take the final count from message_delta, not add the two.
const START_OUTPUT_TOKENS: u64 = 1;

#[derive(Deserialize)]
struct MessagesRequest {
    model: Option<String>,
    messages: Option<Vec<Message>>,
    system: Option<Value>,
    max_tokens: Option<u64>,
    stream: Option<bool>,
    tools: Option<Vec<Value>>,
    tool_choice: Option<Value>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    role: String,
    #[serde(default)]
    content: Value,
}

impl Dialect for Anthropic {
    const SHAPE: Shape = Shape::Anthropic;
    const ID_PREFIX: &'static str = "msg_sim";

    fn authenticate(headers: &HeaderMap) -> Result<(), ApiError> {
        intake::check_key(
            intake::header(headers, "x-api-key"),
            "x-api-key header is required",
        )?;
        match intake::header(headers, "anthropic-version") {
            Some(_) => Ok(()),
            None => Err(ApiError::bad_request(
                "anthropic-version: header is required",
            )),
        }
    }

    fn parse(body: &[u8]) -> Result<Conversation, ApiError> {
        let request: MessagesRequest = intake::parse_json(body)?;
        let required = |field: &str| ApiError::bad_request(format!("{field}: Field required"));
        let model = request.model.ok_or_else(|| required("model"))?;
        let messages = request.messages.ok_or_else(|| required("messages"))?;
        let max_tokens = request.max_tokens.ok_or_else(|| required("max_tokens"))?;
        if max_tokens < 1 {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "max_tokens: Input should be greater than or equal to 1",
            ));
        }
        let tool_list = request.tools.as_deref().unwrap_or_default();
        check_tool_blocks(&messages, !tool_list.is_empty())?;
        let offer = offer(tool_list, request.tool_choice.as_ref())?;
        // The system prompt counts as one more message.
        let system = request.system.as_ref().map(text_of);
        let texts = system
            .into_iter()
            .chain(messages.iter().map(message_text))
            .collect();
        let mut conversation = Conversation {
            model,
            texts,
            max_tokens: Some(max_tokens),
            stream: request.stream.unwrap_or(false),
            include_usage: false,
            calls: Vec::new(),
        };
        let after_results = messages
            .last()
            .is_some_and(|m| m.role == "user" && !blocks_of(m, "tool_result").is_empty());
        conversation.calls = offer.calls(after_results, conversation.directive().tool_calls);
        Ok(conversation)
    }

    fn complete(conversation: &Conversation, exchange: &Exchange) -> Vec<u8> {
        let message = json!({
            "id": exchange.id,
            "type": "message",
            "role": "assistant",
            "model": conversation.model,
            "content": if conversation.calls.is_empty() {
                json!([{ "type": "text", "text": exchange.reply.text() }])
            } else {
                Value::Array(tool_uses(conversation, exchange))
            },
            "stop_reason": stop_reason(conversation, exchange),
            "stop_sequence": null,
            "usage": { "input_tokens": exchange.prompt_tokens, "output_tokens": exchange.completion_tokens },
        });
        message.to_string().into_bytes()
    }

    fn stream(conversation: &Conversation, exchange: &Exchange) -> Frames {
        let start = json!({
            "type": "message_start",
            "message": {
                "id": exchange.id,
                "type": "message",
                "role": "assistant",
                "model": conversation.model,
                "content": [],
                "stop_reason": null,
                "stop_sequence": null,
                "usage": { "input_tokens": exchange.prompt_tokens, "output_tokens": START_OUTPUT_TOKENS },
            },
        });
        let block_start = json!({
            "type": "content_block_start",
            "index": 0,
            "content_block": { "type": "text", "text": "" },
        });
        let message_delta = json!({
            "type": "message_delta",
            "delta": { "stop_reason": stop_reason(conversation, exchange), "stop_sequence": null },
            "usage": { "output_tokens": exchange.completion_tokens },
        });
        let mut head = vec![event("message_start", &start)];
        let mut tail = Vec::new();
        let deltas = if conversation.calls.is_empty() {
            head.push(event("content_block_start", &block_start));
            tail.push(event(
                "content_block_stop",
                &json!({ "type": "content_block_stop", "index": 0 }),
            ));
            exchange
                .reply
                .pieces()
                .map(|piece| text_delta(&piece))
                .collect()
        } else {
            // Each call: its block opens with an empty input, the input JSON comes in two
            // fragments, the block closes.
            conversation
                .calls
                .iter()
                .enumerate()
                .flat_map(|(index, call)| {
                    let input = call.arguments.to_string();
                    let (a, b) = tools::halves(&input);
                    let opening = json!({ "type": "tool_use", "id": tools::call_id("toolu_", &exchange.id, index),
                                          "name": call.name, "input": {} });
                    let mut events = vec![event(
                        "content_block_start",
                        &json!({ "type": "content_block_start", "index": index, "content_block": opening }),
                    )];
                    for part in [a, b] {
                        events.push(event(
                            "content_block_delta",
                            &json!({ "type": "content_block_delta", "index": index,
                                     "delta": { "type": "input_json_delta", "partial_json": part } }),
                        ));
                    }
                    events.push(event(
                        "content_block_stop",
                        &json!({ "type": "content_block_stop", "index": index }),
                    ));
                    events
                })
                .collect()
        };
        head.push(event("ping", &json!({ "type": "ping" })));
        tail.push(event("message_delta", &message_delta));
        tail.push(event("message_stop", &json!({ "type": "message_stop" })));
        Frames {
            head,
            deltas,
            tail,
            broken: sse(
                Some("content_block_delta"),
                br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"#,
            ),
        }
    }
}

fn event(name: &str, data: &Value) -> Bytes {
    sse(Some(name), data.to_string().as_bytes())
}

fn text_delta(piece: &str) -> Bytes {
    let delta = json!({
        "type": "content_block_delta",
        "index": 0,
        "delta": { "type": "text_delta", "text": piece },
    });
    event("content_block_delta", &delta)
}

fn stop_reason(conversation: &Conversation, exchange: &Exchange) -> &'static str {
    if !conversation.calls.is_empty() {
        "tool_use"
    } else if exchange.reply.truncated {
        "max_tokens"
    } else {
        "end_turn"
    }
}

fn tool_uses(conversation: &Conversation, exchange: &Exchange) -> Vec<Value> {
    conversation
        .calls
        .iter()
        .enumerate()
        .map(|(i, call)| {
            json!({
                "type": "tool_use",
                "id": tools::call_id("toolu_", &exchange.id, i),
                "name": call.name,
                "input": call.arguments,
            })
        })
        .collect()
}

/// The blocks of `kind` in a message's content.
fn blocks_of<'m>(message: &'m Message, kind: &str) -> Vec<&'m Value> {
    message
        .content
        .as_array()
        .map(|blocks| {
            blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some(kind))
                .collect()
        })
        .unwrap_or_default()
}

/// A message's words: its text and tool results, and an assistant turn's tool inputs.
fn message_text(message: &Message) -> String {
    let mut text = text_of(&message.content);
    for block in blocks_of(message, "tool_use") {
        if let Some(input) = block.get("input") {
            text.push(' ');
            text.push_str(&input.to_string());
        }
    }
    text
}

/// As Anthropic checks them: tool blocks need `tools`; every `tool_result` answers a `tool_use` of the
/// assistant turn just before, and comes before any other block of its turn.
fn check_tool_blocks(messages: &[Message], has_tools: bool) -> Result<(), ApiError> {
    let mut previous: Vec<&str> = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        let uses = blocks_of(message, "tool_use");
        let results = blocks_of(message, "tool_result");
        if (!uses.is_empty() || !results.is_empty()) && !has_tools {
            return Err(ApiError::bad_request(
                "Requests which include `tool_use` or `tool_result` blocks must define tools.",
            ));
        }
        for result in &results {
            let id = result
                .get("tool_use_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !previous.contains(&id) {
                return Err(ApiError::bad_request(format!(
                    "messages.{index}.content: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                )));
            }
        }
        if let Some(blocks) = message.content.as_array() {
            let first_other = blocks
                .iter()
                .position(|b| b.get("type").and_then(Value::as_str) != Some("tool_result"));
            let last_result = blocks
                .iter()
                .rposition(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"));
            if let (Some(other), Some(result)) = (first_other, last_result) {
                if other < result {
                    return Err(ApiError::bad_request(format!(
                        "messages.{index}.content: `tool_result` blocks must come first in the content."
                    )));
                }
            }
        }
        previous = uses
            .iter()
            .filter_map(|b| b.get("id").and_then(Value::as_str))
            .collect();
    }
    Ok(())
}

/// Custom `tools` and `tool_choice`.
fn offer(tool_list: &[Value], choice: Option<&Value>) -> Result<Offer, ApiError> {
    let mut offered = Vec::with_capacity(tool_list.len());
    for (index, tool) in tool_list.iter().enumerate() {
        match (
            tool.get("name").and_then(Value::as_str),
            tool.get("input_schema"),
        ) {
            (Some(name), Some(schema)) => offered.push(Tool {
                name: name.to_owned(),
                schema: schema.clone(),
            }),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "tools.{index}: name and input_schema: Field required"
                )))
            }
        }
    }
    let kind = choice.and_then(|c| c.get("type")).and_then(Value::as_str);
    let parallel = choice
        .and_then(|c| c.get("disable_parallel_tool_use"))
        .and_then(Value::as_bool)
        != Some(true);
    let choice = match kind {
        None | Some("auto") => Choice::Auto,
        Some("any") => Choice::Required,
        Some("none") => Choice::None,
        Some("tool") => match choice.and_then(|c| c.get("name")).and_then(Value::as_str) {
            Some(name) if offered.iter().any(|t| t.name == name) => Choice::Named(name.to_owned()),
            _ => {
                return Err(ApiError::bad_request(
                    "tool_choice.name: the named tool is not in tools",
                ))
            }
        },
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "tool_choice.type: Input tag '{other}' found is not one of the expected tags"
            )))
        }
    };
    Ok(Offer {
        tools: offered,
        choice,
        parallel,
    })
}
