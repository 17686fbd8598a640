//! The Anthropic upstream request: the canonical request translated to the Messages API.

use envelope::ApiError;
use serde_json::{json, Map, Value};

use super::{json_body, HttpRequest};
use crate::anthropic::API_VERSION;
use crate::chat::tools::anthropic as wire;
use crate::chat::{part_text, ChatRequest, Content, Message, Role};
use crate::field::echo;

/// Anthropic requires `max_tokens`; OpenAI clients often leave it out.
pub(crate) const DEFAULT_MAX_TOKENS: u32 = 4096;

/// OpenAI fields that change nothing Anthropic would do differently.
const HARMLESS: &[&str] = &["n", "stream_options", "store", "metadata", "service_tier"];

/// OpenAI's legacy function calling (superseded by tools): it has no translation.
const TOOL_FIELDS: &[&str] = &["function_call"];

pub(super) fn build(
    req: &ChatRequest,
    model: &str,
    base: &str,
    api_key: &str,
) -> Result<HttpRequest, ApiError> {
    let body = body(req, model)?;
    let mut headers = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        ("x-api-key".to_owned(), api_key.to_owned()),
        ("anthropic-version".to_owned(), API_VERSION.to_owned()),
    ];
    if req.stream {
        headers.push(("accept".to_owned(), "text/event-stream".to_owned()));
    }
    Ok(HttpRequest {
        method: "POST",
        url: format!("{base}/messages"),
        headers,
        body: json_body(&body),
    })
}

fn body(req: &ChatRequest, model: &str) -> Result<Value, ApiError> {
    check_extra(&req.extra)?;
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    let max_tokens = req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
    body.insert("max_tokens".into(), json!(max_tokens));
    let system = system(&req.messages);
    if !system.is_empty() {
        body.insert("system".into(), json!(system));
    }
    body.insert("messages".into(), Value::Array(turns(&req.messages)?));
    if let Some(temperature) = req.temperature {
        if temperature > 1.0 {
            return Err(ApiError::unprocessable(
                "temperature",
                "must be between 0 and 1 for anthropic models",
            ));
        }
        body.insert("temperature".into(), json!(temperature));
    }
    if let Some(top_p) = req.top_p {
        body.insert("top_p".into(), json!(top_p));
    }
    if !req.stop.is_empty() {
        body.insert("stop_sequences".into(), json!(req.stop));
    }
    if req.stream {
        body.insert("stream".into(), json!(true));
    }
    if let Some(user) = &req.user {
        body.insert("metadata".into(), json!({"user_id": user}));
    }
    if !req.tools.is_empty() {
        body.insert("tools".into(), wire::tools_json(&req.tools));
    }
    let parallel = req.parallel_tool_calls.filter(|_| !req.tools.is_empty());
    if let Some(choice) = wire::choice_json(req.tool_choice.as_ref(), parallel) {
        body.insert("tool_choice".into(), choice);
    }
    Ok(Value::Object(body))
}

/// Pass-through fields are fine when harmless or set to a do-nothing value (`null`, `false`,
/// `0`, empty, `response_format: text`); anything else would be silently lost, so it is a 400.
fn check_extra(extra: &Map<String, Value>) -> Result<(), ApiError> {
    for (key, value) in extra {
        let text_format = key == "response_format" && value.get("type") == Some(&json!("text"));
        if HARMLESS.contains(&key.as_str()) || is_neutral(value) || text_format {
            continue;
        }
        return Err(not_supported(key));
    }
    Ok(())
}

fn is_neutral(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        Value::Bool(true) => false,
    }
}

fn not_supported(field: &str) -> ApiError {
    ApiError::bad_request(
        "unsupported_field",
        format!("{field}: not supported for anthropic models"),
    )
}

/// System and developer messages, wherever they stand, become the one `system` prompt.
fn system(messages: &[Message]) -> String {
    let texts: Vec<String> = messages
        .iter()
        .filter(|m| m.role.is_instruction())
        .map(|m| m.content.text())
        .filter(|text| !text.is_empty())
        .collect();
    texts.join("\n\n")
}

