//! Requests as an SDK sends them, and what the simulator answers (its deterministic rule, from
//! tools/simulator/README.md): so a case knows the exact text and token counts to expect.

use std::time::Duration;

use e2e::client::{Api, Resp};
use e2e::seed::unique;
use reqwest::Method;
use serde_json::{json, Value};

pub const CHAT: &str = "/v1/chat/completions";
pub const MESSAGES: &str = "/v1/messages";
pub const GENERATE: &str = "/generate";

/// A client timeout for requests that must not hang: long enough for retries and fallbacks.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(20);

/// The simulator's reply words, cycled.
const WORDS: [&str; 24] = [
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
    "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi",
    "psi", "omega",
];

/// The simulator's default reply length.
pub const DEFAULT_REPLY: u64 = 16;

/// The reply of `n` words: `alpha beta gamma …`.
pub fn reply_text(n: u64) -> String {
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    WORDS
        .iter()
        .cycle()
        .take(n)
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

/// prompt_tokens for messages with these texts: Σ (words + 3) + 3.
pub fn prompt_tokens(texts: &[&str]) -> u64 {
    texts
        .iter()
        .map(|t| t.split_whitespace().count() as u64 + 3)
        .sum::<u64>()
        + 3
}

/// A fault key unique to this run, for `[[sim: key=…]]` and `GET /_sim/attempts/<key>`.
pub fn fault_key(label: &str) -> String {
    unique(label)
}

/// A user message.
pub fn user(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

/// An OpenAI chat body with one user message.
pub fn chat_body(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [user(text)]})
}

/// An Anthropic Messages body with one user message.
pub fn messages_body(model: &str, text: &str, max_tokens: u64) -> Value {
    json!({"model": model, "max_tokens": max_tokens, "messages": [user(text)]})
}

/// `body` with `stream: true` (and, for OpenAI, `stream_options.include_usage`).
pub fn streamed(mut body: Value, include_usage: bool) -> Value {
    if let Some(obj) = body.as_object_mut() {
        obj.insert("stream".into(), json!(true));
        if include_usage {
            obj.insert("stream_options".into(), json!({"include_usage": true}));
        }
    }
    body
}

/// POSTs `body` to `path` with extra headers, bounded by [`CLIENT_TIMEOUT`].
pub async fn post(
    api: &Api<'_>,
    path: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> Result<Resp, String> {
    let bytes = serde_json::to_vec(body).map_err(|e| format!("cannot encode body: {e}"))?;
    api.clone()
        .with_timeout(CLIENT_TIMEOUT)
        .raw(Method::POST, path, Some(bytes), headers)
        .await
}

/// A u64 at a JSON pointer.
pub fn u64_at(v: &Value, pointer: &str) -> Result<u64, String> {
    v.pointer(pointer)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("no integer at {pointer} in {v}"))
}

/// A string at a JSON pointer.
pub fn str_at<'v>(v: &'v Value, pointer: &str) -> Result<&'v str, String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("no string at {pointer} in {v}"))
}

/// The tokens a client saw in one answer: (prompt, completion).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    pub prompt: u64,
    pub completion: u64,
}

impl Tokens {
    pub fn add(&mut self, other: Tokens) {
        self.prompt += other.prompt;
        self.completion += other.completion;
    }
}

/// Checks an OpenAI `chat.completion` body: one assistant choice with `text`, `finish`, and usage
/// `prompt`/`completion`/their total. Returns the usage.
pub fn expect_completion(
    resp: &Resp,
    model: &str,
    text: &str,
    finish: &str,
    want: Tokens,
) -> Result<Tokens, String> {
    let body = e2e::expect_status(resp, 200)?;
    let d = resp.describe();
    e2e::ensure_eq!(str_at(body, "/object")?, "chat.completion", "object in {d}");
    e2e::ensure_eq!(str_at(body, "/model")?, model, "model in {d}");
    e2e::ensure_eq!(
        body.pointer("/choices")
            .and_then(Value::as_array)
            .map(Vec::len),
        Some(1),
        "one choice in {d}"
    );
    e2e::ensure_eq!(
        str_at(body, "/choices/0/message/role")?,
        "assistant",
        "role in {d}"
    );
    e2e::ensure_eq!(
        str_at(body, "/choices/0/message/content")?,
        text,
        "content in {d}"
    );
    e2e::ensure_eq!(
        str_at(body, "/choices/0/finish_reason")?,
        finish,
        "finish_reason in {d}"
    );
    let got = Tokens {
        prompt: u64_at(body, "/usage/prompt_tokens")?,
        completion: u64_at(body, "/usage/completion_tokens")?,
    };
    e2e::ensure_eq!(got, want, "usage in {d}");
    e2e::ensure_eq!(
        u64_at(body, "/usage/total_tokens")?,
        want.prompt + want.completion,
        "usage.total_tokens in {d}"
    );
    Ok(got)
}

