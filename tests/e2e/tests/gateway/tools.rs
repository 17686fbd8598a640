//! Tool calling through the platform, in both wire formats and to both providers, driven by the official
//! SDKs (openai, @anthropic-ai/sdk, Vercel's AI SDK; `tests/e2e/sdk/tools.mjs`): the model calls the
//! tool, the app sends the result back, the model answers. What the simulator received shows that the
//! translation is the provider's real format (tool_use/tool_result blocks for Anthropic, tool_calls and
//! tool messages for OpenAI), and the usage rows count the calls.

use e2e::seed::unique;
use e2e::{case, ensure, ensure_eq, expect_error, Case, Ctx};
use serde_json::{json, Value};

use crate::tenant::{await_usage, count, group, tenant, upstream, Tenant, CLAUDE, GPT};
use crate::wire::{post, CHAT, MESSAGES};

pub fn cases() -> Vec<Case> {
    vec![
        case!(openai_sdk_calls_tools_on_both_providers),
        case!(anthropic_sdk_calls_tools_on_both_providers),
        case!(ai_sdk_calls_tools_on_both_providers),
        case!(tool_calls_are_counted_and_forced_choices_pass_through),
        case!(bad_tool_requests_are_400_naming_the_field),
    ]
}

/// The simulator's weather schema answer: every property filled (`"sim"` for strings).
fn expected_args() -> Value {
    json!({"city": "sim"})
}

fn prompt(key: &str) -> String {
    format!("What is the weather in Paris? [[sim: key={key}]]")
}

async fn sdk(
    ctx: &Ctx,
    t: &Tenant,
    scenario: &str,
    model: &str,
    key: &str,
) -> Result<Value, String> {
    e2e::sdk::run(
        ctx.root(),
        "tools.mjs",
        &[scenario, &ctx.base, &t.key.secret, model, &prompt(key)],
    )
    .await
}

fn str_of<'v>(v: &'v Value, pointer: &str) -> Option<&'v str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// What the simulator got on the second turn (the tool's result going back), in the upstream's format.
async fn expect_result_sent(
    ctx: &Ctx,
    key: &str,
    model: &str,
    call_id: &str,
) -> Result<(), String> {
    let sent = upstream()?.last_request(&ctx.http, key).await?;
    let messages = sent
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("no messages upstream: {sent}"))?;
    if model == CLAUDE {
        ensure_eq!(
            sent.pointer("/tools/0/input_schema/required"),
            Some(&json!(["city"])),
            "the tool as Anthropic got it: {sent}"
        );
        let result = messages
            .iter()
            .filter_map(|m| m.get("content").and_then(Value::as_array))
            .flatten()
            .find(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
            .ok_or_else(|| format!("no tool_result block upstream: {sent}"))?;
        ensure_eq!(str_of(result, "/tool_use_id"), Some(call_id), "tool_use_id");
        ensure!(
            result.to_string().contains("18 degrees and sunny"),
            "the result's content: {result}"
        );
    } else {
        ensure_eq!(
            sent.pointer("/tools/0/function/parameters/required"),
            Some(&json!(["city"])),
            "the tool as OpenAI got it: {sent}"
        );
        let result = messages
            .iter()
            .find(|m| str_of(m, "/role") == Some("tool"))
            .ok_or_else(|| format!("no tool message upstream: {sent}"))?;
        ensure_eq!(
            str_of(result, "/tool_call_id"),
            Some(call_id),
            "tool_call_id"
        );
        ensure_eq!(
            str_of(result, "/content"),
            Some("18 degrees and sunny"),
            "the tool message's content"
        );
        let call = messages
            .iter()
            .find_map(|m| m.pointer("/tool_calls/0"))
            .ok_or_else(|| format!("no assistant tool_calls upstream: {sent}"))?;
        ensure_eq!(str_of(call, "/id"), Some(call_id), "the call sent back");
    }
    Ok(())
}

