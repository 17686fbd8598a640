//! `POST /v1/responses` bodies → [`ChatRequest`].

use envelope::ApiError;
use serde_json::{json, Map, Value};

use crate::chat::tools::{self, ToolChoice};
use crate::chat::{ChatRequest, Content, Message, Role, Tool, ToolCall};
use crate::field::{self, echo, join, Object};

/// Fields that tune delivery or storage and change nothing a stateless gateway does.
const IGNORED: &[&str] = &[
    "store",
    "metadata",
    "include",
    "truncation",
    "service_tier",
    "prompt_cache_key",
    "safety_identifier",
    "stream_options",
];

/// Fields that need state this gateway does not keep.
const STATEFUL: &[&str] = &["previous_response_id", "conversation", "prompt"];

/// Parses and validates a Responses API request into the canonical chat request.
///
/// `instructions` becomes a leading system message; `input` is a string (one user message) or items:
/// messages (`input_text`, `output_text`, `refusal` and `input_image` parts), `function_call` items (an
/// assistant turn's tool calls) and `function_call_output` items (tool messages); `reasoning` items are
/// dropped. `max_output_tokens` → `max_tokens`; function `tools` (flat: `name`, `parameters`), `tool_choice`
/// and `parallel_tool_calls` map to their chat slots; `text.format` json_object/json_schema becomes chat's
/// `response_format`, `reasoning.effort` its `reasoning_effort`. Stateful features are a 400 naming the
/// field.
pub fn parse_request(body: &[u8]) -> Result<ChatRequest, ApiError> {
    let mut map = field::object(envelope::parse_value(body)?, "")?;
    let model = field::required_string(&mut map, "model", "")?;
    for key in STATEFUL {
        if field::take(&mut map, key).is_some() {
            return Err(ApiError::bad_request(
                "unsupported_field",
                format!(
                    "{key}: this gateway keeps no responses or conversations; send the whole conversation as input"
                ),
            )
            .with_param(key));
        }
    }
    if field::boolean(&mut map, "background")? == Some(true) {
        return Err(ApiError::bad_request(
            "unsupported_field",
            "background: background responses are not supported",
        )
        .with_param("background"));
    }
    let mut messages = Vec::new();
    if let Some(instructions) = field::string(&mut map, "instructions", "")? {
        if !instructions.is_empty() {
            messages.push(Message::text(Role::System, instructions));
        }
    }
    messages.extend(input(field::take(&mut map, "input"))?);
    let max_tokens = field::token_count(&mut map, "max_output_tokens")?;
    let temperature = field::number_in(&mut map, "temperature", 0.0, 2.0)?;
    let top_p = field::number_in(&mut map, "top_p", 0.0, 1.0)?;
    let stream = field::boolean(&mut map, "stream")?.unwrap_or(false);
    let user = field::string(&mut map, "user", "")?;
    let tools = function_tools(field::take(&mut map, "tools"))?;
    let tool_choice = choice(field::take(&mut map, "tool_choice"))?;
    tools::check_choice(&tools, tool_choice.as_ref(), "tool_choice")?;
    let parallel_tool_calls = field::boolean(&mut map, "parallel_tool_calls")?;
    let mut extra = Object::new();
    if let Some(format) = text_format(field::take(&mut map, "text"))? {
        extra.insert("response_format".into(), format);
    }
    if let Some(effort) = reasoning_effort(field::take(&mut map, "reasoning"))? {
        extra.insert("reasoning_effort".into(), json!(effort));
    }
    for key in map.keys() {
        if !IGNORED.contains(&key.as_str()) {
            return Err(ApiError::unknown_field(key));
        }
    }
    Ok(ChatRequest {
        model,
        messages,
        max_tokens,
        temperature,
        top_p,
        stream,
        user,
        tools,
        tool_choice,
        parallel_tool_calls,
        extra,
        ..ChatRequest::default()
    })
}