/// Checks an Anthropic `message` body: one text block with `text`, `stop_reason`, usage
/// `input_tokens`/`output_tokens`. Returns the usage.
pub fn expect_message(
    resp: &Resp,
    model: &str,
    text: &str,
    stop_reason: &str,
    want: Tokens,
) -> Result<Tokens, String> {
    let body = e2e::expect_status(resp, 200)?;
    let d = resp.describe();
    e2e::ensure_eq!(str_at(body, "/type")?, "message", "type in {d}");
    e2e::ensure_eq!(str_at(body, "/role")?, "assistant", "role in {d}");
    e2e::ensure_eq!(str_at(body, "/model")?, model, "model in {d}");
    e2e::ensure_eq!(
        body.pointer("/content")
            .and_then(Value::as_array)
            .map(Vec::len),
        Some(1),
        "one content block in {d}"
    );
    e2e::ensure_eq!(
        str_at(body, "/content/0/type")?,
        "text",
        "block type in {d}"
    );
    e2e::ensure_eq!(str_at(body, "/content/0/text")?, text, "text in {d}");
    e2e::ensure_eq!(
        str_at(body, "/stop_reason")?,
        stop_reason,
        "stop_reason in {d}"
    );
    let got = Tokens {
        prompt: u64_at(body, "/usage/input_tokens")?,
        completion: u64_at(body, "/usage/output_tokens")?,
    };
    e2e::ensure_eq!(got, want, "usage in {d}");
    Ok(got)
}

/// An OpenAI completion's identity as the format has it: `id` `chatcmpl-…`, `created` the Unix time in
/// seconds (within a day of now).
pub fn expect_openai_identity(resp: &Resp) -> Result<(), String> {
    let id = str_at(&resp.body, "/id")?;
    let created = resp.body.get("created").and_then(Value::as_i64);
    let now = e2e::seed::now_ms() / 1000;
    let mut wrong = Vec::new();
    if !id.starts_with("chatcmpl-") {
        wrong.push(format!("id {id:?} is not chatcmpl-…"));
    }
    if created.is_none_or(|c| (c - now).abs() > 86_400) {
        wrong.push(format!(
            "created {created:?} is not the Unix time in seconds (now {now})"
        ));
    }
    e2e::ensure!(
        wrong.is_empty(),
        "{}: {}",
        wrong.join("; "),
        resp.describe()
    );
    Ok(())
}

/// An Anthropic message's `id` is `msg_…`.
pub fn expect_anthropic_identity(resp: &Resp) -> Result<(), String> {
    let id = str_at(&resp.body, "/id")?;
    e2e::ensure!(
        id.starts_with("msg_"),
        "message id {id:?} is not msg_…: {}",
        resp.describe()
    );
    Ok(())
}

/// A response header parsed as a number.
pub fn header_f64(resp: &Resp, name: &str) -> Result<f64, String> {
    let text = resp
        .header(name)
        .ok_or_else(|| format!("no {name} header: {}", resp.describe()))?;
    text.trim()
        .parse::<f64>()
        .map_err(|_| format!("{name}: {text:?} is not a number"))
}

/// A response header that must equal `want`.
pub fn expect_header(resp: &Resp, name: &str, want: &str) -> Result<(), String> {
    match resp.header(name) {
        Some(v) if v == want => Ok(()),
        other => Err(format!(
            "header {name}: expected {want:?}, got {other:?} ({} {} -> {})",
            resp.method, resp.path, resp.status
        )),
    }
}
