//! The official SDKs meet a budget refusal: openai's and anthropic's Python SDKs raise their
//! `RateLimitError` (openai's with code `budget_exceeded` and type `insufficient_quota`), and with their
//! default retries they do not retry it (the refusal says `x-should-retry: false`): one request each.

use std::time::Duration;

use e2e::{case, ensure_eq, Case, Ctx};
use serde_json::{json, Value};

use super::put_budget;
use crate::tenant::{await_usage, count, group, tenant, CLAUDE, GPT};

pub fn cases() -> Vec<Case> {
    vec![case!(
        official_sdks_raise_rate_limit_errors_and_do_not_retry
    )]
}

async fn official_sdks_raise_rate_limit_errors_and_do_not_retry(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "budget-sdk").await?;
    // Room for no request at all: every request is refused at once.
    put_budget(
        ctx,
        &t.instance_id,
        "key",
        &t.key.id,
        "monthly",
        json!({"usd": 0.000001}),
    )
    .await?;
    let openai = e2e::sdk::run(
        ctx.root(),
        "sdk.py",
        &[
            "openai-budget",
            &ctx.base,
            &t.key.secret,
            GPT,
            "over budget",
        ],
    )
    .await?;
    let field = |v: &Value, name: &str| v.get(name).cloned().unwrap_or_default();
    ensure_eq!(
        field(&openai, "error_class"),
        json!("RateLimitError"),
        "openai SDK: {openai}"
    );
    ensure_eq!(field(&openai, "status"), json!(429), "openai SDK: {openai}");
    ensure_eq!(
        field(&openai, "code"),
        json!("budget_exceeded"),
        "openai SDK: {openai}"
    );
    ensure_eq!(
        field(&openai, "type"),
        json!("insufficient_quota"),
        "openai SDK: {openai}"
    );
    let anthropic = e2e::sdk::run(
        ctx.root(),
        "sdk.py",
        &[
            "anthropic-budget",
            &ctx.base,
            &t.key.secret,
            CLAUDE,
            "over budget",
        ],
    )
    .await?;
    ensure_eq!(
        field(&anthropic, "error_class"),
        json!("RateLimitError"),
        "anthropic SDK: {anthropic}"
    );
    ensure_eq!(
        field(&anthropic, "status"),
        json!(429),
        "anthropic SDK: {anthropic}"
    );
    ensure_eq!(
        field(&anthropic, "type"),
        json!("insufficient_quota"),
        "anthropic SDK: {anthropic}"
    );
    // Each SDK sent one request: two refusals recorded, and no more come later.
    let api = ctx.admin();
    await_usage(&api, &t.instance_id, "status", |rows| {
        count(group(rows, "429"), "requests") >= 2
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rows = await_usage(&api, &t.instance_id, "status", |_| true).await?;
    ensure_eq!(
        count(group(&rows, "429"), "requests"),
        2,
        "refused requests the two SDKs sent: {rows:?}"
    );
    Ok(())
}
