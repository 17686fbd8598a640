//! Usage rows: after streamed and non-streamed requests, the instance's usage (written after each
//! response) adds up to exactly the usage the clients saw, priced by the model configs.

use e2e::{case, ensure, ensure_eq, expect_status, Case, Ctx};
use serde_json::{json, Value};

use crate::streams::{read_anthropic, read_openai};
use crate::tenant::{
    await_usage, count, group, tenant, usage, CLAUDE, CLAUDE_PRICES, GPT, GPT_PRICES,
};
use crate::wire::{
    chat_body, messages_body, post, streamed, u64_at, Tokens, CHAT, GENERATE, MESSAGES,
};

pub fn cases() -> Vec<Case> {
    vec![case!(totals_equal_what_clients_saw)]
}

/// Sends five requests (two models, both formats, streamed and not, and /generate); returns the tokens
/// each model's callers saw.
async fn traffic(t: &crate::tenant::Tenant, ctx: &Ctx) -> Result<(Tokens, Tokens), String> {
    let (api, x_api) = (t.api(ctx), t.x_api(ctx));
    let mut gpt = Tokens::default();
    let mut claude = Tokens::default();

    let resp = post(&api, CHAT, &chat_body(GPT, "usage row one"), &[]).await?;
    let b = expect_status(&resp, 200)?;
    gpt.add(Tokens {
        prompt: u64_at(b, "/usage/prompt_tokens")?,
        completion: u64_at(b, "/usage/completion_tokens")?,
    });

    let body = streamed(
        chat_body(GPT, "usage row two streamed [[sim: tokens=5]]"),
        true,
    );
    let stream = read_openai(&post(&api, CHAT, &body, &[]).await?)?;
    ensure!(stream.done, "the OpenAI stream did not finish");
    gpt.add(stream.usage.ok_or("no usage chunk")?);

    let resp = post(
        &api,
        GENERATE,
        &json!({"prompt": "usage row three", "model_id": GPT}),
        &[],
    )
    .await?;
    let b = expect_status(&resp, 200)?;
    gpt.add(Tokens {
        prompt: u64_at(b, "/usage/prompt_tokens")?,
        completion: u64_at(b, "/usage/completion_tokens")?,
    });

    let resp = post(
        &x_api,
        MESSAGES,
        &messages_body(CLAUDE, "usage row four", 7),
        &[],
    )
    .await?;
    let b = expect_status(&resp, 200)?;
    claude.add(Tokens {
        prompt: u64_at(b, "/usage/input_tokens")?,
        completion: u64_at(b, "/usage/output_tokens")?,
    });

    let body = streamed(
        messages_body(CLAUDE, "usage row five [[sim: tokens=4]]", 50),
        false,
    );
    let stream = read_anthropic(&post(&x_api, MESSAGES, &body, &[]).await?)?;
    ensure!(
        stream.events.last().map(String::as_str) == Some("message_stop"),
        "the Anthropic stream did not finish: {:?}",
        stream.events
    );
    claude.add(stream.usage);
    Ok((gpt, claude))
}

/// The model's usage group equals what its callers saw, priced `prices` per million tokens.
fn expect_group(
    rows: &[Value],
    model: &str,
    requests: u64,
    seen: Tokens,
    prices: (f64, f64),
) -> Result<(), String> {
    let row = group(rows, model).ok_or_else(|| format!("no usage group {model} in {rows:?}"))?;
    ensure_eq!(
        count(Some(row), "requests"),
        requests,
        "{model} requests in {row}"
    );
    ensure_eq!(count(Some(row), "errors"), 0, "{model} errors in {row}");
    ensure_eq!(
        count(Some(row), "rate_limited"),
        0,
        "{model} rate_limited in {row}"
    );
    ensure_eq!(count(Some(row), "cached"), 0, "{model} cached in {row}");
    ensure_eq!(
        count(Some(row), "prompt_tokens"),
        seen.prompt,
        "{model} prompt_tokens in {row}"
    );
    ensure_eq!(
        count(Some(row), "completion_tokens"),
        seen.completion,
        "{model} completion_tokens in {row}"
    );
    let cost = row
        .get("cost_usd")
        .and_then(Value::as_f64)
        .ok_or_else(|| format!("no cost_usd in {row}"))?;
    let want = (seen.prompt as f64 * prices.0 + seen.completion as f64 * prices.1) / 1e6;
    ensure!(
        (cost - want).abs() <= 1e-9,
        "{model} cost_usd {cost} != {want} (tokens {seen:?} at {prices:?} per Mtok)"
    );
    for avg in ["avg_latency_ms", "avg_overhead_ms"] {
        ensure!(
            row.get(avg)
                .and_then(Value::as_f64)
                .is_some_and(|v| v >= 0.0),
            "{model} {avg} is not a number ≥ 0 in {row}"
        );
    }
    Ok(())
}

async fn totals_equal_what_clients_saw(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "usage").await?;
    let (gpt, claude) = traffic(&t, ctx).await?;
    let api = t.api(ctx);
    // The rows are written after the responses: wait until all five are there.
    let rows = await_usage(&api, &t.instance_id, "model", |rows| {
        count(group(rows, GPT), "requests") >= 3 && count(group(rows, CLAUDE), "requests") >= 2
    })
    .await?;
    ensure_eq!(rows.len(), 2, "usage groups by model: {rows:?}");
    expect_group(&rows, GPT, 3, gpt, GPT_PRICES)?;
    expect_group(&rows, CLAUDE, 2, claude, CLAUDE_PRICES)?;

    let by_key = usage(&api, &t.instance_id, "key").await?;
    let row =
        group(&by_key, &t.key.id).ok_or_else(|| format!("no group for the key: {by_key:?}"))?;
    ensure_eq!(
        count(Some(row), "requests"),
        5,
        "requests of the key in {row}"
    );
    let by_status = usage(&api, &t.instance_id, "status").await?;
    ensure_eq!(by_status.len(), 1, "status groups: {by_status:?}");
    ensure_eq!(
        count(group(&by_status, "200"), "requests"),
        5,
        "status 200 group in {by_status:?}"
    );
    Ok(())
}
