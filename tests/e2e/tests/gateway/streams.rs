//! Reading the two streaming formats as their SDKs do: OpenAI `data:` chunks ending in `[DONE]`, and
//! Anthropic named events whose `event:` equals each payload's `type`. The readers check the framing; the
//! `expect_*` functions check a complete stream's content.

use e2e::client::Resp;
use e2e::sse::{self, Frame};
use e2e::{ensure, ensure_eq};
use serde_json::Value;

use crate::wire::{str_at, u64_at, Tokens};

/// What an OpenAI SDK gets out of a `chat.completion.chunk` stream.
#[derive(Debug, Default)]
pub struct OpenAiStream {
    pub chunks: Vec<Value>,
    /// The concatenated `choices[0].delta.content`.
    pub text: String,
    pub finish_reason: Option<String>,
    /// From the chunk with `choices: []` (only with `stream_options.include_usage`).
    pub usage: Option<Tokens>,
    /// The last frame was `data: [DONE]`.
    pub done: bool,
    /// A `data: {"error": …}` frame.
    pub error: Option<Value>,
}

/// What an Anthropic SDK gets out of a Messages event stream.
#[derive(Debug, Default)]
pub struct AnthropicStream {
    /// Event names in order.
    pub events: Vec<String>,
    pub text: String,
    pub stop_reason: Option<String>,
    /// As the SDKs accumulate it: `message_start`'s usage, overridden by `message_delta`'s counts.
    pub usage: Tokens,
    pub message_id: Option<String>,
    pub model: Option<String>,
    /// The payload of an `event: error`.
    pub error: Option<Value>,
}

/// A 200 `text/event-stream` response's frames.
fn frames(resp: &Resp) -> Result<Vec<Frame>, String> {
    e2e::expect_status(resp, 200)?;
    let content_type = resp.header("content-type").unwrap_or_default();
    ensure!(
        content_type.starts_with("text/event-stream"),
        "content-type {content_type:?} is not text/event-stream: {}",
        resp.describe()
    );
    let frames = sse::parse(&resp.text);
    ensure!(!frames.is_empty(), "an empty stream: {}", resp.describe());
    Ok(frames)
}

pub fn read_openai(resp: &Resp) -> Result<OpenAiStream, String> {
    let frames = frames(resp)?;
    let mut out = OpenAiStream::default();
    let last = frames.len() - 1;
    for (i, frame) in frames.iter().enumerate() {
        let f = frame.describe();
        ensure!(
            frame.event.is_none() && frame.other.is_empty() && !frame.data.is_empty(),
            "frame {i} is not a bare `data:` line: {f}"
        );
        ensure!(
            !out.done && out.error.is_none(),
            "frame {i} follows [DONE] or an error frame: {f}"
        );
        if frame.data == "[DONE]" {
            out.done = true;
            ensure!(i == last, "[DONE] is not the last frame");
            continue;
        }
        let chunk = frame
            .json()
            .ok_or_else(|| format!("frame {i} is not JSON: {f}"))?;
        if let Some(error) = chunk.get("error") {
            out.error = Some(error.clone());
            continue;
        }
        ensure_eq!(
            str_at(&chunk, "/object")?,
            "chat.completion.chunk",
            "object of frame {i}"
        );
        if let Some(text) = chunk
            .pointer("/choices/0/delta/content")
            .and_then(Value::as_str)
        {
            out.text.push_str(text);
        }
        if let Some(reason) = chunk
            .pointer("/choices/0/finish_reason")
            .and_then(Value::as_str)
        {
            ensure!(out.finish_reason.is_none(), "a second finish chunk: {f}");
            out.finish_reason = Some(reason.to_string());
        }
        if let Some(usage) = chunk.get("usage").filter(|u| !u.is_null()) {
            out.usage = Some(Tokens {
                prompt: u64_at(usage, "/prompt_tokens")?,
                completion: u64_at(usage, "/completion_tokens")?,
            });
        }
        out.chunks.push(chunk);
    }
    Ok(out)
}

