//! Upstream bodies → [`ChatResponse`].

use serde_json::Value;

use super::classification::error_in_body;
use super::{classify, ProviderKind, UpstreamError};
use crate::chat::tools::anthropic::call_from_block;
use crate::chat::{ChatResponse, Choice, FinishReason, ToolCall, Usage};

/// Reads a complete (non-streamed) answer.
///
/// A non-2xx status is classified from the body alone; call
/// [`classify_with_headers`](super::classify_with_headers) yourself to honour `Retry-After`. A 2xx body that is not the
/// expected JSON, or lacks `id`, `choices`/`content` or `usage`, is
/// [`UpstreamError::Malformed`]; OpenAI-compatible servers may omit `usage` (read as zero).
pub fn parse_response(
    kind: ProviderKind,
    status: u16,
    body: &[u8],
) -> Result<ChatResponse, UpstreamError> {
    if !(200..300).contains(&status) {
        return Err(classify(status, None, body));
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|_| malformed("the body is not JSON"))?;
    if let Some(err) = error_in_body(&value) {
        return Err(err);
    }
    match kind {
        ProviderKind::OpenAi => openai(&value, true),
        ProviderKind::OpenAiCompatible => openai(&value, false),
        ProviderKind::Anthropic => anthropic(&value),
        ProviderKind::Ideogram => Err(malformed("ideogram has no chat API")),
    }
}

fn openai(value: &Value, usage_required: bool) -> Result<ChatResponse, UpstreamError> {
    let choices = value
        .get("choices")
        .and_then(Value::as_array)
        .filter(|choices| !choices.is_empty())
        .ok_or_else(|| malformed("choices missing"))?;
    let usage = match value.get("usage").filter(|usage| !usage.is_null()) {
        Some(usage) => openai_usage(usage).ok_or_else(|| malformed("usage unreadable"))?,
        None if usage_required => return Err(malformed("usage missing")),
        None => Usage::default(),
    };
    Ok(ChatResponse {
        id: string(value, "id").ok_or_else(|| malformed("id missing"))?,
        model: string(value, "model").unwrap_or_default(),
        created: value.get("created").and_then(Value::as_i64).unwrap_or(0),
        choices: choices
            .iter()
            .zip(0u32..)
            .map(|(choice, position)| openai_choice(choice, position))
            .collect::<Result<_, _>>()?,
        usage,
    })
}

fn openai_choice(choice: &Value, position: u32) -> Result<Choice, UpstreamError> {
    let message = choice
        .get("message")
        .ok_or_else(|| malformed("choice without message"))?;
    // A refusal comes with `content: null`; the client should still see why.
    let text = string(message, "content")
        .or_else(|| string(message, "refusal"))
        .unwrap_or_default();
    let index = choice
        .get("index")
        .and_then(Value::as_u64)
        .and_then(|index| u32::try_from(index).ok())
        .unwrap_or(position);
    let finish_reason = choice
        .get("finish_reason")
        .and_then(Value::as_str)
        .map_or(FinishReason::Stop, FinishReason::from_openai);
    let tool_calls = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .map(|calls| calls.iter().filter_map(openai_call).collect())
        .unwrap_or_default();
    Ok(Choice {
        index,
        text,
        tool_calls,
        finish_reason,
    })
}

/// One `tool_calls` entry; entries without an id or name are not calls a client could answer.
fn openai_call(call: &Value) -> Option<ToolCall> {
    let function = call.get("function")?;
    Some(ToolCall {
        id: string(call, "id")?,
        name: string(function, "name")?,
        arguments: string(function, "arguments").unwrap_or_else(|| "{}".to_owned()),
    })
}

/// OpenAI usage: `prompt_tokens` already includes cached tokens.
pub(super) fn openai_usage(usage: &Value) -> Option<Usage> {
    Some(Usage {
        prompt_tokens: usage.get("prompt_tokens")?.as_u64()?,
        completion_tokens: usage.get("completion_tokens")?.as_u64()?,
    })
}

fn anthropic(value: &Value) -> Result<ChatResponse, UpstreamError> {
    let blocks = value
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("content missing"))?;
    // Text and tool calls reach the client; thinking blocks have no canonical slot.
    let of_type = |kind: &'static str| {
        blocks
            .iter()
            .filter(move |block| block.get("type").and_then(Value::as_str) == Some(kind))
    };
    let text: String = of_type("text")
        .filter_map(|block| block.get("text").and_then(Value::as_str))
        .collect();
    let tool_calls: Vec<ToolCall> = of_type("tool_use")
        .filter_map(|block| call_from_block(block, "content").ok())
        .collect();
    let usage = value
        .get("usage")
        .ok_or_else(|| malformed("usage missing"))?;
    let usage = Usage {
        prompt_tokens: anthropic_input_tokens(usage)
            .ok_or_else(|| malformed("usage unreadable"))?,
        completion_tokens: usage
            .get("output_tokens")
            .and_then(Value::as_u64)
            .ok_or_else(|| malformed("usage unreadable"))?,
    };
    let finish_reason = value
        .get("stop_reason")
        .and_then(Value::as_str)
        .map_or(FinishReason::Stop, FinishReason::from_anthropic);
    Ok(ChatResponse {
        id: string(value, "id").ok_or_else(|| malformed("id missing"))?,
        model: string(value, "model").unwrap_or_default(),
        created: 0,
        choices: vec![Choice {
            index: 0,
            text,
            tool_calls,
            finish_reason,
        }],
        usage,
    })
}

/// Anthropic's `input_tokens` excludes cache reads and writes; the prompt is all three.
pub(super) fn anthropic_input_tokens(usage: &Value) -> Option<u64> {
    let base = usage.get("input_tokens")?.as_u64()?;
    let cached: u64 = ["cache_creation_input_tokens", "cache_read_input_tokens"]
        .iter()
        .filter_map(|key| usage.get(*key).and_then(Value::as_u64))
        .sum();
    Some(base.saturating_add(cached))
}

fn string(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn malformed(detail: &str) -> UpstreamError {
    UpstreamError::Malformed {
        detail: detail.to_owned(),
    }
}
