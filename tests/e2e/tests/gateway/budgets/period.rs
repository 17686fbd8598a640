//! A budget's period ends: the ledger's clock (moved forward through the local deployment's test-clock
//! route, the way a day passes) crosses midnight UTC and a daily budget that refused starts over from
//! zero, while the spend of the day before stays in the usage rows. Crossing the soft threshold and
//! exhausting the budget each raise one event, recorded in D1 and listed by the admin API.

use std::time::{Duration, Instant};

use e2e::{case, ensure, ensure_eq, expect_status, Case, Ctx};
use serde_json::{json, Value};

use super::{
    day_start_ms, expect_refused, long_chat, org_of, priced_tenant, put_budget, rfc3339, settled,
    usd_of, COST, MAX_TOKENS,
};
use crate::wire::{post, CHAT};

pub fn cases() -> Vec<Case> {
    vec![case!(
        a_daily_budget_starts_over_at_midnight_and_raises_its_events
    )]
}

const DAY_MS: i64 = 86_400_000;

/// The org's budget events once `want` of them are there (they are copied to D1 by the ledger's alarm).
async fn events(ctx: &Ctx, org_id: &str, want: usize) -> Result<Vec<Value>, String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let resp = ctx
            .admin()
            .get(&format!("/admin/orgs/{org_id}/budget-events"))
            .await?;
        let rows = expect_status(&resp, 200)?
            .get("data")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if rows.len() >= want {
            return Ok(rows);
        }
        ensure!(
            Instant::now() < deadline,
            "{} budget events after 15 s, wanted {want}: {rows:?}",
            rows.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A daily key budget with room for exactly two requests and a soft threshold at 50 %: two pass, the
/// third is refused until midnight (its Retry-After says so); the soft-threshold and exhausted events appear once
/// each. The ledger's clock then moves a day on: the period starts over at zero, a request passes, and
/// the new period's headers reset at the next midnight.
async fn a_daily_budget_starts_over_at_midnight_and_raises_its_events(
    ctx: &Ctx,
) -> Result<(), String> {
    let t = priced_tenant(ctx, "budget-day").await?;
    let org_id = org_of(ctx, &t).await?;
    let key = &t.key.id;
    let limit = 2 * COST;
    put_budget(
        ctx,
        &t.instance_id,
        "key",
        key,
        "daily",
        json!({"usd": limit as f64 / 1e6, "soft_percent": 50}),
    )
    .await?;
    let api = t.api(ctx);
    let body = long_chat("spend the day", MAX_TOKENS);
    for n in 1..=2 {
        let r = post(&api, CHAT, &body, &[]).await?;
        ensure_eq!(
            r.status,
            200,
            "request {n} within the day's budget: {}",
            r.describe()
        );
    }
    let refused = post(&api, CHAT, &body, &[]).await?;
    expect_refused(&refused, "daily", &format!("key {key}"))?;
    let retry: i64 = refused
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no Retry-After on {}", refused.describe()))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let to_midnight = (day_start_ms(now) + DAY_MS - now) / 1000;
    ensure!(
        (retry - to_midnight).abs() <= 5,
        "Retry-After {retry} s, but midnight UTC is {to_midnight} s away"
    );
    let before = settled(ctx, &t.instance_id, "key", key, "daily").await?;
    ensure_eq!(
        usd_of(&before, "spent_usd")?,
        2 * COST,
        "spent today: {before}"
    );

    let got = events(ctx, &org_id, 2).await?;
    let scope = format!("key:{key}");
    let of_type = |rows: &[Value], kind: &str| {
        rows.iter()
            .filter(|e| {
                e.get("type").cloned().unwrap_or_default() == json!(kind)
                    && e.get("scope").cloned().unwrap_or_default() == json!(scope)
            })
            .count()
    };
    ensure_eq!(
        of_type(&got, "soft_threshold"),
        1,
        "soft-threshold events: {got:?}"
    );
    ensure_eq!(of_type(&got, "exhausted"), 1, "exhausted events: {got:?}");

    // A day passes on the ledger's clock.
    let shift = ctx
        .admin()
        .post(
            &format!("/admin/orgs/{org_id}/budgets/clock"),
            json!({"advance_ms": DAY_MS}),
        )
        .await?;
    expect_status(&shift, 200)?;
    let next = post(&api, CHAT, &body, &[]).await?;
    ensure_eq!(
        next.status,
        200,
        "the first request of the next day: {}",
        next.describe()
    );
    let reset = next.header("x-de-budget-reset-usd").unwrap_or_default();
    ensure_eq!(
        reset,
        rfc3339(day_start_ms(now) + 2 * DAY_MS),
        "the new period resets at the next midnight"
    );
    let after = settled(ctx, &t.instance_id, "key", key, "daily").await?;
    ensure_eq!(
        usd_of(&after, "spent_usd")?,
        COST,
        "spent on the new day: {after}"
    );
    ensure_eq!(
        after.get("period_start").cloned().unwrap_or_default(),
        json!(rfc3339(day_start_ms(now) + DAY_MS)),
        "the new period's start"
    );

    // A platform-only, local-only hook: a key cannot move the clock.
    let by_key = api
        .post(
            &format!("/admin/orgs/{org_id}/budgets/clock"),
            json!({"advance_ms": DAY_MS}),
        )
        .await?;
    ensure_eq!(
        by_key.status,
        404,
        "the clock route for a key: {}",
        by_key.describe()
    );
    Ok(())
}
