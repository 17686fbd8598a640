//! `POST /v1/responses` (the OpenAI Responses API, stateless) through the platform, driven by the openai
//! Node SDK (`responses.create`, `responses.stream().finalResponse()`) and Vercel's AI SDK (whose default
//! OpenAI model speaks the Responses API), against an OpenAI and an Anthropic model: text, streams, and
//! function calls with their outputs sent back. What the simulator received shows the translation.

use e2e::seed::unique;
use e2e::{case, ensure, ensure_eq, expect_error, Case, Ctx};
use serde_json::{json, Value};

use crate::tenant::{await_usage, count, group, tenant, upstream, Tenant, CLAUDE, GPT};
use crate::wire::{post, reply_text, DEFAULT_REPLY};

pub const RESPONSES: &str = "/v1/responses";

pub fn cases() -> Vec<Case> {
    vec![
        case!(openai_sdk_text_whole_and_streamed),
        case!(openai_sdk_function_calls_and_outputs),
        case!(ai_sdk_default_openai_model_speaks_responses),
        case!(limits_stateful_features_and_usage),
    ]
}

async fn sdk(
    ctx: &Ctx,
    t: &Tenant,
    scenario: &str,
    model: &str,
    prompt: &str,
) -> Result<Value, String> {
    e2e::sdk::run(
        ctx.root(),
        "responses.mjs",
        &[scenario, &ctx.base, &t.key.secret, model, prompt],
    )
    .await
}

fn str_of<'v>(v: &'v Value, pointer: &str) -> Option<&'v str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// Text with instructions, whole and streamed, to both providers: a `resp_` id, status `completed`, the
/// simulator's reply as `output_text`, its usage; the stream's events in the Responses API's names; the
/// instructions reached the upstream as its system prompt.
async fn openai_sdk_text_whole_and_streamed(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "resp-text").await?;
    for model in [GPT, CLAUDE] {
        for scenario in ["text", "text-stream"] {
            let key = unique("resp-text");
            let got = sdk(
                ctx,
                &t,
                scenario,
                model,
                &format!("Say hi [[sim: key={key}]]"),
            )
            .await?;
            let what = format!("{scenario} → {model}");
            ensure!(
                str_of(&got, "/id").is_some_and(|id| id.starts_with("resp_")),
                "{what}: id {got}"
            );
            ensure_eq!(str_of(&got, "/status"), Some("completed"), "{what}: status");
            ensure_eq!(
                str_of(&got, "/text"),
                Some(reply_text(DEFAULT_REPLY).as_str()),
                "{what}: output_text"
            );
            ensure_eq!(
                got.pointer("/usage/output_tokens"),
                Some(&json!(DEFAULT_REPLY)),
                "{what}: usage"
            );
            if scenario == "text-stream" {
                let events: Vec<&str> = got
                    .get("events")
                    .and_then(Value::as_array)
                    .map(|e| e.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                for name in [
                    "response.created",
                    "response.output_item.added",
                    "response.output_text.delta",
                    "response.output_text.done",
                    "response.completed",
                ] {
                    ensure!(events.contains(&name), "{what}: no {name} in {events:?}");
                }
                ensure_eq!(
                    events.last(),
                    Some(&"response.completed"),
                    "{what}: last event"
                );
            }
            let sent = upstream()?.last_request(&ctx.http, &key).await?;
            let system = if model == CLAUDE {
                sent.get("system").cloned()
            } else {
                sent.pointer("/messages/0/content").cloned()
            };
            ensure_eq!(
                system,
                Some(json!("Answer briefly.")),
                "{what}: the instructions upstream: {sent}"
            );
        }
    }
    Ok(())
}

