//! `POST /v1/messages` bodies → [`ChatRequest`].

use envelope::ApiError;
use serde_json::{json, Value};

use crate::chat::{ChatRequest, Content, Message, Role};
use crate::field::{self, echo, join, Object};

/// Fields of the Messages API this gateway cannot carry through its canonical request yet.
const UNSUPPORTED: &[&str] = &[
    "tools",
    "tool_choice",
    "thinking",
    "container",
    "mcp_servers",
    "context_management",
];

/// Fields that only tune delivery and are safe to drop (`top_k` has no canonical slot).
const IGNORED: &[&str] = &["top_k", "service_tier"];

/// Parses and validates an Anthropic Messages request into the canonical request.
///
/// `system` (a string or text blocks) becomes a leading System message; `max_tokens` is
/// required (400 `missing_field`); message roles are `user` or `assistant`; content is a string
/// or text blocks; `stop_sequences` → `stop`; `metadata.user_id` → `user`. Unknown fields are
/// rejected, as Anthropic does; tool use and extended thinking are rejected by name.
pub fn parse_request(body: &[u8]) -> Result<ChatRequest, ApiError> {
    let mut map = field::object(envelope::parse_value(body)?, "")?;
    let model = field::required_string(&mut map, "model", "")?;
    let max_tokens = field::token_count(&mut map, "max_tokens")?
        .ok_or_else(|| ApiError::missing_field("max_tokens"))?;
    let mut messages: Vec<Message> = system(field::take(&mut map, "system"))?
        .into_iter()
        .collect();
    messages.extend(turns(field::take(&mut map, "messages"))?);
    let temperature = field::number_in(&mut map, "temperature", 0.0, 1.0)?;
    let top_p = field::number_in(&mut map, "top_p", 0.0, 1.0)?;
    let stop = field::string_list(&mut map, "stop_sequences")?;
    let stream = field::boolean(&mut map, "stream")?.unwrap_or(false);
    let user = metadata_user(field::take(&mut map, "metadata"))?;
    reject_rest(map)?;
    Ok(ChatRequest {
        model,
        messages,
        max_tokens: Some(max_tokens),
        temperature,
        top_p,
        stop,
        stream,
        user,
        seed: None,
        extra: Object::new(),
    })
}

fn system(value: Option<Value>) -> Result<Option<Message>, ApiError> {
    let content = match value {
        None => return Ok(None),
        Some(Value::String(text)) if text.is_empty() => return Ok(None),
        Some(Value::String(text)) => Content::Text(text),
        Some(Value::Array(blocks)) => text_blocks(blocks, "system")?,
        Some(_) => {
            return Err(ApiError::invalid_field(
                "system",
                "must be a string or an array of text blocks",
            ))
        }
    };
    Ok(Some(Message {
        role: Role::System,
        content,
        name: None,
        extra: Object::new(),
    }))
}

fn turns(value: Option<Value>) -> Result<Vec<Message>, ApiError> {
    match value {
        None => Err(ApiError::missing_field("messages")),
        Some(Value::Array(items)) if items.is_empty() => {
            Err(ApiError::invalid_field("messages", "must not be empty"))
        }
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(index, item)| turn(index, item))
            .collect(),
        Some(_) => Err(ApiError::invalid_field("messages", "must be an array")),
    }
}

fn turn(index: usize, value: Value) -> Result<Message, ApiError> {
    let path = format!("messages[{index}]");
    let mut map = field::object(value, &path)?;
    let role_name = field::required_string(&mut map, "role", &path)?;
    let role = match role_name.as_str() {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        other => {
            return Err(ApiError::invalid_field(
                &join(&path, "role"),
                format_args!("must be \"user\" or \"assistant\", found {}", echo(other)),
            ))
        }
    };
    let at = join(&path, "content");
    let content = match field::take(&mut map, "content") {
        None => return Err(ApiError::missing_field(&at)),
        Some(Value::String(text)) => Content::Text(text),
        Some(Value::Array(blocks)) => text_blocks(blocks, &at)?,
        Some(_) => {
            return Err(ApiError::invalid_field(
                &at,
                "must be a string or an array of content blocks",
            ))
        }
    };
    if let Some(key) = map.keys().next() {
        return Err(ApiError::unknown_field(&join(&path, key)));
    }
    Ok(Message {
        role,
        content,
        name: None,
        extra: Object::new(),
    })
}

/// Text blocks → one text, or OpenAI-style text parts when there are several.
fn text_blocks(blocks: Vec<Value>, path: &str) -> Result<Content, ApiError> {
    let mut texts = Vec::with_capacity(blocks.len());
    for (index, block) in blocks.iter().enumerate() {
        let at = format!("{path}[{index}]");
        match block.get("type").and_then(Value::as_str) {
            Some("text") => {}
            Some(other) => {
                return Err(ApiError::invalid_field(
                    &join(&at, "type"),
                    format_args!("block type {} is not supported (only text)", echo(other)),
                ))
            }
            None => return Err(ApiError::missing_field(&join(&at, "type"))),
        }
        match block.get("text").and_then(Value::as_str) {
            Some(text) => texts.push(text.to_owned()),
            None => {
                return Err(ApiError::invalid_field(
                    &join(&at, "text"),
                    "must be a string",
                ))
            }
        }
    }
    Ok(match <[String; 1]>::try_from(texts) {
        Ok([one]) => Content::Text(one),
        Err(many) => Content::Parts(
            many.into_iter()
                .map(|text| json!({"type": "text", "text": text}))
                .collect(),
        ),
    })
}

fn metadata_user(value: Option<Value>) -> Result<Option<String>, ApiError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let mut map = field::object(value, "metadata")?;
    field::string(&mut map, "user_id", "metadata")
}

fn reject_rest(map: Object) -> Result<(), ApiError> {
    for key in map.keys() {
        if IGNORED.contains(&key.as_str()) {
            continue;
        }
        if UNSUPPORTED.contains(&key.as_str()) {
            return Err(ApiError::bad_request(
                "unsupported_field",
                format!("{key}: not supported by this gateway"),
            ));
        }
        return Err(ApiError::unknown_field(key));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
