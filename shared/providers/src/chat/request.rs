//! `ChatRequest` and its messages.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::tools::{Tool, ToolCall, ToolChoice};

/// A chat request in our canonical (OpenAI-compatible) shape.
///
/// The wire parsers ([`crate::openai::parse_request`], [`crate::anthropic::parse_request`])
/// validate and fill this; the serde derives exist for storing and replaying requests.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    /// `max_tokens`, or OpenAI's newer `max_completion_tokens`.
    #[serde(
        default,
        alias = "max_completion_tokens",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Stop sequences; the wire accepts a string or an array.
    #[serde(
        default,
        deserialize_with = "string_or_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub stop: Vec<String>,
    #[serde(default)]
    pub stream: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Functions the model may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Whether the model may make several calls in one turn (`None`: the provider's default, yes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// Everything else an OpenAI client sent (`response_format`, `stream_options`…), passed through
    /// verbatim to OpenAI-style upstreams only.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ChatRequest {
    /// Whether the client asked for a final usage chunk (`stream_options.include_usage`).
    pub fn include_usage(&self) -> bool {
        self.extra
            .get("stream_options")
            .and_then(|options| options.get("include_usage"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}

/// Who wrote a message.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    Developer,
    User,
    Assistant,
    Tool,
}

impl Role {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Developer => "developer",
            Self::User => "user",
            Self::Assistant => "assistant",
            Self::Tool => "tool",
        }
    }

    /// The role with this wire name.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "system" => Self::System,
            "developer" => Self::Developer,
            "user" => Self::User,
            "assistant" => Self::Assistant,
            "tool" => Self::Tool,
            _ => return None,
        })
    }

    /// System and developer messages are instructions rather than turns.
    pub fn is_instruction(self) -> bool {
        matches!(self, Self::System | Self::Developer)
    }
}

/// One message of the conversation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Message {
    pub role: Role,
    /// `null` (an assistant turn holding only tool calls) reads as empty text.
    #[serde(default, deserialize_with = "nullable_content")]
    pub content: Content,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// An assistant turn's calls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// A tool message: the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Other fields, passed through to OpenAI-style upstreams only.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Message {
    /// A message with plain text content.
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        Self {
            role,
            content: Content::Text(text.into()),
            name: None,
            tool_calls: Vec::new(),
            tool_call_id: None,
            extra: Map::new(),
        }
    }
}

/// A message's content: a string, or OpenAI content parts (`{"type":"text","text":…}`,
/// `{"type":"image_url",…}`) kept as JSON.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Parts(Vec<Value>),
}

impl Default for Content {
    fn default() -> Self {
        Self::Text(String::new())
    }
}

impl Content {
    /// The text, with the text parts concatenated; other parts are skipped.
    pub fn text(&self) -> String {
        match self {
            Self::Text(text) => text.clone(),
            Self::Parts(parts) => parts.iter().filter_map(part_text).collect(),
        }
    }

    /// Whether there is no text and no other part.
    pub fn is_empty(&self) -> bool {
        match self {
            Self::Text(text) => text.is_empty(),
            Self::Parts(parts) => parts.is_empty(),
        }
    }
}

/// The text of a `{"type":"text","text":…}` part.
pub(crate) fn part_text(part: &Value) -> Option<&str> {
    if part.get("type").and_then(Value::as_str) != Some("text") {
        return None;
    }
    part.get("text").and_then(Value::as_str)
}

fn string_or_list<'de, D: Deserializer<'de>>(de: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stop {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<Stop>::deserialize(de)? {
        None => Vec::new(),
        Some(Stop::One(one)) => vec![one],
        Some(Stop::Many(many)) => many,
    })
}

fn nullable_content<'de, D: Deserializer<'de>>(de: D) -> Result<Content, D::Error> {
    Ok(Option::<Content>::deserialize(de)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serde_round_trip_keeps_extra_fields() {
        let raw = json!({
            "model": "gpt-4o",
            "messages": [
                {"role": "user", "content": "hi", "name": "ann"},
                {"role": "assistant", "content": null,
                 "tool_calls": [{"id": "call_1", "name": "f", "arguments": "{}"}]},
            ],
            "max_completion_tokens": 5,
            "stop": "END",
            "tools": [{"name": "f", "parameters": {"type": "object"}}],
        });
        let req: ChatRequest = serde_json::from_value(raw).unwrap();
        assert_eq!(req.max_tokens, Some(5));
        assert_eq!(req.stop, vec!["END"]);
        assert_eq!(req.tools[0].name, "f");
        assert_eq!(req.messages[1].tool_calls[0].id, "call_1");
        assert_eq!(req.messages[1].content, Content::Text(String::new()));
        let back: ChatRequest =
            serde_json::from_value(serde_json::to_value(&req).unwrap()).unwrap();
        assert_eq!(back, req);
    }

    #[test]
    fn content_text_concatenates_text_parts() {
        let content = Content::Parts(vec![
            json!({"type": "text", "text": "a"}),
            json!({"type": "image_url", "image_url": {"url": "https://x/y.png"}}),
            json!({"type": "text", "text": "b"}),
        ]);
        assert_eq!(content.text(), "ab");
        assert!(!content.is_empty());
        assert!(Content::Parts(vec![]).is_empty());
    }

    #[test]
    fn include_usage_reads_stream_options() {
        let mut req: ChatRequest =
            serde_json::from_value(json!({"model": "m", "messages": []})).unwrap();
        assert!(!req.include_usage());
        req.extra
            .insert("stream_options".into(), json!({"include_usage": true}));
        assert!(req.include_usage());
    }

    #[test]
    fn roles_round_trip() {
        for role in [
            Role::System,
            Role::Developer,
            Role::User,
            Role::Assistant,
            Role::Tool,
        ] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("function"), None);
    }
}
