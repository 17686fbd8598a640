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
}

#[derive(Deserialize)]
struct Message {
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
        // The system prompt counts as one more message.
        let system = request.system.as_ref().map(text_of);
        let texts = system
            .into_iter()
            .chain(messages.iter().map(|m| text_of(&m.content)))
            .collect();
        Ok(Conversation {
            model,
            texts,
            max_tokens: Some(max_tokens),
            stream: request.stream.unwrap_or(false),
            include_usage: false,
        })
    }

    fn complete(conversation: &Conversation, exchange: &Exchange) -> Vec<u8> {
        let message = json!({
            "id": exchange.id,
            "type": "message",
            "role": "assistant",
            "model": conversation.model,
            "content": [{ "type": "text", "text": exchange.reply.text() }],
            "stop_reason": stop_reason(exchange),
            "stop_sequence": null,
            "usage": { "input_tokens": exchange.prompt_tokens, "output_tokens": exchange.reply.words },
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
            "delta": { "stop_reason": stop_reason(exchange), "stop_sequence": null },
            "usage": { "output_tokens": exchange.reply.words },
        });
        Frames {
            head: vec![
                event("message_start", &start),
                event("content_block_start", &block_start),
                event("ping", &json!({ "type": "ping" })),
            ],
            deltas: exchange
                .reply
                .pieces()
                .map(|piece| text_delta(&piece))
                .collect(),
            tail: vec![
                event(
                    "content_block_stop",
                    &json!({ "type": "content_block_stop", "index": 0 }),
                ),
                event("message_delta", &message_delta),
                event("message_stop", &json!({ "type": "message_stop" })),
            ],
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

fn stop_reason(exchange: &Exchange) -> &'static str {
    if exchange.reply.truncated {
        "max_tokens"
    } else {
        "end_turn"
    }
}
