//! `ChatResponse`, `FinishReason`, `Usage` and the streaming `Delta`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::tools::ToolCall;

/// A complete answer, whatever provider produced it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ChatResponse {
    /// The upstream's id (`chatcmpl-…`, `msg_…`); the shell may replace it with its own.
    pub id: String,
    /// The model the upstream says answered.
    pub model: String,
    /// Unix seconds; 0 when the upstream does not say (Anthropic), for the shell to fill in
    /// from its clock.
    pub created: i64,
    pub choices: Vec<Choice>,
    pub usage: Usage,
}

impl ChatResponse {
    /// The first choice's text (empty without choices).
    pub fn text(&self) -> &str {
        self.choices
            .first()
            .map_or("", |choice| choice.text.as_str())
    }

    /// The first choice's finish reason (`Stop` without choices).
    pub fn finish_reason(&self) -> FinishReason {
        self.choices
            .first()
            .map_or(FinishReason::Stop, |choice| choice.finish_reason.clone())
    }
}

/// One generated alternative.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Choice {
    pub index: u32,
    pub text: String,
    /// The tools the model called, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    pub finish_reason: FinishReason,
}

/// Why generation stopped, in OpenAI's vocabulary.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FinishReason {
    Stop,
    Length,
    ContentFilter,
    ToolCalls,
    /// A reason this crate has no name for, kept verbatim.
    Other(String),
}

impl FinishReason {
    /// From an OpenAI `finish_reason` (`function_call` is the legacy name of `tool_calls`).
    pub fn from_openai(reason: &str) -> Self {
        match reason {
            "stop" => Self::Stop,
            "length" => Self::Length,
            "content_filter" => Self::ContentFilter,
            "tool_calls" | "function_call" => Self::ToolCalls,
            other => Self::Other(other.to_owned()),
        }
    }

    /// From an Anthropic `stop_reason`.
    pub fn from_anthropic(reason: &str) -> Self {
        match reason {
            "end_turn" | "stop_sequence" => Self::Stop,
            "max_tokens" | "model_context_window_exceeded" => Self::Length,
            "tool_use" => Self::ToolCalls,
            "refusal" => Self::ContentFilter,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The OpenAI `finish_reason`.
    pub fn as_openai(&self) -> &str {
        match self {
            Self::Stop => "stop",
            Self::Length => "length",
            Self::ContentFilter => "content_filter",
            Self::ToolCalls => "tool_calls",
            Self::Other(other) => other,
        }
    }

    /// The Anthropic `stop_reason`; a reason Anthropic has no name for becomes `end_turn`.
    pub fn as_anthropic(&self) -> &str {
        match self {
            Self::Stop => "end_turn",
            Self::Length => "max_tokens",
            Self::ToolCalls => "tool_use",
            Self::ContentFilter => "refusal",
            Self::Other(other) if other == "pause_turn" => "pause_turn",
            Self::Other(_) => "end_turn",
        }
    }
}

impl Serialize for FinishReason {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(self.as_openai())
    }
}

impl<'de> Deserialize<'de> for FinishReason {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let name = String::deserialize(de)?;
        Ok(Self::from_openai(&name))
    }
}

/// Tokens the upstream billed.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Usage {
    /// Input tokens, cached ones included.
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl Usage {
    pub fn total_tokens(&self) -> u64 {
        self.prompt_tokens.saturating_add(self.completion_tokens)
    }
}

/// What a stream carries, provider-neutral.
#[derive(Clone, Debug, PartialEq)]
pub enum Delta {
    /// The upstream's message id and model; first, once.
    Start {
        id: String,
        model: String,
    },
    /// More generated text.
    Text(String),
    /// The model starts its `index`-th tool call (0, 1, … in order).
    ToolCall {
        index: u32,
        id: String,
        name: String,
    },
    /// More of the `index`-th call's arguments (JSON text, in fragments).
    ToolArgs {
        index: u32,
        fragment: String,
    },
    Finish(FinishReason),
    /// The billed usage so far (the last one wins).
    Usage(Usage),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_reasons_map_to_openai_names() {
        let cases = [
            ("end_turn", "stop"),
            ("stop_sequence", "stop"),
            ("max_tokens", "length"),
            ("tool_use", "tool_calls"),
            ("refusal", "content_filter"),
            ("pause_turn", "pause_turn"),
        ];
        for (anthropic, openai) in cases {
            assert_eq!(
                FinishReason::from_anthropic(anthropic).as_openai(),
                openai,
                "{anthropic}"
            );
        }
    }

    #[test]
    fn openai_reasons_map_to_anthropic_names() {
        let cases = [
            ("stop", "end_turn"),
            ("length", "max_tokens"),
            ("tool_calls", "tool_use"),
            ("function_call", "tool_use"),
            ("content_filter", "refusal"),
            ("weird", "end_turn"),
        ];
        for (openai, anthropic) in cases {
            assert_eq!(
                FinishReason::from_openai(openai).as_anthropic(),
                anthropic,
                "{openai}"
            );
        }
    }

    #[test]
    fn finish_reason_serializes_as_its_openai_name() {
        let json = serde_json::to_string(&FinishReason::Length).unwrap();
        assert_eq!(json, "\"length\"");
        let back: FinishReason = serde_json::from_str("\"tool_calls\"").unwrap();
        assert_eq!(back, FinishReason::ToolCalls);
    }

    #[test]
    fn total_is_the_sum() {
        let usage = Usage {
            prompt_tokens: 3,
            completion_tokens: 4,
        };
        assert_eq!(usage.total_tokens(), 7);
        let huge = Usage {
            prompt_tokens: u64::MAX,
            completion_tokens: 1,
        };
        assert_eq!(huge.total_tokens(), u64::MAX);
    }
}