/// A function tool (flat Responses form), whole and streamed, to both providers: a `function_call` item
/// with `{"city":"sim"}`; sent back with its `function_call_output`, the model answers in text, and the
/// upstream got the call and its output in its own format.
async fn openai_sdk_function_calls_and_outputs(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "resp-tools").await?;
    for model in [GPT, CLAUDE] {
        for scenario in ["tools", "tools-stream"] {
            let key = unique("resp-tools");
            let got = sdk(
                ctx,
                &t,
                scenario,
                model,
                &format!("Weather? [[sim: key={key}]]"),
            )
            .await?;
            let what = format!("{scenario} → {model}");
            ensure_eq!(str_of(&got, "/tool"), Some("get_weather"), "{what}: tool");
            ensure_eq!(
                got.get("args"),
                Some(&json!({"city": "sim"})),
                "{what}: arguments"
            );
            ensure_eq!(
                str_of(&got, "/answer_status"),
                Some("completed"),
                "{what}: the answer"
            );
            ensure!(
                str_of(&got, "/answer").is_some_and(|a| !a.is_empty()),
                "{what}: an answer in text: {got}"
            );
            let call_id = str_of(&got, "/call_id").unwrap_or_default();
            let sent = upstream()?.last_request(&ctx.http, &key).await?;
            let text = sent.to_string();
            ensure!(
                text.contains(call_id) && text.contains("18 degrees"),
                "{what}: the call and its output upstream: {sent}"
            );
            if model == CLAUDE {
                ensure!(
                    text.contains("tool_result"),
                    "{what}: a tool_result block upstream"
                );
            } else {
                ensure!(
                    text.contains("\"role\":\"tool\""),
                    "{what}: a tool message upstream"
                );
            }
        }
    }
    Ok(())
}

/// Vercel's AI SDK with `createOpenAI(...)(model)` — its Responses API model — generating, streaming and
/// calling a tool, to both providers.
async fn ai_sdk_default_openai_model_speaks_responses(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "resp-ai-sdk").await?;
    for model in [GPT, CLAUDE] {
        for scenario in ["ai-sdk", "ai-sdk-stream"] {
            let got = sdk(ctx, &t, scenario, model, "Say hi").await?;
            let what = format!("{scenario} → {model}");
            ensure_eq!(
                str_of(&got, "/text"),
                Some(reply_text(DEFAULT_REPLY).as_str()),
                "{what}: text"
            );
            ensure_eq!(
                str_of(&got, "/finish_reason"),
                Some("stop"),
                "{what}: finish"
            );
            ensure_eq!(
                got.pointer("/usage/outputTokens"),
                Some(&json!(DEFAULT_REPLY)),
                "{what}: usage {got}"
            );
        }
        let got = sdk(ctx, &t, "ai-sdk-tools", model, "Weather?").await?;
        ensure_eq!(
            str_of(&got, "/tool"),
            Some("get_weather"),
            "tools → {model}"
        );
        ensure_eq!(
            got.get("args"),
            Some(&json!({"city": "sim"})),
            "tools → {model}: input"
        );
        ensure_eq!(
            str_of(&got, "/finish_reason"),
            Some("tool-calls"),
            "tools → {model}: finish"
        );
    }
    Ok(())
}

/// A reply cut by `max_output_tokens` is `incomplete` with its reason; `previous_response_id` (this
/// gateway keeps no state) is a 400 naming it; every answered request leaves a usage row.
async fn limits_stateful_features_and_usage(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "resp-limits").await?;
    let api = t.api(ctx);
    let body =
        json!({"model": CLAUDE, "input": "long [[sim: tokens=50]]", "max_output_tokens": 10});
    let resp = post(&api, RESPONSES, &body, &[]).await?;
    ensure_eq!(resp.status, 200, "status: {}", resp.describe());
    ensure_eq!(
        str_of(&resp.body, "/status"),
        Some("incomplete"),
        "status field"
    );
    ensure_eq!(
        resp.body.pointer("/incomplete_details"),
        Some(&json!({"reason": "max_output_tokens"})),
        "incomplete_details"
    );
    ensure_eq!(
        resp.body.pointer("/usage/output_tokens"),
        Some(&json!(10)),
        "output tokens"
    );
    let body = json!({"model": GPT, "input": "again", "previous_response_id": "resp_123"});
    let resp = post(&api, RESPONSES, &body, &[]).await?;
    expect_error(&resp, 400, "unsupported_field")?;
    ensure_eq!(
        str_of(&resp.body, "/error/param"),
        Some("previous_response_id"),
        "param"
    );
    let rows = await_usage(&api, &t.instance_id, "model", |rows| {
        count(group(rows, CLAUDE), "requests") == 1
    })
    .await?;
    ensure_eq!(
        count(group(&rows, CLAUDE), "completion_tokens"),
        10,
        "the usage row"
    );
    Ok(())
}
