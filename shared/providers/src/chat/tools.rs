//! Tools in the canonical request and response: the definitions a caller offers, how the model may use
//! them, and the calls it makes. The wire shapes differ (OpenAI wraps a definition in
//! `{"type":"function","function":{…}}` and sends arguments as a JSON string; Anthropic has flat
//! definitions with `input_schema` and arguments as a JSON object), so each wire format reads and writes
//! these here, in both directions.

use envelope::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::field::{echo, join};

/// A function the model may call.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Tool {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A JSON Schema object for the arguments.
    pub parameters: Value,
    /// OpenAI's structured-outputs flag (dropped for Anthropic, which has no such switch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// Whether and which tool the model must call.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ToolChoice {
    Auto,
    None,
    /// Some tool (OpenAI `required`, Anthropic `any`).
    Required,
    /// This tool.
    Named(String),
}

/// A call the model made: `arguments` is the JSON text of its arguments (OpenAI's form; Anthropic's
/// object is serialized into it).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// Tool names as both providers accept them: 1–64 characters of `[A-Za-z0-9_-]`.
fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn name_error(path: &str, name: &str) -> ApiError {
    ApiError::invalid_field(
        path,
        format_args!(
            "{} is not a valid tool name (1-64 letters, digits, _ or -)",
            echo(name)
        ),
    )
}

/// A `tools` array, or `None` when absent.
fn tool_items(value: Option<Value>) -> Result<Option<Vec<Value>>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items)),
        Some(_) => Err(ApiError::invalid_field("tools", "must be an array")),
    }
}

/// A tool's name must be valid and not taken by an earlier tool.
fn check_new_name(tools: &[Tool], name: &str, path: &str) -> Result<(), ApiError> {
    if !valid_name(name) {
        return Err(name_error(path, name));
    }
    if tools.iter().any(|t| t.name == name) {
        return Err(ApiError::invalid_field(
            path,
            format_args!("{} is defined twice", echo(name)),
        ));
    }
    Ok(())
}

fn object_schema(value: Option<&Value>, path: &str) -> Result<Value, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(json!({"type": "object", "properties": {}})),
        Some(schema @ Value::Object(_)) => Ok(schema.clone()),
        Some(_) => Err(ApiError::invalid_field(
            path,
            "must be a JSON Schema object",
        )),
    }
}

fn optional_string(value: Option<&Value>, path: &str) -> Result<Option<String>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(ApiError::invalid_field(path, "must be a string")),
    }
}

fn required_string(value: Option<&Value>, path: &str) -> Result<String, ApiError> {
    optional_string(value, path)?.ok_or_else(|| ApiError::missing_field(path))
}

/// Checks that a named choice names an offered tool.
pub(crate) fn check_choice(
    tools: &[Tool],
    choice: Option<&ToolChoice>,
    path: &str,
) -> Result<(), ApiError> {
    match choice {
        Some(ToolChoice::Named(name)) if !tools.iter().any(|t| &t.name == name) => {
            Err(ApiError::invalid_field(
                path,
                format_args!("names {}, which is not in tools", echo(name)),
            ))
        }
        Some(ToolChoice::Required | ToolChoice::Named(_)) if tools.is_empty() => Err(
            ApiError::invalid_field(path, "asks for a tool call but no tools are given"),
        ),
        _ => Ok(()),
    }
}

/// OpenAI: `tools` (function tools only), `tool_choice`, `parallel_tool_calls` and a message's
/// `tool_calls`, in both directions.
pub(crate) mod openai {
    use super::*;

