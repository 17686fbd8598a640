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
    count_prompt(req, estimate_text_tokens, TOKENS_PER_OTHER_PART, 0)
}

/// A flat allowance per non-text part for [`prompt_tokens_bound`]: above what OpenAI (about 1,100 at
/// high detail) and Anthropic (about 1,600 for the largest image they keep unscaled) count an image.
const BOUND_PER_OTHER_PART: u64 = 2_000;

/// What providers add when tools are offered (Anthropic documents 346 tokens for its tool-use system
/// prompt, OpenAI does not publish its figure): an allowance above both.
const BOUND_TOOLS_OVERHEAD: u64 = 1_024;

/// An upper bound of the prompt tokens any provider can count for `req`, for budget reservations
/// (which must never be exceeded): every text counts one token per UTF-8 byte (a byte-level BPE token
/// covers at least one byte), plus the same per-message framing as the estimate, a flat allowance per
/// image or other part, and one for the tool-use preamble when tools are offered.
pub fn prompt_tokens_bound(req: &ChatRequest) -> u64 {
    let overhead = if req.tools.is_empty() {
        0
    } else {
        BOUND_TOOLS_OVERHEAD
    };
    count_prompt(req, byte_tokens, BOUND_PER_OTHER_PART, overhead)
}

/// One token per byte: no tokenizer makes more tokens than a text has bytes.
pub fn byte_tokens(text: &str) -> u64 {
    text.len() as u64
}

fn count_prompt(
    req: &ChatRequest,
    text: fn(&str) -> u64,
    per_other: u64,
    tools_overhead: u64,
) -> u64 {
    let messages: u64 = req
        .messages
        .iter()
        .map(|message| {
            let name = message.name.as_deref().map_or(0, text);
            let calls: u64 = message
                .tool_calls
                .iter()
                .map(|c| text(&c.id) + text(&c.name) + text(&c.arguments))
                .sum();
            let answers = message.tool_call_id.as_deref().map_or(0, text);
            TOKENS_PER_MESSAGE
                + content_tokens(&message.content, text, per_other)
                + name
                + calls
                + answers
        })
        .sum();
    let tools: u64 = req
        .tools
        .iter()
        .map(|tool| {
            text(&tool.name)
                + tool.description.as_deref().map_or(0, text)
                + text(&tool.parameters.to_string())
        })
        .sum();
    messages + tools + TOKENS_PER_REPLY + tools_overhead
}

fn content_tokens(content: &Content, text: fn(&str) -> u64, per_other: u64) -> u64 {
    let others = match content {
        Content::Text(_) => 0,
        Content::Parts(parts) => parts
            .iter()
            .filter(|part| part.get("type").and_then(Value::as_str) != Some("text"))
            .count() as u64,
    };
    text(&content.text()) + others * per_other
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
    fn the_bound_counts_bytes_and_is_never_below_the_estimate() {
        let mut req = request(vec![
            Message::text(Role::System, "12345678"),
            Message::text(Role::User, "héllo 世界 🎉"),
        ]);
        // (4 + 8) + (4 + 18) + 3
        assert_eq!(prompt_tokens_bound(&req), 37);
        assert!(prompt_tokens_bound(&req) >= estimate_prompt_tokens(&req));
        req.tools = vec![crate::chat::Tool {
            name: "f".into(),
            description: None,
            parameters: json!({}),
            strict: None,
        }];
        // + the tool's name and "{}" + the tool-use allowance
        assert_eq!(prompt_tokens_bound(&req), 37 + 1 + 2 + BOUND_TOOLS_OVERHEAD);
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
