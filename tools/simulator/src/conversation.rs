//! A chat request reduced to what the simulator answers from, whichever provider it came in as,
//! and the prompt-token rule.

use serde_json::Value;

use crate::directive::Directive;
use crate::tools::Call;

/// Tokens charged per message on top of its words, and once per request (a fixed framing cost,
/// like the real tokenizers' role and separator tokens).
const PER_MESSAGE: u64 = 3;
const PER_REQUEST: u64 = 3;

pub struct Conversation {
    pub model: String,
    /// The text of each message (a system prompt first, when it has its own field).
    pub texts: Vec<String>,
    /// The caller's output cap, if it set one.
    pub max_tokens: Option<u64>,
    pub stream: bool,
    /// OpenAI `stream_options.include_usage`: end the stream with a usage chunk.
    pub include_usage: bool,
    /// The tools the model calls instead of answering in text (see `tools`).
    pub calls: Vec<Call>,
}

impl Conversation {
    /// Σ over messages of (words + 3), plus 3.
    pub fn prompt_tokens(&self) -> u64 {
        let messages: u64 = self
            .texts
            .iter()
            .map(|text| words(text) + PER_MESSAGE)
            .sum();
        messages + PER_REQUEST
    }

    /// The `[[sim: ...]]` directives of every message, merged.
    pub fn directive(&self) -> Directive {
        Directive::scan(self.texts.iter().map(String::as_str))
    }
}

/// The text of a message's content: a string as is; an array of parts or blocks as the `text`
/// of each text part (and of the content of each `tool_result` block), joined by a space (so words
/// never fuse across parts); anything else (null content, images only) as no text.
pub fn text_of(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|part| match part.get("type").and_then(Value::as_str) {
                None | Some("text") => part.get("text").and_then(Value::as_str).map(str::to_owned),
                Some("tool_result") => part.get("content").map(text_of),
                Some(_) => None,
            })
            .filter(|text| !text.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// Whitespace-separated words.
pub fn words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn conversation(texts: &[&str]) -> Conversation {
        Conversation {
            model: "m".into(),
            texts: texts.iter().map(|t| t.to_string()).collect(),
            max_tokens: None,
            stream: false,
            include_usage: false,
            calls: Vec::new(),
        }
    }

    #[test]
    fn counts_words_plus_framing() {
        assert_eq!(conversation(&[]).prompt_tokens(), 3);
        assert_eq!(conversation(&["hello there"]).prompt_tokens(), 2 + 3 + 3);
        assert_eq!(
            conversation(&["be brief", "  a  b\nc "]).prompt_tokens(),
            5 + 6 + 3
        );
    }

    #[test]
    fn extracts_text_from_every_content_form() {
        assert_eq!(text_of(&json!("plain words")), "plain words");
        let parts = json!([
            {"type": "text", "text": "one"},
            {"type": "image_url", "image_url": {"url": "http://x"}},
            {"type": "text", "text": "two"}
        ]);
        assert_eq!(text_of(&parts), "one two");
        assert_eq!(text_of(&Value::Null), "");
    }

    #[test]
    fn finds_directives_in_any_message() {
        let c = conversation(&["sys", "hi [[sim: tokens=2]]"]);
        assert_eq!(c.directive().tokens, Some(2));
    }
}