    pub(crate) fn parse_tools(value: Option<Value>) -> Result<Vec<Tool>, ApiError> {
        let Some(items) = tool_items(value)? else {
            return Ok(Vec::new());
        };
        let mut tools: Vec<Tool> = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let path = format!("tools[{index}]");
            match item.get("type").and_then(Value::as_str) {
                Some("function") => {}
                Some(other) => {
                    return Err(ApiError::bad_request(
                        "unsupported_field",
                        format!(
                            "{path}.type: {} tools are not supported (only function)",
                            echo(other)
                        ),
                    )
                    .with_param(&join(&path, "type")))
                }
                None => return Err(ApiError::missing_field(&join(&path, "type"))),
            }
            let at = join(&path, "function");
            let function = item
                .get("function")
                .filter(|f| f.is_object())
                .ok_or_else(|| ApiError::invalid_field(&at, "must be an object"))?;
            let name = required_string(function.get("name"), &join(&at, "name"))?;
            check_new_name(&tools, &name, &join(&at, "name"))?;
            let strict = match function.get("strict") {
                None | Some(Value::Null) => None,
                Some(Value::Bool(b)) => Some(*b),
                Some(_) => {
                    return Err(ApiError::invalid_field(
                        &join(&at, "strict"),
                        "must be a boolean",
                    ))
                }
            };
            tools.push(Tool {
                description: optional_string(
                    function.get("description"),
                    &join(&at, "description"),
                )?,
                parameters: object_schema(function.get("parameters"), &join(&at, "parameters"))?,
                strict,
                name,
            });
        }
        Ok(tools)
    }

    pub(crate) fn parse_choice(value: Option<Value>) -> Result<Option<ToolChoice>, ApiError> {
        let path = "tool_choice";
        Ok(Some(match value {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(text)) => match text.as_str() {
                "auto" => ToolChoice::Auto,
                "none" => ToolChoice::None,
                "required" => ToolChoice::Required,
                other => {
                    return Err(ApiError::invalid_field(
                        path,
                        format_args!(
                            "unknown value {} (expected auto, none, required or a function)",
                            echo(other)
                        ),
                    ))
                }
            },
            Some(Value::Object(map)) => {
                if map.get("type").and_then(Value::as_str) != Some("function") {
                    return Err(ApiError::invalid_field(
                        "tool_choice.type",
                        "must be \"function\"",
                    ));
                }
                let name = map
                    .get("function")
                    .and_then(|f| f.get("name"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| ApiError::missing_field("tool_choice.function.name"))?;
                ToolChoice::Named(name.to_owned())
            }
            Some(_) => {
                return Err(ApiError::invalid_field(
                    path,
                    "must be a string or a function choice object",
                ))
            }
        }))
    }

    /// An assistant message's `tool_calls`.
    pub(crate) fn parse_calls(value: Option<Value>, path: &str) -> Result<Vec<ToolCall>, ApiError> {
        let at = join(path, "tool_calls");
        let items = match value {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(_) => return Err(ApiError::invalid_field(&at, "must be an array")),
        };
        items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let path = format!("{at}[{index}]");
                let function = item
                    .get("function")
                    .filter(|f| f.is_object())
                    .ok_or_else(|| {
                        ApiError::invalid_field(&join(&path, "function"), "must be an object")
                    })?;
                Ok(ToolCall {
                    id: required_string(item.get("id"), &join(&path, "id"))?,
                    name: required_string(function.get("name"), &join(&path, "function.name"))?,
                    arguments: optional_string(
                        function.get("arguments"),
                        &join(&path, "function.arguments"),
                    )?
                    .unwrap_or_else(|| "{}".to_owned()),
                })
            })
            .collect()
    }

    pub(crate) fn tools_json(tools: &[Tool]) -> Value {
        Value::Array(
            tools
                .iter()
                .map(|tool| {
                    let mut function = Map::new();
                    function.insert("name".into(), json!(tool.name));
                    if let Some(description) = &tool.description {
                        function.insert("description".into(), json!(description));
                    }
                    function.insert("parameters".into(), tool.parameters.clone());
                    if let Some(strict) = tool.strict {
                        function.insert("strict".into(), json!(strict));
                    }
                    json!({"type": "function", "function": function})
                })
                .collect(),
        )
    }

    pub(crate) fn choice_json(choice: &ToolChoice) -> Value {
        match choice {
            ToolChoice::Auto => json!("auto"),
            ToolChoice::None => json!("none"),
            ToolChoice::Required => json!("required"),
            ToolChoice::Named(name) => json!({"type": "function", "function": {"name": name}}),
        }
    }

    pub(crate) fn calls_json(calls: &[ToolCall]) -> Value {
        Value::Array(
            calls
                .iter()
                .map(|call| {
                    json!({
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments},
                    })
                })
                .collect(),
        )
    }
}

/// Anthropic: `tools` (custom tools), `tool_choice` with `disable_parallel_tool_use`, and `tool_use`
/// blocks, in both directions.
pub(crate) mod anthropic {
    use super::*;

