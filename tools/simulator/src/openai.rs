//! OpenAI chat completions (`POST /v1/chat/completions`): `chat.completion` bodies and
//! `chat.completion.chunk` streams ending in `data: [DONE]`, with the usage-only chunk
//! (`choices: []`) when `stream_options.include_usage` is set.

use bytes::Bytes;
use hyper::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::chat::{sse, Dialect, Exchange, Frames};
use crate::conversation::{text_of, Conversation};
use crate::errors::{ApiError, Shape};
use crate::intake;
use crate::tools::{self, Call, Offer, Tool};

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
    tools: Option<Vec<Value>>,
    tool_choice: Option<Value>,
    parallel_tool_calls: Option<bool>,
}

#[derive(Deserialize)]
struct ChatMessage {
    #[serde(default)]
    role: String,
    #[serde(default)]
    content: Value,
    tool_calls: Option<Vec<Value>>,
    tool_call_id: Option<String>,
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
    /// `null` when the model calls tools instead.
    content: Option<&'a str>,
    refusal: Option<()>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<Value>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<Vec<Value>>,
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
        check_tool_messages(&messages)?;
        let stream = request.stream.unwrap_or(false);
        let offer = offer(
            request.tools.as_deref().unwrap_or_default(),
            request.tool_choice.as_ref(),
            request.parallel_tool_calls,
        )?;
        let mut conversation = Conversation {
            model,
            texts: messages.iter().map(message_text).collect(),
            max_tokens: request.max_completion_tokens.or(request.max_tokens),
            stream,
            include_usage: stream
                && request
                    .stream_options
                    .and_then(|o| o.include_usage)
                    .unwrap_or(false),
            calls: Vec::new(),
        };
        let after_results = messages.last().is_some_and(|m| m.role == "tool");
        conversation.calls = offer.calls(after_results, conversation.directive().tool_calls);
        Ok(conversation)
    }

    fn complete(conversation: &Conversation, exchange: &Exchange) -> Vec<u8> {
        let text = exchange.reply.text();
        let tool_calls = calls_json(&conversation.calls, exchange);
        let completion = Completion {
            id: &exchange.id,
            object: "chat.completion",
            created: exchange.created,
            model: &conversation.model,
            choices: [Choice {
                index: 0,
                message: Message {
                    role: "assistant",
                    content: tool_calls.is_empty().then_some(text.as_str()),
                    refusal: None,
                    tool_calls,
                },
                logprobs: None,
                finish_reason: finish_reason_of(conversation, exchange),
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
            tool_calls: None,
        };
        let mut tail = vec![chunk(
            Delta::default(),
            Some(finish_reason_of(conversation, exchange)),
        )];
        if conversation.include_usage {
            tail.push(chunk_event(
                conversation,
                exchange,
                Vec::new(),
                Some(usage(exchange)),
            ));
        }
        tail.push(sse(None, b"[DONE]"));
        let text = exchange.reply.pieces().map(|piece| {
            chunk(
                Delta {
                    content: Some(&piece),
                    ..Delta::default()
                },
                None,
            )
        });
        // Each call: its id and name with empty arguments, then the arguments in two fragments.
        let calls = conversation
            .calls
            .iter()
            .enumerate()
            .flat_map(|(index, call)| {
                let arguments = call.arguments.to_string();
                let (a, b) = tools::halves(&arguments);
                let opening = json!({"index": index, "id": tools::call_id("call_", &exchange.id, index),
                                     "type": "function", "function": {"name": call.name, "arguments": ""}});
                let mut events = vec![chunk(Delta { tool_calls: Some(vec![opening]), ..Delta::default() }, None)];
                for part in [a, b] {
                    let piece = json!({"index": index, "function": {"arguments": part}});
                    events.push(chunk(Delta { tool_calls: Some(vec![piece]), ..Delta::default() }, None));
                }
                events
            })
            .collect::<Vec<_>>();
        Frames {
            head: vec![chunk(role, None)],
            deltas: text.chain(calls).collect(),
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

fn finish_reason_of(conversation: &Conversation, exchange: &Exchange) -> &'static str {
    if !conversation.calls.is_empty() {
        "tool_calls"
    } else if exchange.reply.truncated {
        "length"
    } else {
        "stop"
    }
}

fn usage(exchange: &Exchange) -> Usage {
    Usage {
        prompt_tokens: exchange.prompt_tokens,
        completion_tokens: exchange.completion_tokens,
        total_tokens: exchange.prompt_tokens + exchange.completion_tokens,
    }
}

fn calls_json(calls: &[Call], exchange: &Exchange) -> Vec<Value> {
    calls
        .iter()
        .enumerate()
        .map(|(i, call)| {
            json!({
                "id": tools::call_id("call_", &exchange.id, i),
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments.to_string()},
            })
        })
        .collect()
}

/// A message's words: its content, and an assistant turn's call arguments.
fn message_text(message: &ChatMessage) -> String {
    let mut text = text_of(&message.content);
    for call in message.tool_calls.iter().flatten() {
        if let Some(arguments) = call.pointer("/function/arguments").and_then(Value::as_str) {
            text.push(' ');
            text.push_str(arguments);
        }
    }
    text
}

/// As OpenAI checks it: a tool message answers a call of an earlier assistant message.
fn check_tool_messages(messages: &[ChatMessage]) -> Result<(), ApiError> {
    let mut called: Vec<&str> = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        for call in message.tool_calls.iter().flatten() {
            let id = call.get("id").and_then(Value::as_str);
            let name = call.pointer("/function/name").and_then(Value::as_str);
            match (id, name) {
                (Some(id), Some(_)) => called.push(id),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "Missing required parameter: 'messages[{index}].tool_calls[].id' or 'function.name'."
                    ))
                    .param(format!("messages[{index}].tool_calls")))
                }
            }
        }
        if message.role == "tool" {
            let answered = message.tool_call_id.as_deref();
            if !answered.is_some_and(|id| called.contains(&id)) {
                return Err(ApiError::bad_request(
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
                )
                .param(format!("messages[{index}].role")));
            }
        }
    }
    Ok(())
}

