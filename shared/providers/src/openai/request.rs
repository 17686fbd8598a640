//! `POST /v1/chat/completions` bodies → [`ChatRequest`].

use envelope::ApiError;
use serde_json::Value;

use crate::chat::tools::{self, openai as wire};
use crate::chat::{ChatRequest, Content, Message, Role};
use crate::field::{self, echo, join, Object};

/// Parses and validates an OpenAI chat request.
///
/// 400 for malformed JSON, a missing or mistyped field (`messages[2].role: …`), 422 for a
/// well-typed value out of range (`temperature` outside 0..=2, `max_tokens` below 1). Fields
/// this crate has no slot for stay in `extra` (and per message in `Message::extra`).
pub fn parse_request(body: &[u8]) -> Result<ChatRequest, ApiError> {
    let mut map = field::object(envelope::parse_value(body)?, "")?;
    let model = field::required_string(&mut map, "model", "")?;
    let messages = messages(field::take(&mut map, "messages"))?;
    let max_tokens = max_tokens(&mut map)?;
    let temperature = field::number_in(&mut map, "temperature", 0.0, 2.0)?;
    let top_p = field::number_in(&mut map, "top_p", 0.0, 1.0)?;
    let stop = field::string_list(&mut map, "stop")?;
    let stream = field::boolean(&mut map, "stream")?.unwrap_or(false);
    let user = field::string(&mut map, "user", "")?;
    let seed = field::integer(&mut map, "seed")?;
    let tools = wire::parse_tools(field::take(&mut map, "tools"))?;
    let tool_choice = wire::parse_choice(field::take(&mut map, "tool_choice"))?;
    tools::check_choice(&tools, tool_choice.as_ref(), "tool_choice")?;
    let parallel_tool_calls = field::boolean(&mut map, "parallel_tool_calls")?;
    check_pass_through(&map)?;
    Ok(ChatRequest {
        model,
        messages,
        max_tokens,
        temperature,
        top_p,
        stop,
        stream,
        user,
        seed,
        tools,
        tool_choice,
        parallel_tool_calls,
        extra: map,
    })
}

fn messages(value: Option<Value>) -> Result<Vec<Message>, ApiError> {
    match value {
        None => Err(ApiError::missing_field("messages")),
        Some(Value::Array(items)) if items.is_empty() => {
            Err(ApiError::invalid_field("messages", "must not be empty"))
        }
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(index, item)| message(index, item))
            .collect(),
        Some(_) => Err(ApiError::invalid_field("messages", "must be an array")),
    }
}

fn message(index: usize, value: Value) -> Result<Message, ApiError> {
    let path = format!("messages[{index}]");
    let mut map = field::object(value, &path)?;
    let role_name = field::required_string(&mut map, "role", &path)?;
    let role = Role::parse(&role_name).ok_or_else(|| {
        ApiError::invalid_field(
            &join(&path, "role"),
            format_args!(
                "unknown role {} (expected system, developer, user, assistant or tool)",
                echo(&role_name)
            ),
        )
    })?;
    let content = content(field::take(&mut map, "content"), role, &path)?;
    let name = field::string(&mut map, "name", &path)?;
    let tool_calls = wire::parse_calls(field::take(&mut map, "tool_calls"), &path)?;
    if !tool_calls.is_empty() && role != Role::Assistant {
        return Err(ApiError::invalid_field(
            &join(&path, "tool_calls"),
            "only assistant messages carry tool calls",
        ));
    }
    let tool_call_id = field::string(&mut map, "tool_call_id", &path)?;
    if role == Role::Tool && tool_call_id.is_none() {
        return Err(ApiError::missing_field(&join(&path, "tool_call_id")));
    }
    Ok(Message {
        role,
        content,
        name,
        tool_calls,
        tool_call_id: tool_call_id.filter(|_| role == Role::Tool),
        extra: map,
    })
}

fn content(value: Option<Value>, role: Role, path: &str) -> Result<Content, ApiError> {
    let at = join(path, "content");
    match value {
        // An assistant turn that only calls tools has `content: null`.
        None if role == Role::Assistant => Ok(Content::default()),
        None => Err(ApiError::missing_field(&at)),
        Some(Value::String(text)) => Ok(Content::Text(text)),
        Some(Value::Array(parts)) => {
            for (index, part) in parts.iter().enumerate() {
                if part.get("type").and_then(Value::as_str).is_none() {
                    return Err(ApiError::invalid_field(
                        &format!("{at}[{index}]"),
                        "must be a content part object with a type",
                    ));
                }
            }
            Ok(Content::Parts(parts))
        }
        Some(_) => Err(ApiError::invalid_field(
            &at,
            "must be a string or an array of content parts",
        )),
    }
}

/// `max_completion_tokens` replaced `max_tokens`; both are accepted, and must agree.
fn max_tokens(map: &mut Object) -> Result<Option<u32>, ApiError> {
    let legacy = field::token_count(map, "max_tokens")?;
    let current = field::token_count(map, "max_completion_tokens")?;
    match (legacy, current) {
        (Some(a), Some(b)) if a != b => Err(ApiError::invalid_field(
            "max_tokens",
            "conflicts with max_completion_tokens; send only one",
        )),
        _ => Ok(current.or(legacy)),
    }
}

/// Pass-through fields are the upstream's business, except where our own stream handling
/// depends on them.
fn check_pass_through(map: &Object) -> Result<(), ApiError> {
    match map.get("n") {
        None | Some(Value::Null) => {}
        Some(n) if n.as_u64() == Some(1) => {}
        Some(n) if n.as_u64().is_some() => {
            return Err(ApiError::invalid_field("n", "only 1 is supported"));
        }
        Some(_) => return Err(ApiError::invalid_field("n", "must be an integer")),
    }
    match map.get("stream_options") {
        None | Some(Value::Null | Value::Object(_)) => Ok(()),
        Some(_) => Err(ApiError::invalid_field(
            "stream_options",
            "must be an object",
        )),
    }
}

#[cfg(test)]
mod tests;
