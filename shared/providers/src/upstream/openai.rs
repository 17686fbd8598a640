//! The OpenAI-style upstream request: our canonical request, re-addressed.

use envelope::ApiError;
use serde_json::{json, Map, Value};

use super::{json_body, HttpRequest, ProviderKind};
use crate::chat::tools::openai as wire;
use crate::chat::{ChatRequest, Content, Message, Role};

pub(super) fn build(
    kind: ProviderKind,
    req: &ChatRequest,
    model: &str,
    base: &str,
    api_key: &str,
) -> Result<HttpRequest, ApiError> {
    let body = body(kind, req, model);
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    // Local model servers often run without a key.
    if !api_key.is_empty() {
        headers.push(("authorization".to_owned(), format!("Bearer {api_key}")));
    }
    if req.stream {
        headers.push(("accept".to_owned(), "text/event-stream".to_owned()));
    }
    Ok(HttpRequest {
        method: "POST",
        url: format!("{base}/chat/completions"),
        headers,
        body: json_body(&body),
    })
}

fn body(kind: ProviderKind, req: &ChatRequest, model: &str) -> Value {
    // Pass-through fields first, so that ours win on a clash.
    let mut body = req.extra.clone();
    body.remove("max_tokens");
    body.remove("max_completion_tokens");
    body.insert("model".into(), json!(model));
    let messages: Vec<Value> = req.messages.iter().map(|m| message(kind, m)).collect();
    body.insert("messages".into(), Value::Array(messages));
    if let Some(max) = req.max_tokens {
        // OpenAI's reasoning models refuse the older name; many compatible servers only know it.
        let key = match kind {
            ProviderKind::OpenAi => "max_completion_tokens",
            _ => "max_tokens",
        };
        body.insert(key.into(), json!(max));
    }
    insert_some(&mut body, "temperature", req.temperature.map(Value::from));
    insert_some(&mut body, "top_p", req.top_p.map(Value::from));
    if !req.stop.is_empty() {
        body.insert("stop".into(), json!(req.stop));
    }
    insert_some(&mut body, "user", req.user.clone().map(Value::from));
    insert_some(&mut body, "seed", req.seed.map(Value::from));
    if !req.tools.is_empty() {
        body.insert("tools".into(), wire::tools_json(&req.tools));
        insert_some(
            &mut body,
            "parallel_tool_calls",
            req.parallel_tool_calls.map(Value::from),
        );
    }
    insert_some(
        &mut body,
        "tool_choice",
        req.tool_choice.as_ref().map(wire::choice_json),
    );
    stream_fields(&mut body, req.stream);
    Value::Object(body)
}

/// Usage is what we bill, so a streamed answer must end with its usage chunk whatever the
/// client asked; OpenAI rejects `stream_options` on a request that does not stream.
fn stream_fields(body: &mut Map<String, Value>, stream: bool) {
    if !stream {
        body.remove("stream");
        body.remove("stream_options");
        return;
    }
    body.insert("stream".into(), json!(true));
    let mut options = match body.remove("stream_options") {
        Some(Value::Object(options)) => options,
        _ => Map::new(),
    };
    options.insert("include_usage".into(), json!(true));
    body.insert("stream_options".into(), Value::Object(options));
}

fn message(kind: ProviderKind, message: &Message) -> Value {
    let mut out = message.extra.clone();
    // Most compatible servers predate the `developer` role.
    let role = match (kind, message.role) {
        (ProviderKind::OpenAiCompatible, Role::Developer) => Role::System,
        (_, role) => role,
    };
    out.insert("role".into(), json!(role.as_str()));
    if !message.tool_calls.is_empty() {
        out.insert("tool_calls".into(), wire::calls_json(&message.tool_calls));
    }
    if let Some(id) = &message.tool_call_id {
        out.insert("tool_call_id".into(), json!(id));
    }
    let content = match &message.content {
        Content::Text(text) if text.is_empty() && out.contains_key("tool_calls") => Value::Null,
        Content::Text(text) => json!(text),
        Content::Parts(parts) => Value::Array(parts.clone()),
    };
    out.insert("content".into(), content);
    if let Some(name) = &message.name {
        out.insert("name".into(), json!(name));
    }
    Value::Object(out)
}

fn insert_some(body: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        body.insert(key.into(), value);
    }
}
