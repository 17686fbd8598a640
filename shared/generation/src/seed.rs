//! The seed's simple shape, kept for existing callers: `{"prompt", "model_id", "options"}` in,
//! `{"object":"generation", "text", …}` out.

use envelope::ApiError;
use providers::chat::{ChatRequest, ChatResponse};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedRequest {
    prompt: String,
    model_id: String,
    #[serde(default)]
    options: SeedOptions,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SeedOptions {
    max_tokens: Option<u32>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    system: Option<String>,
}

pub fn parse_request(body: &[u8]) -> Result<ChatRequest, ApiError> {
    let seed: SeedRequest = envelope::parse_object(body)?;
    if seed.prompt.trim().is_empty() {
        return Err(ApiError::invalid_field("prompt", "must not be empty"));
    }
    if seed.options.max_tokens == Some(0) {
        return Err(ApiError::invalid_field(
            "options.max_tokens",
            "must be at least 1",
        ));
    }
    let mut messages = Vec::new();
    if let Some(system) = seed.options.system {
        messages.push(json!({"role": "system", "content": system}));
    }
    messages.push(json!({"role": "user", "content": seed.prompt}));
    // Built as the OpenAI shape so the one parser validates it.
    let request = json!({
        "model": seed.model_id, "messages": messages,
        "max_tokens": seed.options.max_tokens, "temperature": seed.options.temperature, "top_p": seed.options.top_p,
    });
    providers::openai::parse_request(request.to_string().as_bytes())
}

pub fn render_response(resp: &ChatResponse, model: &str, request_id: &str) -> Value {
    let text = resp.choices.first().map(|c| c.text.as_str()).unwrap_or("");
    let finish = resp
        .choices
        .first()
        .map(|c| finish_name(&c.finish_reason))
        .unwrap_or("stop");
    json!({
        "object": "generation",
        "id": resp.id,
        "model": model,
        "text": text,
        "finish_reason": finish,
        "usage": {
            "prompt_tokens": resp.usage.prompt_tokens,
            "completion_tokens": resp.usage.completion_tokens,
            "total_tokens": resp.usage.prompt_tokens + resp.usage.completion_tokens,
        },
        "request_id": request_id,
    })
}

fn finish_name(reason: &providers::chat::FinishReason) -> &str {
    use providers::chat::FinishReason::*;
    match reason {
        Stop => "stop",
        Length => "length",
        ContentFilter => "content_filter",
        ToolCalls => "tool_calls",
        Other(s) => s.as_str(),
    }
}
