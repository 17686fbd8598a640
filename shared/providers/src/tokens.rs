//! A rough prompt size, for reserving rate-limit and budget capacity before the upstream says
//! what it actually counted.

use serde_json::Value;

use crate::chat::{ChatRequest, Content};

/// Per-message framing (role markers and separators), per OpenAI's published rule of thumb.
const TOKENS_PER_MESSAGE: u64 = 4;

/// What the reply is primed with.
const TOKENS_PER_REPLY: u64 = 3;

/// A flat guess per non-text part (an image at low detail is 85 tokens, at high detail more).
const TOKENS_PER_OTHER_PART: u64 = 256;

/// Text by [`estimate_text_tokens`], plus per-message overhead; tool definitions and calls count by
/// their JSON size. An estimate, not a tokenizer, and meant to err high: it reserves
/// rate-limit capacity that the upstream's real count settles afterwards.
pub fn estimate_prompt_tokens(req: &ChatRequest) -> u64 {
    let messages: u64 = req
        .messages
        .iter()
        .map(|message| {
            let name = message.name.as_deref().map_or(0, chars_to_tokens);
            let calls: u64 = message
                .tool_calls
                .iter()
                .map(|c| {
                    chars_to_tokens(&c.id)
                        + chars_to_tokens(&c.name)
                        + chars_to_tokens(&c.arguments)
                })
                .sum();
            let answers = message.tool_call_id.as_deref().map_or(0, chars_to_tokens);
            TOKENS_PER_MESSAGE + content_tokens(&message.content) + name + calls + answers
        })
        .sum();
    let tools: u64 = req
        .tools
        .iter()
        .map(|tool| {
            chars_to_tokens(&tool.name)
                + tool.description.as_deref().map_or(0, chars_to_tokens)
                + chars_to_tokens(&tool.parameters.to_string())
        })
        .sum();
    messages + tools + TOKENS_PER_REPLY
}

fn content_tokens(content: &Content) -> u64 {
    let others = match content {
        Content::Text(_) => 0,
        Content::Parts(parts) => parts
            .iter()
            .filter(|part| part.get("type").and_then(Value::as_str) != Some("text"))
            .count() as u64,
    };
    chars_to_tokens(&content.text()) + others * TOKENS_PER_OTHER_PART
}

fn chars_to_tokens(text: &str) -> u64 {
    estimate_text_tokens(text)
}

/// A conservative token count for `text`: one per three ASCII characters (English averages about
/// four) and one per other character (CJK scripts run about one token a character, so counting
/// characters/4 undercounts them ~4×), two outside the Basic Multilingual Plane (emoji).
pub fn estimate_text_tokens(text: &str) -> u64 {
    let (mut ascii, mut other) = (0u64, 0u64);
    for c in text.chars() {
        match c.len_utf8() {
            1 => ascii += 1,
            4 => other += 2,
            _ => other += 1,
        }
    }
    ascii.div_ceil(3) + other
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{Message, Role};
    use serde_json::json;

    fn request(messages: Vec<Message>) -> ChatRequest {
        ChatRequest {
            model: "m".into(),
            messages,
            ..ChatRequest::default()
        }
    }

    #[test]
    fn counts_characters_and_messages() {
        let req = request(vec![
            Message::text(Role::System, "12345678"),
            Message::text(Role::User, "123"),
        ]);
        // (4 + 3) + (4 + 1) + 3
        assert_eq!(estimate_prompt_tokens(&req), 15);
    }

    #[test]
    fn counts_parts_and_tools() {
        let mut req = request(vec![Message {
            content: Content::Parts(vec![
                json!({"type": "text", "text": "abcd"}),
                json!({"type": "image_url", "image_url": {"url": "https://x"}}),
            ]),
            ..Message::text(Role::User, "")
        }]);
        assert_eq!(estimate_prompt_tokens(&req), 4 + 2 + 256 + 3);
        req.tools.push(crate::chat::Tool {
            name: "abc".into(),
            description: Some("123456".into()),
            parameters: json!({}),
            strict: None,
        });
        // Name 1, description 2, `{}` 1.
        assert_eq!(estimate_prompt_tokens(&req), 4 + 2 + 256 + 3 + 4);
        req.messages.push(Message {
            tool_calls: vec![crate::chat::ToolCall {
                id: "call_1".into(),
                name: "abc".into(),
                arguments: "{\"q\":1}".into(),
            }],
            ..Message::text(Role::Assistant, "")
        });
        // 4 per message, id 2, name 1, arguments 7 characters: 3.
        assert_eq!(
            estimate_prompt_tokens(&req),
            4 + 2 + 256 + 3 + 4 + 4 + 2 + 1 + 3
        );
    }

    #[test]
    fn multibyte_text_counts_characters() {
        let req = request(vec![Message::text(Role::User, "éééé")]);
        assert_eq!(estimate_prompt_tokens(&req), 4 + 4 + 3);
    }

    /// chars/4 counted 25 CJK characters as 7 tokens; real tokenizers count about 25-35.
    #[test]
    fn cjk_text_is_not_undercounted() {
        let text = "日本語のテキストは一文字がおよそ一トークンになります。中文也是";
        let chars = text.chars().count() as u64;
        assert!(estimate_text_tokens(text) >= chars);
        assert_eq!(estimate_text_tokens("😀😀"), 4);
        assert_eq!(estimate_text_tokens("hello world!"), 4);
        assert_eq!(estimate_text_tokens(""), 0);
    }
}
