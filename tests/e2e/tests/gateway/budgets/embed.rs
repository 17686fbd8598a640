//! Embeddings reserve on the same budgets: the worst case is the input's bound (a token per byte) at the
//! input price, the settlement the tokens the upstream counted, and an input whose bound alone exceeds the
//! budget is refused before anything is sent.

use e2e::{case, ensure, ensure_eq, Case, Ctx};
use serde_json::json;

use super::{cost_of, expect_refused, put_budget, settled, usd_headers, usd_of};
use crate::tenant::{add_model, await_usage, group, tenant};
use crate::wire::post;

pub fn cases() -> Vec<Case> {
    vec![case!(
        embeddings_reserve_their_input_bound_and_settle_what_was_counted
    )]
}

const EMBED: &str = "embed-budget";

async fn embeddings_reserve_their_input_bound_and_settle_what_was_counted(
    ctx: &Ctx,
) -> Result<(), String> {
    let t = tenant(ctx, "budget-embed").await?;
    // $1,000 per million input tokens: a µ$ per byte of input at worst.
    add_model(
        ctx,
        &t.instance_id,
        json!({"id": EMBED, "provider": "openai", "upstream_model": "text-embedding-3-small",
               "capabilities": ["embeddings"], "input_price_per_mtok": 1000.0}),
    )
    .await?;
    let limit: i64 = 150_000;
    put_budget(
        ctx,
        &t.instance_id,
        "key",
        &t.key.id,
        "total",
        json!({"usd": limit as f64 / 1e6}),
    )
    .await?;
    let api = t.api(ctx);
    // 100 bytes: at most 100 tokens, $0.1.
    let small = json!({"model": EMBED, "input": "x".repeat(100)});
    let first = post(&api, "/v1/embeddings", &small, &[]).await?;
    ensure_eq!(
        first.status,
        200,
        "an input within the budget: {}",
        first.describe()
    );
    let remaining = usd_headers(&first, &format!("key:{}", t.key.id), limit, false)?;
    ensure_eq!(
        remaining,
        limit - 100_000,
        "what is left once the input's bound is held"
    );
    let rows = await_usage(&ctx.admin(), &t.instance_id, "status", |rows| {
        group(rows, "200").is_some()
    })
    .await?;
    let budget = settled(ctx, &t.instance_id, "key", &t.key.id, "total").await?;
    let spent = usd_of(&budget, "spent_usd")?;
    ensure_eq!(
        spent,
        cost_of(group(&rows, "200")),
        "spent vs the usage row: {budget}"
    );
    ensure!(
        spent > 0 && spent <= 100_000,
        "spent {spent} µ$: within the worst case"
    );
    // 200 bytes: $0.2 at worst, more than the whole budget.
    let large = json!({"model": EMBED, "input": "y".repeat(200)});
    let refused = post(&api, "/v1/embeddings", &large, &[]).await?;
    let message = expect_refused(&refused, "total", &format!("key {}", t.key.id))?;
    ensure!(
        message.contains("is below what this request may cost (up to $0.2)"),
        "the refusal says the input can never fit: {message}"
    );
    Ok(())
}