fn input(value: Option<Value>) -> Result<Vec<Message>, ApiError> {
    let items = match value {
        None => return Err(ApiError::missing_field("input")),
        Some(Value::String(text)) if text.is_empty() => {
            return Err(ApiError::invalid_field("input", "must not be empty"))
        }
        Some(Value::String(text)) => return Ok(vec![Message::text(Role::User, text)]),
        Some(Value::Array(items)) if items.is_empty() => {
            return Err(ApiError::invalid_field("input", "must not be empty"))
        }
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(ApiError::invalid_field(
                "input",
                "must be a string or an array of input items",
            ))
        }
    };
    let mut messages: Vec<Message> = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let path = format!("input[{index}]");
        let mut map = field::object(item, &path)?;
        let kind = field::string(&mut map, "type", &path)?;
        match kind.as_deref() {
            None | Some("message") => messages.push(message(map, &path)?),
            Some("function_call") => {
                let call = ToolCall {
                    id: field::required_string(&mut map, "call_id", &path)?,
                    name: field::required_string(&mut map, "name", &path)?,
                    arguments: field::string(&mut map, "arguments", &path)?
                        .unwrap_or_else(|| "{}".to_owned()),
                };
                // Calls of one turn join the assistant message before them (or start one).
                match messages.last_mut() {
                    Some(last) if last.role == Role::Assistant => last.tool_calls.push(call),
                    _ => messages.push(Message {
                        tool_calls: vec![call],
                        ..Message::text(Role::Assistant, "")
                    }),
                }
            }
            Some("function_call_output") => {
                let id = field::required_string(&mut map, "call_id", &path)?;
                let at = join(&path, "output");
                let content = match field::take(&mut map, "output") {
                    None => return Err(ApiError::missing_field(&at)),
                    Some(Value::String(text)) => Content::Text(text),
                    Some(Value::Array(parts)) => parts_content(parts, &at)?,
                    Some(_) => {
                        return Err(ApiError::invalid_field(
                            &at,
                            "must be a string or an array of content parts",
                        ))
                    }
                };
                messages.push(Message {
                    content,
                    tool_call_id: Some(id),
                    ..Message::text(Role::Tool, "")
                });
            }
            // Another model's reasoning is of no use to the upstream that answers now.
            Some("reasoning") => {}
            Some(other) => {
                return Err(ApiError::bad_request(
                    "unsupported_field",
                    format!(
                        "{path}.type: {} items are not supported (message, function_call, function_call_output, reasoning)",
                        echo(other)
                    ),
                )
                .with_param(&join(&path, "type")))
            }
        }
    }
    Ok(messages)
}

fn message(mut map: Object, path: &str) -> Result<Message, ApiError> {
    let role_name = field::required_string(&mut map, "role", path)?;
    let role = match Role::parse(&role_name) {
        Some(role) if role != Role::Tool => role,
        _ => {
            return Err(ApiError::invalid_field(
                &join(path, "role"),
                format_args!(
                    "unknown role {} (expected user, assistant, system or developer)",
                    echo(&role_name)
                ),
            ))
        }
    };
    let at = join(path, "content");
    let content = match field::take(&mut map, "content") {
        None => return Err(ApiError::missing_field(&at)),
        Some(Value::String(text)) => Content::Text(text),
        Some(Value::Array(parts)) => parts_content(parts, &at)?,
        Some(_) => {
            return Err(ApiError::invalid_field(
                &at,
                "must be a string or an array of content parts",
            ))
        }
    };
    Ok(Message {
        content,
        ..Message::text(role, "")
    })
}