/// `tools` (function tools), `tool_choice` and `parallel_tool_calls`.
fn offer(
    tools: &[Value],
    choice: Option<&Value>,
    parallel: Option<bool>,
) -> Result<Offer, ApiError> {
    let mut offered = Vec::with_capacity(tools.len());
    for (index, tool) in tools.iter().enumerate() {
        let name = tool.pointer("/function/name").and_then(Value::as_str);
        match (tool.get("type").and_then(Value::as_str), name) {
            (Some("function"), Some(name)) => offered.push(Tool {
                name: name.to_owned(),
                schema: tool
                    .pointer("/function/parameters")
                    .cloned()
                    .unwrap_or(Value::Null),
            }),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "Missing required parameter: 'tools[{index}].function.name'."
                ))
                .param(format!("tools[{index}]")))
            }
        }
    }
    let choice = match choice {
        None | Some(Value::Null) => tools::Choice::Auto,
        Some(Value::String(s)) if s == "auto" => tools::Choice::Auto,
        Some(Value::String(s)) if s == "none" => tools::Choice::None,
        Some(Value::String(s)) if s == "required" => tools::Choice::Required,
        Some(value) => match value.pointer("/function/name").and_then(Value::as_str) {
            Some(name) if offered.iter().any(|t| t.name == name) => {
                tools::Choice::Named(name.to_owned())
            }
            _ => {
                return Err(ApiError::bad_request(
                    "Invalid value for 'tool_choice': the named function is not in 'tools'.",
                )
                .param("tool_choice"))
            }
        },
    };
    if parallel.is_some() && offered.is_empty() {
        return Err(ApiError::bad_request(
            "Invalid value for 'parallel_tool_calls': 'parallel_tool_calls' is only allowed when 'tools' are specified.",
        )
        .param("parallel_tool_calls"));
    }
    Ok(Offer {
        tools: offered,
        choice,
        parallel: parallel.unwrap_or(true),
    })
}
