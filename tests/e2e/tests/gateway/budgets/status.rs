//! What a client and an admin read about budgets: the `x-de-budget-*` headers of an admitted answer, the
//! key's `GET /v1/budget`, and a new budget's starting spend (what its scope already spent this period).

use std::time::Instant;

use e2e::client::Resp;
use e2e::seed::now_ms;
use e2e::{case, ensure, ensure_eq, expect_status, Case, Ctx};
use serde_json::{json, Value};

use super::{
    day_start_ms, expect_no_budget_headers, expect_rfc3339, is_settled, long_chat, micros,
    month_start_ms, next_month_start_ms, priced_tenant, prompt_bound, put_budget, rfc3339, settled,
    total_cost, total_tokens, usd_headers, usd_of, COST, MAX_TOKENS, PRICED_TOKEN_MICROS,
    SETTLE_BOUND, SETTLE_POLL,
};
use crate::tenant::{add_key, await_usage, count, group, tenant, Tenant, GPT};
use crate::wire::{chat_body, expect_header, header_f64, post, CHAT};

pub fn cases() -> Vec<Case> {
    vec![
        case!(budget_headers_and_the_key_endpoint),
        case!(a_new_budget_starts_from_the_periods_spend),
    ]
}

/// `GET /v1/budget` with `t`'s key, polled until every budget of its chain holds nothing.
async fn settled_status(ctx: &Ctx, t: &Tenant) -> Result<Value, String> {
    let deadline = Instant::now() + SETTLE_BOUND;
    loop {
        let resp = t.api(ctx).get("/v1/budget").await?;
        let body = expect_status(&resp, 200)?;
        ensure_eq!(
            body.get("object").and_then(Value::as_str),
            Some("budget_status"),
            "object of {}",
            resp.describe()
        );
        ensure_eq!(
            body.get("key_id").and_then(Value::as_str),
            Some(t.key.id.as_str()),
            "key_id of {}",
            resp.describe()
        );
        if resp.data()?.iter().all(is_settled) {
            return Ok(body.clone());
        }
        ensure!(
            Instant::now() < deadline,
            "the key's budgets still hold reservations after {}s: {}",
            SETTLE_BOUND.as_secs(),
            resp.describe()
        );
        tokio::time::sleep(SETTLE_POLL).await;
    }
}

/// The instance's usage by key since `from_ms`, as its key reads it.
async fn usage_since(t: &Tenant, ctx: &Ctx, from_ms: i64) -> Result<Vec<Value>, String> {
    let resp = t
        .api(ctx)
        .get(&format!(
            "/admin/instances/{}/usage?group_by=key&from={from_ms}",
            t.instance_id
        ))
        .await?;
    expect_status(&resp, 200)?;
    Ok(resp.data()?.clone())
}

/// The `remaining.<dimension>` of a budget status.
fn remaining<'v>(status: &'v Value, dimension: &str) -> Result<&'v Value, String> {
    status
        .pointer(&format!("/remaining/{dimension}"))
        .ok_or_else(|| format!("no remaining.{dimension} in {status}"))
}

/// A header that is an integer.
fn header_u64(resp: &Resp, name: &str) -> Result<u64, String> {
    resp.header(name)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| format!("no integer {name}: {:?}", resp.headers))
}