/// The openai Node SDK, non-streamed and streamed (its own accumulation of `tool_calls` deltas), against
/// an OpenAI and an Anthropic model: a call of `get_weather` with `{"city":"sim"}`, finish `tool_calls`,
/// and after the tool message a text answer.
async fn openai_sdk_calls_tools_on_both_providers(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "tools-openai").await?;
    for model in [GPT, CLAUDE] {
        for scenario in ["openai", "openai-stream"] {
            let key = unique("tools-oa");
            let got = sdk(ctx, &t, scenario, model, &key).await?;
            let what = format!("{scenario} → {model}");
            ensure_eq!(str_of(&got, "/tool"), Some("get_weather"), "{what}: tool");
            ensure_eq!(got.get("args"), Some(&expected_args()), "{what}: arguments");
            ensure_eq!(
                str_of(&got, "/finish_reason"),
                Some("tool_calls"),
                "{what}: finish"
            );
            ensure_eq!(
                str_of(&got, "/answer_finish"),
                Some("stop"),
                "{what}: the answer after the tool result"
            );
            ensure!(
                str_of(&got, "/answer").is_some_and(|a| !a.is_empty()),
                "{what}: an answer in text: {got}"
            );
            let call_id = str_of(&got, "/call_id").unwrap_or_default();
            expect_result_sent(ctx, &key, model, call_id).await?;
        }
    }
    Ok(())
}

/// The Anthropic Node SDK, `messages.create` and `messages.stream().finalMessage()` (its own
/// accumulation of `input_json_delta`), against both providers: a `tool_use` block with the input
/// object, stop `tool_use`, and after the `tool_result` a text answer.
async fn anthropic_sdk_calls_tools_on_both_providers(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "tools-anthropic").await?;
    for model in [CLAUDE, GPT] {
        for scenario in ["anthropic", "anthropic-stream"] {
            let key = unique("tools-an");
            let got = sdk(ctx, &t, scenario, model, &key).await?;
            let what = format!("{scenario} → {model}");
            ensure_eq!(str_of(&got, "/tool"), Some("get_weather"), "{what}: tool");
            ensure_eq!(got.get("args"), Some(&expected_args()), "{what}: input");
            ensure_eq!(
                str_of(&got, "/stop_reason"),
                Some("tool_use"),
                "{what}: stop"
            );
            ensure_eq!(
                str_of(&got, "/answer_stop"),
                Some("end_turn"),
                "{what}: the answer after the tool result"
            );
            ensure!(
                str_of(&got, "/answer").is_some_and(|a| !a.is_empty()),
                "{what}: an answer in text: {got}"
            );
            let call_id = str_of(&got, "/call_id").unwrap_or_default();
            expect_result_sent(ctx, &key, model, call_id).await?;
        }
    }
    Ok(())
}

/// Vercel's AI SDK with `@ai-sdk/openai`'s chat model and `@ai-sdk/anthropic`, generating and streaming:
/// the tool call it parses from our answers.
async fn ai_sdk_calls_tools_on_both_providers(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "tools-ai-sdk").await?;
    for scenario in [
        "ai-sdk-openai-chat",
        "ai-sdk-openai-chat-stream",
        "ai-sdk-anthropic",
        "ai-sdk-anthropic-stream",
    ] {
        for model in [GPT, CLAUDE] {
            let key = unique("tools-ai");
            let got = sdk(ctx, &t, scenario, model, &key).await?;
            let what = format!("{scenario} → {model}");
            ensure_eq!(str_of(&got, "/tool"), Some("get_weather"), "{what}: tool");
            ensure_eq!(got.get("args"), Some(&expected_args()), "{what}: input");
            ensure_eq!(
                str_of(&got, "/finish_reason"),
                Some("tool-calls"),
                "{what}: finish"
            );
        }
    }
    Ok(())
}

