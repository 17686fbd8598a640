//! Streams and budgets: a stream holds its worst case while it runs and settles with what its usage row
//! says it cost — a complete stream its upstream usage, a stream the client cut what it generated so far
//! (never zero, and not its whole reservation) — and parallel streams never overspend a budget.

use e2e::{case, ensure, ensure_eq, Case, Ctx};
use serde_json::{json, Value};

use super::{
    cost_of, dollars, expect_refused, prompt_bound, put_budget, settled, usd_headers, usd_of,
};
use crate::rate_limits::{fire, split};
use crate::streams::read_openai;
use crate::tenant::{add_key, add_model, await_usage, count, group, tenant, Tenant};
use crate::wire::{post, prompt_tokens, streamed, user, CHAT, CLIENT_TIMEOUT};

pub fn cases() -> Vec<Case> {
    vec![case!(streams_settle_what_they_generated_even_when_cut)]
}

/// Priced on both sides, so that even a stream cut before its first word costs its prompt: $10 and
/// $1,000 per million tokens, 10 and 1,000 µ$ a token.
const STREAM_MODEL: &str = "budget-stream";
const INPUT_MICROS: i64 = 10;
const OUTPUT_MICROS: i64 = 1_000;

/// A streamed chat of [`STREAM_MODEL`] with its usage chunk.
fn stream_chat(text: &str, max_tokens: u64) -> Value {
    streamed(
        json!({"model": STREAM_MODEL, "max_tokens": max_tokens, "messages": [user(text)]}),
        true,
    )
}

/// Opens a stream, checks its budget scope header, reads its first chunk and goes away.
async fn cut_after_first_chunk(
    ctx: &Ctx,
    secret: &str,
    body: &Value,
    scope: &str,
) -> Result<(), String> {
    let mut resp = ctx
        .http
        .post(format!("{}{CHAT}", ctx.base))
        .bearer_auth(secret)
        .json(body)
        .timeout(CLIENT_TIMEOUT)
        .send()
        .await
        .map_err(|e| format!("POST {CHAT} (stream to cut): {e}"))?;
    ensure_eq!(resp.status().as_u16(), 200, "status of the stream to cut");
    ensure_eq!(
        resp.headers()
            .get("x-de-budget-scope")
            .and_then(|v| v.to_str().ok()),
        Some(scope),
        "x-de-budget-scope of the stream to cut"
    );
    let first = resp
        .chunk()
        .await
        .map_err(|e| format!("the first chunk of the stream to cut: {e}"))?;
    ensure!(first.is_some(), "the stream to cut ended at once");
    drop(resp);
    Ok(())
}

async fn stream_tenant(ctx: &Ctx) -> Result<Tenant, String> {
    let t = tenant(ctx, "budget-streams").await?;
    add_model(
        ctx,
        &t.instance_id,
        json!({"id": STREAM_MODEL, "provider": "openai", "upstream_model": "gpt-4o-mini",
               "input_price_per_mtok": INPUT_MICROS, "output_price_per_mtok": OUTPUT_MICROS}),
    )
    .await?;
    Ok(t)
}

