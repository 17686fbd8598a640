//! `POST /v1/messages` bodies → [`ChatRequest`].

use envelope::ApiError;
use serde_json::{json, Value};

use crate::chat::tools::{self, anthropic as wire};
use crate::chat::{ChatRequest, Content, Message, Role, ToolCall};
use crate::field::{self, echo, join, Object};

/// Fields of the Messages API this gateway cannot carry through its canonical request yet.
const UNSUPPORTED: &[&str] = &["thinking", "container", "mcp_servers", "context_management"];

/// Fields that only tune delivery and are safe to drop (`top_k` has no canonical slot).
const IGNORED: &[&str] = &["top_k", "service_tier"];

/// Parses and validates an Anthropic Messages request into the canonical request.
///
/// `system` (a string or text blocks) becomes a leading System message; `max_tokens` is
/// required (400 `missing_field`); message roles are `user` or `assistant`; content is a string
/// or text, image, `tool_use` (assistant) and `tool_result` (user) blocks — a user turn's tool results
/// become tool messages ahead of its other content; `stop_sequences` → `stop`; `metadata.user_id` →
/// `user`; custom `tools` and `tool_choice` (with `disable_parallel_tool_use`) map to their canonical
/// slots. Unknown fields are rejected, as Anthropic does; server tools and extended thinking are
/// rejected by name.
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
    let tools = wire::parse_tools(field::take(&mut map, "tools"))?;
    let (tool_choice, parallel_tool_calls) =
        wire::parse_choice(field::take(&mut map, "tool_choice"))?;
    tools::check_choice(&tools, tool_choice.as_ref(), "tool_choice.name")?;
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
        tools,
        tool_choice,
        parallel_tool_calls,
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
        content,
        ..Message::text(Role::System, "")
    }))
}

fn turns(value: Option<Value>) -> Result<Vec<Message>, ApiError> {
    match value {
        None => Err(ApiError::missing_field("messages")),
        Some(Value::Array(items)) if items.is_empty() => {
            Err(ApiError::invalid_field("messages", "must not be empty"))
        }
        Some(Value::Array(items)) => {
            let mut messages = Vec::with_capacity(items.len());
            for (index, item) in items.into_iter().enumerate() {
                messages.extend(turn(index, item)?);
            }
            Ok(messages)
        }
        Some(_) => Err(ApiError::invalid_field("messages", "must be an array")),
    }
}

/// One turn: usually one message; a user turn's tool results come first, one tool message each.
fn turn(index: usize, value: Value) -> Result<Vec<Message>, ApiError> {
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
    let blocks = match field::take(&mut map, "content") {
        None => return Err(ApiError::missing_field(&at)),
        Some(Value::String(text)) => {
            if let Some(key) = map.keys().next() {
                return Err(ApiError::unknown_field(&join(&path, key)));
            }
            return Ok(vec![Message::text(role, text)]);
        }
        Some(Value::Array(blocks)) => blocks,
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
    let mut parts = Vec::new();
    let mut calls: Vec<ToolCall> = Vec::new();
    let mut messages = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        let at = format!("{at}[{i}]");
        match block_type(block, &at)? {
            "text" => parts.push(text_part(block, &at)?),
            "image" => parts.push(image_part(block, &at)?),
            "tool_use" if role == Role::Assistant => calls.push(wire::call_from_block(block, &at)?),
            "tool_result" if role == Role::User => messages.push(tool_result(block, &at)?),
            kind @ ("tool_use" | "tool_result") => {
                return Err(ApiError::invalid_field(
                    &join(&at, "type"),
                    format_args!("{kind} blocks belong in {} turns", if kind == "tool_use" { "assistant" } else { "user" }),
                ))
            }
            other => {
                return Err(ApiError::bad_request(
                    "unsupported_field",
                    format!(
                        "{at}.type: block type {} is not supported (text, image, tool_use, tool_result)",
                        echo(other)
                    ),
                )
                .with_param(&join(&at, "type")))
            }
        }
    }
    if !parts.is_empty() || !calls.is_empty() || messages.is_empty() {
        messages.push(Message {
            content: parts_content(parts),
            tool_calls: calls,
            ..Message::text(role, "")
        });
    }
    Ok(messages)
}

fn block_type<'v>(block: &'v Value, path: &str) -> Result<&'v str, ApiError> {
    if !block.is_object() {
        return Err(ApiError::invalid_field(
            path,
            "must be a content block object",
        ));
    }
    block
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::missing_field(&join(path, "type")))
}

fn text_part(block: &Value, path: &str) -> Result<Value, ApiError> {
    match block.get("text").and_then(Value::as_str) {
        Some(text) => Ok(json!({"type": "text", "text": text})),
        None => Err(ApiError::invalid_field(
            &join(path, "text"),
            "must be a string",
        )),
    }
}

/// An image block → an OpenAI `image_url` part (a data URL for base64 sources).
fn image_part(block: &Value, path: &str) -> Result<Value, ApiError> {
    let source = block.get("source").unwrap_or(&Value::Null);
    let str_of = |key: &str| source.get(key).and_then(Value::as_str);
    let url = match str_of("type") {
        Some("base64") => match (str_of("media_type"), str_of("data")) {
            (Some(media_type), Some(data)) => format!("data:{media_type};base64,{data}"),
            _ => {
                return Err(ApiError::invalid_field(
                    &join(path, "source"),
                    "a base64 source needs media_type and data",
                ))
            }
        },
        Some("url") => str_of("url")
            .ok_or_else(|| ApiError::missing_field(&join(path, "source.url")))?
            .to_owned(),
        _ => {
            return Err(ApiError::invalid_field(
                &join(path, "source.type"),
                "must be \"base64\" or \"url\"",
            ))
        }
    };
    Ok(json!({"type": "image_url", "image_url": {"url": url}}))
}

/// A `tool_result` block → a tool message. An error result (`is_error`) is marked in its text, since
/// OpenAI-style tool messages have no such flag.
fn tool_result(block: &Value, path: &str) -> Result<Message, ApiError> {
    let id = block
        .get("tool_use_id")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::missing_field(&join(path, "tool_use_id")))?;
    let at = join(path, "content");
    let mut parts = match block.get("content") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) => vec![json!({"type": "text", "text": text})],
        Some(Value::Array(blocks)) => blocks
            .iter()
            .enumerate()
            .map(|(i, inner)| {
                let at = format!("{at}[{i}]");
                match block_type(inner, &at)? {
                    "text" => text_part(inner, &at),
                    "image" => image_part(inner, &at),
                    other => Err(ApiError::invalid_field(
                        &join(&at, "type"),
                        format_args!(
                            "{} is not allowed in a tool result (text, image)",
                            echo(other)
                        ),
                    )),
                }
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(ApiError::invalid_field(
                &at,
                "must be a string or an array of content blocks",
            ))
        }
    };
    if block.get("is_error").and_then(Value::as_bool) == Some(true) {
        parts.insert(0, json!({"type": "text", "text": "[tool error] "}));
    }
    Ok(Message {
        content: parts_content(parts),
        tool_call_id: Some(id.to_owned()),
        ..Message::text(Role::Tool, "")
    })
}

/// Text-only parts become one string; anything else stays parts.
fn parts_content(parts: Vec<Value>) -> Content {
    if parts
        .iter()
        .all(|p| p.get("type").and_then(Value::as_str) == Some("text"))
    {
        let texts: Vec<&str> = parts.iter().filter_map(crate::chat::part_text).collect();
        if texts.len() <= 1 {
            return Content::Text(texts.concat());
        }
    }
    Content::Parts(parts)
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