/// User and assistant turns, consecutive same-role turns merged (Anthropic wants them to
/// alternate) and empty ones dropped (it rejects empty text blocks).
fn turns(messages: &[Message]) -> Result<Vec<Value>, ApiError> {
    let mut turns: Vec<(Role, Vec<Value>)> = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        if message.role.is_instruction() {
            continue;
        }
        let blocks = blocks(index, message)?;
        if blocks.is_empty() {
            continue;
        }
        // Tool results travel in user turns.
        let role = match message.role {
            Role::Tool => Role::User,
            role => role,
        };
        match turns.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    if turns.is_empty() {
        return Err(ApiError::invalid_field(
            "messages",
            "anthropic models need at least one user or assistant message",
        ));
    }
    Ok(turns
        .into_iter()
        .map(|(role, blocks)| turn(role, blocks))
        .collect())
}

fn turn(role: Role, blocks: Vec<Value>) -> Value {
    let content = match <[Value; 1]>::try_from(blocks) {
        Ok([block]) => match part_text(&block) {
            Some(text) => json!(text),
            None => json!([block]),
        },
        Err(blocks) => Value::Array(blocks),
    };
    json!({"role": role.as_str(), "content": content})
}

fn blocks(index: usize, message: &Message) -> Result<Vec<Value>, ApiError> {
    let path = format!("messages[{index}]");
    let tool_field = TOOL_FIELDS
        .iter()
        .find(|key| message.extra.get(**key).is_some_and(|v| !is_neutral(v)));
    if let Some(key) = tool_field {
        return Err(not_supported(&format!("{path}.{key}")));
    }
    let mut blocks = content_blocks(&message.content, &path)?;
    if message.role == Role::Tool {
        // A tool's answer: one `tool_result` block holding the content (Anthropic accepts an empty one).
        let id = message.tool_call_id.as_deref().unwrap_or_default();
        let content = match <[Value; 1]>::try_from(blocks) {
            Ok([block]) => match part_text(&block) {
                Some(text) => json!(text),
                None => json!([block]),
            },
            Err(blocks) => Value::Array(blocks),
        };
        return Ok(vec![
            json!({"type": "tool_result", "tool_use_id": id, "content": content}),
        ]);
    }
    for (i, call) in message.tool_calls.iter().enumerate() {
        blocks.push(wire::block_from_call(
            call,
            &format!("{path}.tool_calls[{i}]"),
        )?);
    }
    Ok(blocks)
}

fn content_blocks(content: &Content, path: &str) -> Result<Vec<Value>, ApiError> {
    match content {
        Content::Text(text) if text.is_empty() => Ok(Vec::new()),
        Content::Text(text) => Ok(vec![json!({"type": "text", "text": text})]),
        Content::Parts(parts) => parts
            .iter()
            .enumerate()
            .filter_map(|(i, part)| block(part, &format!("{path}.content[{i}]")).transpose())
            .collect(),
    }
}

/// One OpenAI content part as an Anthropic block; `None` for an empty text part.
fn block(part: &Value, path: &str) -> Result<Option<Value>, ApiError> {
    match part.get("type").and_then(Value::as_str) {
        Some("text") => Ok(part_text(part)
            .filter(|text| !text.is_empty())
            .map(|text| json!({"type": "text", "text": text}))),
        Some("image_url") => image(part, path).map(Some),
        other => Err(ApiError::bad_request(
            "unsupported_field",
            format!(
                "{path}.type: {} is not supported for anthropic models",
                echo(other.unwrap_or("(none)"))
            ),
        )),
    }
}

/// `image_url` with a `data:` URL → a base64 image block; an http(s) URL → a URL image block.
fn image(part: &Value, path: &str) -> Result<Value, ApiError> {
    let url = part
        .get("image_url")
        .and_then(|image| image.get("url").or(Some(image)))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(json!({"type": "image", "source": {"type": "url", "url": url}}));
    }
    let inline = url
        .strip_prefix("data:")
        .and_then(|rest| rest.split_once(";base64,"));
    match inline {
        Some((media_type, data)) if !media_type.is_empty() => Ok(json!({
            "type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": data},
        })),
        _ => Err(ApiError::invalid_field(
            &format!("{path}.image_url.url"),
            "must be an http(s) URL or a base64 data URL",
        )),
    }
}
