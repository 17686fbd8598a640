//! OpenAI chat completions (`POST /v1/chat/completions`): `chat.completion` bodies and
//! `chat.completion.chunk` streams ending in `data: [DONE]`, with the usage-only chunk
//! (`choices: []`) when `stream_options.include_usage` is set.

use bytes::Bytes;
use hyper::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::chat::{sse, Dialect, Exchange, Frames};
use crate::conversation::{text_of, Conversation};
use crate::errors::{ApiError, Shape};
use crate::intake;

pub struct OpenAi;

/// Reported as `system_fingerprint`, which real responses always carry.
const FINGERPRINT: &str = "fp_simulator";

#[derive(Deserialize)]
struct ChatRequest {
    model: Option<String>,
    messages: Option<Vec<ChatMessage>>,
    stream: Option<bool>,
    stream_options: Option<StreamOptions>,
    max_tokens: Option<u64>,
    /// The newer name of `max_tokens`; it wins when both are given.
    max_completion_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct ChatMessage {
    #[serde(default)]
    content: Value,
}

#[derive(Deserialize)]
struct StreamOptions {
    include_usage: Option<bool>,
}

#[derive(Serialize)]
struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
}

#[derive(Serialize)]
struct Completion<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [Choice<'a>; 1],
    usage: Usage,
    system_fingerprint: &'static str,
}

#[derive(Serialize)]
struct Choice<'a> {
    index: u32,
    message: Message<'a>,
    logprobs: Option<()>,
    finish_reason: &'static str,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
    refusal: Option<()>,
}

#[derive(Serialize)]
struct Chunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    system_fingerprint: &'static str,
    choices: Vec<ChunkChoice<'a>>,
    /// Absent unless usage was asked for; then `null` on every chunk but the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Option<Usage>>,
}

#[derive(Serialize)]
struct ChunkChoice<'a> {
    index: u32,
    delta: Delta<'a>,
    logprobs: Option<()>,
    finish_reason: Option<&'static str>,
}

#[derive(Serialize, Default)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
}

impl Dialect for OpenAi {
    const SHAPE: Shape = Shape::OpenAi;
    const ID_PREFIX: &'static str = "chatcmpl-sim";

    fn authenticate(headers: &HeaderMap) -> Result<(), ApiError> {
        intake::check_key(
            intake::bearer(headers),
            "You didn't provide an API key. Send it in an Authorization header using Bearer auth.",
        )
    }

    fn parse(body: &[u8]) -> Result<Conversation, ApiError> {
        let request: ChatRequest = intake::parse_json(body)?;
        let model = request.model.filter(|m| !m.is_empty()).ok_or_else(|| {
            ApiError::bad_request("you must provide a model parameter").param("model")
        })?;
        let messages = request.messages.ok_or_else(|| {
            ApiError::bad_request("Missing required parameter: 'messages'.")
                .param("messages")
                .code("missing_required_parameter")
        })?;
        let stream = request.stream.unwrap_or(false);
        Ok(Conversation {
            model,
            texts: messages.iter().map(|m| text_of(&m.content)).collect(),
            max_tokens: request.max_completion_tokens.or(request.max_tokens),
            stream,
            include_usage: stream
                && request
                    .stream_options
                    .and_then(|o| o.include_usage)
                    .unwrap_or(false),
        })
    }

    fn complete(conversation: &Conversation, exchange: &Exchange) -> Vec<u8> {
        let text = exchange.reply.text();
        let completion = Completion {
            id: &exchange.id,
            object: "chat.completion",
            created: exchange.created,
            model: &conversation.model,
            choices: [Choice {
                index: 0,
                message: Message {
                    role: "assistant",
                    content: &text,
                    refusal: None,
                },
                logprobs: None,
                finish_reason: finish_reason(exchange),
            }],
            usage: usage(exchange),
            system_fingerprint: FINGERPRINT,
        };
        serde_json::to_vec(&completion).unwrap_or_default()
    }

    fn stream(conversation: &Conversation, exchange: &Exchange) -> Frames {
        let chunk = |delta: Delta<'_>, finish: Option<&'static str>| {
            let choice = ChunkChoice {
                index: 0,
                delta,
                logprobs: None,
                finish_reason: finish,
            };
            chunk_event(conversation, exchange, vec![choice], None)
        };
        let role = Delta {
            role: Some("assistant"),
            content: Some(""),
        };
        let mut tail = vec![chunk(Delta::default(), Some(finish_reason(exchange)))];
        if conversation.include_usage {
            tail.push(chunk_event(
                conversation,
                exchange,
                Vec::new(),
                Some(usage(exchange)),
            ));
        }
        tail.push(sse(None, b"[DONE]"));
        Frames {
            head: vec![chunk(role, None)],
            deltas: exchange
                .reply
                .pieces()
                .map(|piece| chunk(Delta { role: None, content: Some(&piece) }, None))
                .collect(),
            tail,
            broken: sse(None, br#"{"id":"chatcmpl-broken","object":"chat.completion.chunk","choices":[{"delta":{"content":"#),
        }
    }
}

fn chunk_event(
    conversation: &Conversation,
    exchange: &Exchange,
    choices: Vec<ChunkChoice<'_>>,
    usage: Option<Usage>,
) -> Bytes {
    let chunk = Chunk {
        id: &exchange.id,
        object: "chat.completion.chunk",
        created: exchange.created,
        model: &conversation.model,
        system_fingerprint: FINGERPRINT,
        choices,
        usage: conversation.include_usage.then_some(usage),
    };
    sse(None, &serde_json::to_vec(&chunk).unwrap_or_default())
}

fn finish_reason(exchange: &Exchange) -> &'static str {
    if exchange.reply.truncated {
        "length"
    } else {
        "stop"
    }
}

fn usage(exchange: &Exchange) -> Usage {
    Usage {
        prompt_tokens: exchange.prompt_tokens,
        completion_tokens: exchange.reply.words,
        total_tokens: exchange.prompt_tokens + exchange.reply.words,
    }
}