/// Two parallel calls forced with `tool_choice: required` on an Anthropic model from the OpenAI format:
/// the upstream gets `tool_choice: any`, the client two calls, and the usage row counts the tokens the
/// upstream reported (8 per call in the simulator). A named choice with parallel calls disabled reaches
/// OpenAI as it was sent.
async fn tool_calls_are_counted_and_forced_choices_pass_through(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "tools-usage").await?;
    let api = t.api(ctx);
    let key = unique("tools-usage");
    let tools = json!([
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
        {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}}}},
    ]);
    let body = json!({
        "model": CLAUDE,
        "messages": [{"role": "user", "content": format!("weather and time [[sim: key={key}, tool_calls=2]]")}],
        "tools": tools,
        "tool_choice": "required",
    });
    let resp = post(&api, CHAT, &body, &[]).await?;
    ensure_eq!(resp.status, 200, "status: {}", resp.describe());
    let json = &resp.body;
    let names: Vec<&str> = json
        .pointer("/choices/0/message/tool_calls")
        .and_then(Value::as_array)
        .map(|calls| {
            calls
                .iter()
                .filter_map(|c| str_of(c, "/function/name"))
                .collect()
        })
        .unwrap_or_default();
    ensure_eq!(names, ["get_weather", "get_time"], "the calls: {json}");
    ensure_eq!(
        json.pointer("/usage/completion_tokens"),
        Some(&json!(16)),
        "completion tokens: {json}"
    );
    let sent = upstream()?.last_request(&ctx.http, &key).await?;
    ensure_eq!(
        sent.get("tool_choice"),
        Some(&json!({"type": "any"})),
        "upstream tool_choice"
    );
    let prompt_tokens = json.pointer("/usage/prompt_tokens").and_then(Value::as_u64);
    let rows = await_usage(&api, &t.instance_id, "model", |rows| {
        count(group(rows, CLAUDE), "completion_tokens") == 16
    })
    .await?;
    ensure_eq!(
        Some(count(group(&rows, CLAUDE), "prompt_tokens")),
        prompt_tokens,
        "the usage row's prompt tokens"
    );

    let key = unique("tools-named");
    let body = json!({
        "model": GPT,
        "messages": [{"role": "user", "content": format!("time please [[sim: key={key}, tool_calls=2]]")}],
        "tools": tools,
        "tool_choice": {"type": "function", "function": {"name": "get_time"}},
        "parallel_tool_calls": false,
    });
    let resp = post(&api, CHAT, &body, &[]).await?;
    ensure_eq!(resp.status, 200, "status: {}", resp.describe());
    let json = &resp.body;
    let calls = json
        .pointer("/choices/0/message/tool_calls")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    ensure_eq!(calls, 1, "one call with parallel calls disabled: {json}");
    ensure_eq!(
        str_of(json, "/choices/0/message/tool_calls/0/function/name"),
        Some("get_time"),
        "the named tool"
    );
    let sent = upstream()?.last_request(&ctx.http, &key).await?;
    ensure_eq!(
        (sent.get("tool_choice"), sent.get("parallel_tool_calls")),
        (
            Some(&json!({"type": "function", "function": {"name": "get_time"}})),
            Some(&json!(false))
        ),
        "upstream tool_choice and parallel_tool_calls"
    );
    Ok(())
}

/// Malformed tool requests are refused before anything goes upstream, naming the field.
async fn bad_tool_requests_are_400_naming_the_field(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "tools-bad").await?;
    let api = t.api(ctx);
    let user = json!([{"role": "user", "content": "x"}]);
    let cases = [
        (
            CHAT,
            json!({"model": GPT, "messages": user, "tools": [{"type": "function", "function": {"name": "f"}}],
                   "tool_choice": {"type": "function", "function": {"name": "g"}}}),
            "invalid_field",
            "tool_choice",
        ),
        (
            CHAT,
            json!({"model": CLAUDE, "messages": user, "tools": [{"type": "file_search"}]}),
            "unsupported_field",
            "tools[0].type",
        ),
        (
            CHAT,
            json!({"model": CLAUDE, "messages": [{"role": "user", "content": "x"},
                   {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "[1,2]"}}]},
                   {"role": "tool", "tool_call_id": "c1", "content": "ok"}],
                   "tools": [{"type": "function", "function": {"name": "f"}}]}),
            "invalid_field",
            "messages[1].tool_calls[0].function.arguments",
        ),
        (
            MESSAGES,
            json!({"model": CLAUDE, "max_tokens": 10, "messages": user,
                   "tools": [{"name": "f", "input_schema": {"type": "object"}}], "tool_choice": {"type": "tool", "name": "g"}}),
            "invalid_field",
            "tool_choice.name",
        ),
    ];
    for (path, body, code, param) in cases {
        let resp = post(&api, path, &body, &[]).await?;
        if path == CHAT {
            expect_error(&resp, 400, code)?;
            ensure_eq!(
                str_of(&resp.body, "/error/param"),
                Some(param),
                "param of {body}"
            );
        } else {
            ensure_eq!(resp.status, 400, "status of {body}: {}", resp.describe());
            ensure!(
                resp.text.contains(param),
                "the Anthropic-format error names {param}: {}",
                resp.text
            );
        }
    }
    Ok(())
}