/// A complete OpenAI stream: role first, `text`, one finish chunk, then (when `usage` is given) the usage
/// chunk with `choices: []` as the last chunk, then `[DONE]`.
pub fn expect_openai_complete(
    s: &OpenAiStream,
    model: &str,
    text: &str,
    finish: &str,
    usage: Option<Tokens>,
) -> Result<(), String> {
    ensure!(s.error.is_none(), "an error frame: {:?}", s.error);
    ensure!(s.done, "the stream does not end with data: [DONE]");
    let first = s.chunks.first().ok_or("no chunks")?;
    ensure_eq!(
        first
            .pointer("/choices/0/delta/role")
            .and_then(Value::as_str),
        Some("assistant"),
        "role of the first delta in {first}"
    );
    let id = str_at(first, "/id")?;
    for chunk in &s.chunks {
        ensure_eq!(str_at(chunk, "/id")?, id, "every chunk has the same id");
        ensure_eq!(str_at(chunk, "/model")?, model, "model of {chunk}");
    }
    ensure_eq!(s.text.as_str(), text, "the concatenated content");
    ensure_eq!(s.finish_reason.as_deref(), Some(finish), "finish_reason");
    match usage {
        Some(want) => {
            let last = s.chunks.last().ok_or("no chunks")?;
            ensure_eq!(
                last.get("choices"),
                Some(&Value::Array(Vec::new())),
                "the last chunk before [DONE] has choices: [] ({last})"
            );
            ensure_eq!(s.usage, Some(want), "usage of the final chunk {last}");
            ensure_eq!(
                u64_at(last, "/usage/total_tokens")?,
                want.prompt + want.completion,
                "usage.total_tokens"
            );
            let with_usage = s
                .chunks
                .iter()
                .filter(|c| c.get("usage").is_some_and(|u| !u.is_null()))
                .count();
            ensure_eq!(with_usage, 1, "chunks carrying usage");
        }
        None => ensure!(s.usage.is_none(), "usage without include_usage"),
    }
    Ok(())
}

pub fn read_anthropic(resp: &Resp) -> Result<AnthropicStream, String> {
    let frames = frames(resp)?;
    let mut out = AnthropicStream::default();
    for (i, frame) in frames.iter().enumerate() {
        let f = frame.describe();
        let name = frame
            .event
            .clone()
            .ok_or_else(|| format!("frame {i} has no event: name: {f}"))?;
        let data = frame
            .json()
            .ok_or_else(|| format!("frame {i} is not JSON: {f}"))?;
        ensure_eq!(
            data.get("type").and_then(Value::as_str),
            Some(name.as_str()),
            "event name vs data.type of frame {i}"
        );
        ensure!(
            out.error.is_none() && out.events.last().map(String::as_str) != Some("message_stop"),
            "frame {i} follows message_stop or an error: {f}"
        );
        absorb(&mut out, &name, &data)?;
        out.events.push(name);
    }
    Ok(out)
}

fn absorb(out: &mut AnthropicStream, name: &str, data: &Value) -> Result<(), String> {
    match name {
        "message_start" => {
            out.message_id = Some(str_at(data, "/message/id")?.to_string());
            out.model = Some(str_at(data, "/message/model")?.to_string());
            out.usage.prompt = u64_at(data, "/message/usage/input_tokens")?;
            out.usage.completion = u64_at(data, "/message/usage/output_tokens")?;
        }
        "content_block_delta" => {
            ensure_eq!(str_at(data, "/delta/type")?, "text_delta", "delta type");
            out.text.push_str(str_at(data, "/delta/text")?);
        }
        "message_delta" => {
            out.stop_reason = Some(str_at(data, "/delta/stop_reason")?.to_string());
            out.usage.completion = u64_at(data, "/usage/output_tokens")?;
            if let Some(input) = data.pointer("/usage/input_tokens").and_then(Value::as_u64) {
                out.usage.prompt = input;
            }
        }
        "error" => out.error = Some(data.clone()),
        _ => {}
    }
    Ok(())
}

/// The event names with each run of `content_block_delta` collapsed to one.
pub fn collapsed(events: &[String]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for name in events {
        if !(name == "content_block_delta" && out.last() == Some(&"content_block_delta")) {
            out.push(name);
        }
    }
    out
}

/// A complete Anthropic stream in Anthropic's order, with `text`, `stop_reason` and `usage`.
pub fn expect_anthropic_complete(
    s: &AnthropicStream,
    model: &str,
    text: &str,
    stop_reason: &str,
    usage: Tokens,
) -> Result<(), String> {
    ensure!(s.error.is_none(), "an error event: {:?}", s.error);
    ensure_eq!(
        collapsed(&s.events),
        vec![
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ],
        "event sequence"
    );
    ensure_eq!(s.model.as_deref(), Some(model), "message_start model");
    ensure!(
        s.message_id
            .as_deref()
            .is_some_and(|id| id.starts_with("msg_")),
        "message id {:?} is not msg_…",
        s.message_id
    );
    ensure_eq!(s.text.as_str(), text, "the concatenated text deltas");
    ensure_eq!(s.stop_reason.as_deref(), Some(stop_reason), "stop_reason");
    ensure_eq!(s.usage, usage, "usage (message_start, then message_delta)");
    Ok(())
}