    pub(crate) fn parse_tools(value: Option<Value>) -> Result<Vec<Tool>, ApiError> {
        let Some(items) = tool_items(value)? else {
            return Ok(Vec::new());
        };
        let mut tools: Vec<Tool> = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let path = format!("tools[{index}]");
            match item.get("type").and_then(Value::as_str) {
                None | Some("custom") => {}
                Some(other) => {
                    return Err(ApiError::bad_request(
                        "unsupported_field",
                        format!(
                            "{path}.type: server tool {} is not supported (only custom tools)",
                            echo(other)
                        ),
                    )
                    .with_param(&join(&path, "type")))
                }
            }
            let name = required_string(item.get("name"), &join(&path, "name"))?;
            check_new_name(&tools, &name, &join(&path, "name"))?;
            let schema = item
                .get("input_schema")
                .ok_or_else(|| ApiError::missing_field(&join(&path, "input_schema")))?;
            tools.push(Tool {
                description: optional_string(item.get("description"), &join(&path, "description"))?,
                parameters: object_schema(Some(schema), &join(&path, "input_schema"))?,
                strict: None,
                name,
            });
        }
        Ok(tools)
    }

    /// `tool_choice` → the choice and, from `disable_parallel_tool_use`, `parallel_tool_calls`.
    pub(crate) fn parse_choice(
        value: Option<Value>,
    ) -> Result<(Option<ToolChoice>, Option<bool>), ApiError> {
        let map = match value {
            None | Some(Value::Null) => return Ok((None, None)),
            Some(Value::Object(map)) => map,
            Some(_) => return Err(ApiError::invalid_field("tool_choice", "must be an object")),
        };
        let choice = match map.get("type").and_then(Value::as_str) {
            Some("auto") => ToolChoice::Auto,
            Some("any") => ToolChoice::Required,
            Some("none") => ToolChoice::None,
            Some("tool") => {
                ToolChoice::Named(required_string(map.get("name"), "tool_choice.name")?)
            }
            Some(other) => {
                return Err(ApiError::invalid_field(
                    "tool_choice.type",
                    format_args!(
                        "unknown value {} (expected auto, any, tool or none)",
                        echo(other)
                    ),
                ))
            }
            None => return Err(ApiError::missing_field("tool_choice.type")),
        };
        let parallel = match map.get("disable_parallel_tool_use") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(disable)) => Some(!disable),
            Some(_) => {
                return Err(ApiError::invalid_field(
                    "tool_choice.disable_parallel_tool_use",
                    "must be a boolean",
                ))
            }
        };
        Ok((Some(choice), parallel))
    }

    pub(crate) fn tools_json(tools: &[Tool]) -> Value {
        Value::Array(
            tools
                .iter()
                .map(|tool| {
                    let mut out = Map::new();
                    out.insert("name".into(), json!(tool.name));
                    if let Some(description) = &tool.description {
                        out.insert("description".into(), json!(description));
                    }
                    out.insert("input_schema".into(), tool.parameters.clone());
                    Value::Object(out)
                })
                .collect(),
        )
    }

    /// The `tool_choice` object; `parallel == Some(false)` disables parallel calls (not allowed with
    /// `none`, where it means nothing).
    pub(crate) fn choice_json(
        choice: Option<&ToolChoice>,
        parallel: Option<bool>,
    ) -> Option<Value> {
        let mut out = match choice {
            None if parallel == Some(false) => json!({"type": "auto"}),
            None => return None,
            Some(ToolChoice::Auto) => json!({"type": "auto"}),
            Some(ToolChoice::None) => return Some(json!({"type": "none"})),
            Some(ToolChoice::Required) => json!({"type": "any"}),
            Some(ToolChoice::Named(name)) => json!({"type": "tool", "name": name}),
        };
        if let (Some(false), Some(map)) = (parallel, out.as_object_mut()) {
            map.insert("disable_parallel_tool_use".into(), json!(true));
        }
        Some(out)
    }

    /// A `tool_use` block → a call (its input object serialized).
    pub(crate) fn call_from_block(block: &Value, path: &str) -> Result<ToolCall, ApiError> {
        let input = match block.get("input") {
            None | Some(Value::Null) => json!({}),
            Some(input @ Value::Object(_)) => input.clone(),
            Some(_) => {
                return Err(ApiError::invalid_field(
                    &join(path, "input"),
                    "must be an object",
                ))
            }
        };
        Ok(ToolCall {
            id: required_string(block.get("id"), &join(path, "id"))?,
            name: required_string(block.get("name"), &join(path, "name"))?,
            arguments: input.to_string(),
        })
    }

    /// A call → a `tool_use` block. Arguments that are not a JSON object cannot be sent to Anthropic.
    pub(crate) fn block_from_call(call: &ToolCall, path: &str) -> Result<Value, ApiError> {
        let input = input_object(&call.arguments).ok_or_else(|| {
            ApiError::invalid_field(
                &join(path, "function.arguments"),
                "must be a JSON object for anthropic models",
            )
        })?;
        Ok(json!({"type": "tool_use", "id": call.id, "name": call.name, "input": input}))
    }

    /// A response's call → a `tool_use` block; arguments a model produced that are not an object are
    /// passed as `{}` (the client should see the call rather than an error).
    pub(crate) fn response_block(call: &ToolCall) -> Value {
        let input = input_object(&call.arguments).unwrap_or_else(|| json!({}));
        json!({"type": "tool_use", "id": call.id, "name": call.name, "input": input})
    }

    fn input_object(arguments: &str) -> Option<Value> {
        if arguments.trim().is_empty() {
            return Some(json!({}));
        }
        serde_json::from_str::<Value>(arguments)
            .ok()
            .filter(Value::is_object)
    }
}

#[cfg(test)]
mod tests;
