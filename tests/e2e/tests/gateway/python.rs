//! The official Python SDKs (`openai`, `anthropic`; `tests/e2e/sdk/sdk.py`) against the platform: tool
//! calls in both formats (whole, and with the SDKs' own stream helpers), the Responses API, embeddings —
//! to an OpenAI and an Anthropic model where both apply.

use e2e::{case, ensure, ensure_eq, Case, Ctx};
use serde_json::{json, Value};

use crate::embeddings::EMBED;
use crate::tenant::{add_model, tenant, Tenant, CLAUDE, GPT};
use crate::wire::{reply_text, DEFAULT_REPLY};

pub fn cases() -> Vec<Case> {
    vec![
        case!(python_openai_tools_and_responses),
        case!(python_anthropic_tools),
        case!(python_openai_embeddings),
    ]
}

async fn py(
    ctx: &Ctx,
    t: &Tenant,
    scenario: &str,
    model: &str,
    prompt: &str,
) -> Result<Value, String> {
    e2e::sdk::run(
        ctx.root(),
        "sdk.py",
        &[scenario, &ctx.base, &t.key.secret, model, prompt],
    )
    .await
}

fn str_of<'v>(v: &'v Value, pointer: &str) -> Option<&'v str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// openai-python: chat tool calls (whole and `chat.completions.stream(...).get_final_completion()`), the
/// tool result answered; `responses.create` and `responses.stream(...)` with their event types.
async fn python_openai_tools_and_responses(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "py-openai").await?;
    for model in [GPT, CLAUDE] {
        let got = py(ctx, &t, "openai-tools", model, "Weather in Paris?").await?;
        for field in ["/tool", "/streamed_tool"] {
            ensure_eq!(str_of(&got, field), Some("get_weather"), "{model}: {field}");
        }
        for field in ["/args", "/streamed_args"] {
            ensure_eq!(
                got.pointer(field),
                Some(&json!({"city": "sim"})),
                "{model}: {field}"
            );
        }
        ensure_eq!(
            str_of(&got, "/finish_reason"),
            Some("tool_calls"),
            "{model}: finish"
        );
        ensure_eq!(
            str_of(&got, "/answer_finish"),
            Some("stop"),
            "{model}: answer"
        );
        let got = py(ctx, &t, "openai-responses", model, "Say hi").await?;
        let reply = reply_text(DEFAULT_REPLY);
        ensure_eq!(
            str_of(&got, "/text"),
            Some(reply.as_str()),
            "{model}: output_text"
        );
        ensure_eq!(
            str_of(&got, "/streamed_text"),
            Some(reply.as_str()),
            "{model}: streamed"
        );
        ensure_eq!(
            str_of(&got, "/status"),
            Some("completed"),
            "{model}: status"
        );
        let events = got.get("events").map(Value::to_string).unwrap_or_default();
        ensure!(
            events.contains("response.output_text.delta") && events.contains("response.completed"),
            "{model}: stream events {events}"
        );
    }
    Ok(())
}

/// anthropic-python: `messages.create` and `messages.stream(...).get_final_message()` with a custom tool,
/// to both providers, and the `tool_result` answered.
async fn python_anthropic_tools(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "py-anthropic").await?;
    for model in [CLAUDE, GPT] {
        let got = py(ctx, &t, "anthropic-tools", model, "Weather in Paris?").await?;
        for field in ["/tool", "/streamed_tool"] {
            ensure_eq!(str_of(&got, field), Some("get_weather"), "{model}: {field}");
        }
        for field in ["/args", "/streamed_args"] {
            ensure_eq!(
                got.pointer(field),
                Some(&json!({"city": "sim"})),
                "{model}: {field}"
            );
        }
        ensure_eq!(
            str_of(&got, "/stop_reason"),
            Some("tool_use"),
            "{model}: stop"
        );
        ensure_eq!(
            str_of(&got, "/answer_stop"),
            Some("end_turn"),
            "{model}: answer"
        );
        ensure!(
            str_of(&got, "/answer").is_some_and(|a| !a.is_empty()),
            "{model}: an answer in text: {got}"
        );
    }
    Ok(())
}

/// openai-python `embeddings.create` (its default encoding, decoded by the SDK).
async fn python_openai_embeddings(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "py-embed").await?;
    add_model(
        ctx,
        &t.instance_id,
        json!({"id": EMBED, "provider": "openai", "upstream_model": "text-embedding-3-small",
               "capabilities": ["embeddings"], "input_price_per_mtok": 0.02}),
    )
    .await?;
    let got = py(ctx, &t, "openai-embeddings", EMBED, "two words").await?;
    ensure_eq!(got.get("lengths"), Some(&json!([8, 8])), "vector lengths");
    ensure_eq!(str_of(&got, "/model"), Some(EMBED), "model");
    ensure_eq!(got.get("prompt_tokens"), Some(&json!(5)), "usage");
    Ok(())
}