/// Responses content parts → chat parts (text and `image_url`); one text part becomes a string.
fn parts_content(parts: Vec<Value>, path: &str) -> Result<Content, ApiError> {
    let mut out = Vec::with_capacity(parts.len());
    for (index, part) in parts.iter().enumerate() {
        let at = format!("{path}[{index}]");
        let str_of = |key: &str| part.get(key).and_then(Value::as_str);
        match str_of("type") {
            Some("input_text" | "output_text" | "text") => {
                let text = str_of("text").ok_or_else(|| {
                    ApiError::invalid_field(&join(&at, "text"), "must be a string")
                })?;
                out.push(json!({"type": "text", "text": text}));
            }
            Some("refusal") => {
                out.push(json!({"type": "text", "text": str_of("refusal").unwrap_or_default()}))
            }
            Some("input_image") => {
                let url = str_of("image_url").ok_or_else(|| {
                    ApiError::bad_request(
                        "unsupported_field",
                        format!("{at}: images need an image_url (file_id needs stored files)"),
                    )
                    .with_param(&join(&at, "image_url"))
                })?;
                let mut image = Map::new();
                image.insert("url".into(), json!(url));
                if let Some(detail) = str_of("detail") {
                    image.insert("detail".into(), json!(detail));
                }
                out.push(json!({"type": "image_url", "image_url": image}));
            }
            other => {
                return Err(ApiError::bad_request(
                    "unsupported_field",
                    format!(
                    "{at}.type: {} parts are not supported (input_text, output_text, input_image)",
                    echo(other.unwrap_or("(none)"))
                ),
                )
                .with_param(&join(&at, "type")))
            }
        }
    }
    let texts: Vec<&str> = out.iter().filter_map(crate::chat::part_text).collect();
    Ok(match (texts.as_slice(), out.len()) {
        ([one], 1) => Content::Text((*one).to_owned()),
        _ => Content::Parts(out),
    })
}

/// Function tools, flat as the Responses API defines them.
fn function_tools(value: Option<Value>) -> Result<Vec<Tool>, ApiError> {
    let items = match value {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(ApiError::invalid_field("tools", "must be an array")),
    };
    // The chat form wraps each definition in `function`: reuse its checks.
    let wrapped = items
        .into_iter()
        .enumerate()
        .map(
            |(index, item)| match item.get("type").and_then(Value::as_str) {
                Some("function") => {
                    let mut function = item.as_object().cloned().unwrap_or_default();
                    function.remove("type");
                    Ok(json!({"type": "function", "function": function}))
                }
                other => Err(ApiError::bad_request(
                    "unsupported_field",
                    format!(
                        "tools[{index}].type: {} tools are not supported (only function)",
                        echo(other.unwrap_or("(none)"))
                    ),
                )
                .with_param(&format!("tools[{index}].type"))),
            },
        )
        .collect::<Result<Vec<_>, _>>()?;
    tools::openai::parse_tools(Some(Value::Array(wrapped))).map_err(|e| {
        // `tools[0].function.name` → `tools[0].name`: name the field as the caller sent it.
        let param = e.param.as_deref().map(|p| p.replace(".function", ""));
        let message = e.message.replace(".function", "");
        ApiError { message, ..e }.with_param(param.as_deref().unwrap_or("tools"))
    })
}

fn choice(value: Option<Value>) -> Result<Option<ToolChoice>, ApiError> {
    match value {
        Some(Value::Object(map)) => {
            if map.get("type").and_then(Value::as_str) != Some("function") {
                return Err(ApiError::invalid_field(
                    "tool_choice.type",
                    "must be \"function\" (or use auto, none, required)",
                ));
            }
            let name = map
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::missing_field("tool_choice.name"))?;
            Ok(Some(ToolChoice::Named(name.to_owned())))
        }
        other => tools::openai::parse_choice(other),
    }
}

/// `text.format`: `text` is the default; `json_object` and `json_schema` become chat's `response_format`.
fn text_format(value: Option<Value>) -> Result<Option<Value>, ApiError> {
    let Some(format) = value.as_ref().and_then(|t| t.get("format")) else {
        return Ok(None);
    };
    match format.get("type").and_then(Value::as_str) {
        None | Some("text") => Ok(None),
        Some("json_object") => Ok(Some(json!({"type": "json_object"}))),
        Some("json_schema") => {
            let mut schema = format.as_object().cloned().unwrap_or_default();
            schema.remove("type");
            Ok(Some(json!({"type": "json_schema", "json_schema": schema})))
        }
        Some(other) => Err(ApiError::invalid_field(
            "text.format.type",
            format_args!(
                "unknown format {} (expected text, json_object or json_schema)",
                echo(other)
            ),
        )),
    }
}

fn reasoning_effort(value: Option<Value>) -> Result<Option<String>, ApiError> {
    match value.as_ref().and_then(|r| r.get("effort")) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(effort)) => Ok(Some(effort.clone())),
        Some(_) => Err(ApiError::invalid_field(
            "reasoning.effort",
            "must be a string",
        )),
    }
}