/// A monthly instance budget of $1 and 100,000 tokens and a monthly key budget of $0.50. One $0.01 request:
/// its USD headers name the tighter key budget ($0.50, $0.49 left, resetting at the next month's start), its
/// tokens headers the instance's (100,000, less the worst case: the prompt's bytes + 7 + max_tokens).
/// `GET /v1/budget` then reports the same: USD by the key with the header's remaining and reset, tokens by
/// the instance with what really was used taken off, and both budgets in `data`. A key with no budget
/// anywhere in its chain gets no budget headers, null remainders and no data.
async fn budget_headers_and_the_key_endpoint(ctx: &Ctx) -> Result<(), String> {
    let t = priced_tenant(ctx, "budget-status").await?;
    let ins = t.instance_id.as_str();
    put_budget(
        ctx,
        ins,
        "instance",
        ins,
        "monthly",
        json!({"usd": 1.0, "tokens": 100_000}),
    )
    .await?;
    put_budget(ctx, ins, "key", &t.key.id, "monthly", json!({"usd": 0.5})).await?;
    let text = "read my budget";
    let resp = post(&t.api(ctx), CHAT, &long_chat(text, MAX_TOKENS), &[]).await?;
    let key_scope = format!("key:{}", t.key.id);
    let left = usd_headers(&resp, &key_scope, 500_000, true)?;
    ensure_eq!(left, 500_000 - COST, "x-de-budget-remaining-usd (µ$)");
    let reset = resp
        .header("x-de-budget-reset-usd")
        .unwrap_or_default()
        .to_owned();
    let now = now_ms();
    ensure!(
        [
            rfc3339(next_month_start_ms(now)),
            rfc3339(next_month_start_ms(now - 60_000))
        ]
        .contains(&reset),
        "x-de-budget-reset-usd {reset:?} is not the start of next month (UTC)"
    );
    expect_header(&resp, "x-de-budget-limit-tokens", "100000")?;
    // The worst case in tokens: the prompt's bound (the simulator's directive is part of the text) + max_tokens.
    let worst_tokens = prompt_bound(&format!("{text} [[sim: tokens=100]]")) as u64 + MAX_TOKENS;
    ensure_eq!(
        header_u64(&resp, "x-de-budget-remaining-tokens")?,
        100_000 - worst_tokens,
        "x-de-budget-remaining-tokens"
    );
    expect_rfc3339(resp.header("x-de-budget-reset-tokens").unwrap_or_default())?;

    let status = settled_status(ctx, &t).await?;
    let usd = remaining(&status, "usd")?;
    for (name, want) in [
        ("scope", json!(key_scope)),
        ("period", json!("monthly")),
        ("resets_at", json!(reset)),
    ] {
        ensure_eq!(
            usd.get(name),
            Some(&want),
            "remaining.usd.{name} of {status}"
        );
    }
    ensure_eq!(
        usd_of(usd, "limit")?,
        500_000,
        "remaining.usd.limit (µ$) of {status}"
    );
    ensure_eq!(
        usd_of(usd, "remaining")?,
        micros(header_f64(&resp, "x-de-budget-remaining-usd")?),
        "remaining.usd.remaining (µ$) against the last header (worst case and real cost are one)"
    );
    let rows = await_usage(&t.api(ctx), ins, "key", |rows| {
        count(group(rows, &t.key.id), "requests") >= 1
    })
    .await?;
    let tokens = remaining(&status, "tokens")?;
    ensure_eq!(
        tokens.get("scope"),
        Some(&json!(format!("instance:{ins}"))),
        "remaining.tokens.scope of {status}"
    );
    let used = total_tokens(&rows);
    ensure_eq!(
        tokens.get("remaining").and_then(Value::as_u64),
        Some(100_000 - used),
        "remaining.tokens.remaining once settled with the {used} tokens really used (header said {})",
        100_000 - worst_tokens
    );
    let data = status
        .get("data")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut chain: Vec<(String, String)> = data
        .iter()
        .map(|b| {
            let s = |name: &str| {
                b.get(name)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            (s("scope"), s("target"))
        })
        .collect();
    chain.sort();
    ensure_eq!(
        chain,
        vec![
            ("instance".to_owned(), ins.to_owned()),
            ("key".to_owned(), t.key.id.clone())
        ],
        "the budgets of the key's chain in {status}"
    );

    let free = tenant(ctx, "budget-status-none").await?;
    let resp = post(&free.api(ctx), CHAT, &chat_body(GPT, "no budget here"), &[]).await?;
    expect_status(&resp, 200)?;
    expect_no_budget_headers(&resp)?;
    let status = settled_status(ctx, &free).await?;
    for dimension in ["usd", "tokens"] {
        ensure_eq!(
            remaining(&status, dimension)?,
            &Value::Null,
            "remaining.{dimension} of a key without budgets"
        );
    }
    ensure_eq!(
        status.get("data"),
        Some(&json!([])),
        "data of a key without budgets"
    );
    Ok(())
}

/// Three requests with no budget ($0.01, $0.007 and $0.003, the last by a second key); then a monthly
/// instance budget starts from the month's $0.02 (and the month's tokens) of the usage summary, with
/// `period_start` the month's first midnight (UTC), and a daily budget of the second key from its $0.003
/// today. A request after that adds exactly its cost.
async fn a_new_budget_starts_from_the_periods_spend(ctx: &Ctx) -> Result<(), String> {
    let t = priced_tenant(ctx, "budget-seed").await?;
    let ins = t.instance_id.as_str();
    let other = add_key(ctx, ins, json!({"name": "second", "scopes": ["generate"]})).await?;
    for (api, max_tokens) in [
        (t.api(ctx), 10),
        (t.api(ctx), 7),
        (ctx.with_key(&other.secret), 3),
    ] {
        let resp = post(
            &api,
            CHAT,
            &long_chat("spent before the budget", max_tokens),
            &[],
        )
        .await?;
        expect_status(&resp, 200)?;
        expect_no_budget_headers(&resp)?;
    }
    await_usage(&t.api(ctx), ins, "key", |rows| {
        count(group(rows, &t.key.id), "requests") >= 2
            && count(group(rows, &other.id), "requests") >= 1
    })
    .await?;
    let now = now_ms();
    let month = usage_since(&t, ctx, month_start_ms(now)).await?;
    ensure_eq!(
        total_cost(&month),
        20 * PRICED_TOKEN_MICROS,
        "µ$ of this month's usage: {month:?}"
    );

    let created = put_budget(ctx, ins, "instance", ins, "monthly", json!({"usd": 5.0})).await?;
    ensure_eq!(
        created.get("period_start"),
        Some(&json!(rfc3339(month_start_ms(now)))),
        "period_start of a monthly budget: {created}"
    );
    let budget = settled(ctx, ins, "instance", ins, "monthly").await?;
    ensure_eq!(
        usd_of(&budget, "spent_usd")?,
        total_cost(&month),
        "spent_usd (µ$) of a new monthly budget against this month's usage: {month:?}"
    );
    ensure_eq!(
        budget.get("spent_tokens").and_then(Value::as_u64),
        Some(total_tokens(&month)),
        "spent_tokens of a new monthly budget against this month's usage: {month:?}"
    );
    ensure_eq!(
        usd_of(&budget, "remaining_usd")?,
        5_000_000 - total_cost(&month),
        "remaining_usd (µ$) of {budget}"
    );

    let today = usage_since(&t, ctx, day_start_ms(now)).await?;
    put_budget(ctx, ins, "key", &other.id, "daily", json!({"usd": 1.0})).await?;
    let daily = settled(ctx, ins, "key", &other.id, "daily").await?;
    ensure_eq!(
        usd_of(&daily, "spent_usd")?,
        super::cost_of(group(&today, &other.id)),
        "spent_usd (µ$) of the second key's new daily budget against its usage today: {today:?}"
    );

    let resp = post(
        &t.api(ctx),
        CHAT,
        &long_chat("spent under the budget", MAX_TOKENS),
        &[],
    )
    .await?;
    usd_headers(&resp, &format!("instance:{ins}"), 5_000_000, true)?;
    let budget = settled(ctx, ins, "instance", ins, "monthly").await?;
    ensure_eq!(
        usd_of(&budget, "spent_usd")?,
        total_cost(&month) + COST,
        "spent_usd (µ$) after one more $0.01 request"
    );
    Ok(())
}