/// A key with a monthly $5 budget: a complete stream raises its spend by exactly its usage row's cost
/// (what the client's usage chunk says, at the model's prices); a stream the client cut after its first
/// chunk raises it by more than zero, by exactly that stream's row (status 499). Another key's budget has
/// room for 5.5 worst cases ($0.2767): of 20 parallel streams exactly 5 are admitted — each really costs
/// a little less than its worst case, never enough for a sixth — and it spent 5 real costs, ≤ the budget.
async fn streams_settle_what_they_generated_even_when_cut(ctx: &Ctx) -> Result<(), String> {
    let t = stream_tenant(ctx).await?;
    let ins = t.instance_id.as_str();
    let limit = 5_000_000;
    put_budget(
        ctx,
        ins,
        "key",
        &t.key.id,
        "monthly",
        json!({"usd": dollars(limit)}),
    )
    .await?;
    let scope = format!("key:{}", t.key.id);
    let api = t.api(ctx);

    let whole = post(
        &api,
        CHAT,
        &stream_chat("a whole stream [[sim: tokens=20]]", 20),
        &[],
    )
    .await?;
    usd_headers(&whole, &scope, limit, true)?;
    let stream = read_openai(&whole)?;
    ensure!(
        stream.done,
        "the whole stream did not finish: {}",
        whole.text
    );
    let seen = stream.usage.ok_or("no usage chunk in the whole stream")?;
    let whole_cost = seen.prompt as i64 * INPUT_MICROS + seen.completion as i64 * OUTPUT_MICROS;
    let rows = await_usage(&api, ins, "status", |rows| {
        count(group(rows, "200"), "requests") >= 1
    })
    .await?;
    ensure_eq!(
        cost_of(group(&rows, "200")),
        whole_cost,
        "µ$ of the whole stream's row against its usage chunk {seen:?}"
    );
    let after_whole = usd_of(
        &settled(ctx, ins, "key", &t.key.id, "monthly").await?,
        "spent_usd",
    )?;
    ensure_eq!(
        after_whole,
        whole_cost,
        "spent_usd (µ$) after the whole stream"
    );

    let cut = stream_chat(
        "cut by the client [[sim: tokens=100, chunk_delay_ms=50]]",
        100,
    );
    cut_after_first_chunk(ctx, &t.key.secret, &cut, &scope).await?;
    let rows = await_usage(&api, ins, "status", |rows| {
        count(group(rows, "499"), "requests") >= 1
    })
    .await?;
    let cut_cost = cost_of(group(&rows, "499"));
    ensure!(cut_cost > 0, "the cut stream's row costs nothing: {rows:?}");
    let budget = settled(ctx, ins, "key", &t.key.id, "monthly").await?;
    let after_cut = usd_of(&budget, "spent_usd")?;
    ensure!(
        after_cut > after_whole,
        "the cut stream settled to zero: spent {after_cut} µ$ before and after it"
    );
    ensure_eq!(
        after_cut - after_whole,
        cut_cost,
        "µ$ the cut stream settled against its usage row: {rows:?}"
    );

    parallel_streams_fit(ctx, &t).await
}

async fn parallel_streams_fit(ctx: &Ctx, t: &Tenant) -> Result<(), String> {
    const N: usize = 20;
    const MAX: u64 = 50;
    let ins = t.instance_id.as_str();
    let racer = add_key(ctx, ins, json!({"name": "racer", "scopes": ["generate"]})).await?;
    let text = "race [[sim: tokens=100]]";
    let worst = prompt_bound(text) * INPUT_MICROS + MAX as i64 * OUTPUT_MICROS;
    let real = prompt_tokens(&[text]) as i64 * INPUT_MICROS + MAX as i64 * OUTPUT_MICROS;
    let limit = worst * 11 / 2;
    put_budget(
        ctx,
        ins,
        "key",
        &racer.id,
        "monthly",
        json!({"usd": dollars(limit)}),
    )
    .await?;
    let (ok, refused) =
        split(fire(&ctx.with_key(&racer.secret), &stream_chat(text, MAX), N).await?)?;
    ensure_eq!(
        (ok.len(), refused.len()),
        (5, N - 5),
        "(200s, 429s) of {N} parallel streams with room for 5.5 worst cases of {worst} µ$"
    );
    let scope = format!("key:{}", racer.id);
    for resp in &ok {
        let left = usd_headers(resp, &scope, limit, true)?;
        ensure!(
            (0..=limit - worst).contains(&left),
            "x-de-budget-remaining-usd {left} µ$ does not hold the stream's worst case"
        );
        let stream = read_openai(resp)?;
        ensure!(
            stream.done,
            "an admitted stream did not finish: {}",
            resp.text
        );
    }
    for resp in &refused {
        expect_refused(resp, "monthly", &scope)?;
    }
    let rows = await_usage(&t.api(ctx), ins, "key", |rows| {
        count(group(rows, &racer.id), "requests") >= N as u64
    })
    .await?;
    let budget = settled(ctx, ins, "key", &racer.id, "monthly").await?;
    let spent = usd_of(&budget, "spent_usd")?;
    ensure_eq!(
        spent,
        5 * real,
        "spent_usd (µ$) of 5 streams of {real} µ$: {budget}"
    );
    ensure!(
        spent <= limit,
        "the racer spent {spent} µ$ > its budget's {limit}"
    );
    ensure_eq!(
        spent,
        cost_of(group(&rows, &racer.id)),
        "spent_usd (µ$) against the racer's usage rows: {rows:?}"
    );
    Ok(())
}
