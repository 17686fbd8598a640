//! Budgets: spend limits on an org, an instance, a project or a key, per period (daily, weekly, monthly,
//! total). A generation request reserves its worst case at every scope of its chain (key → project →
//! instance → org) at once, and settles with what its usage row says it cost; so under concurrency exactly
//! what fits is admitted, a budget is never overspent, and its spend equals the usage summary's cost to the
//! micro-dollar. A refusal is a 429 `budget_exceeded` naming the scope; admitted answers carry the
//! `x-de-budget-*` headers; `GET /v1/budget` tells a key what it has left.
//!
//! To make worst case and real cost the same number, most cases use [`PRICED`], priced by output only,
//! with answers the simulator always makes exactly `max_tokens` long (see [`long_chat`]).

#[path = "budgets/admin.rs"]
mod admin;
#[path = "budgets/concurrency.rs"]
mod concurrency;
#[path = "budgets/embed.rs"]
mod embed;
#[path = "budgets/period.rs"]
mod period;
#[path = "budgets/sdk.rs"]
mod sdk;
#[path = "budgets/status.rs"]
mod status;
#[path = "budgets/streaming.rs"]
mod streaming;

use std::time::{Duration, Instant};

use e2e::client::{Api, Resp};
use e2e::seed::field;
use e2e::{ensure, ensure_eq, expect_status, Case, Ctx};
use serde_json::{json, Value};

use crate::tenant::{add_model, tenant, Tenant};
use crate::wire::{expect_header, user};

pub fn cases() -> Vec<Case> {
    [
        concurrency::cases(),
        streaming::cases(),
        status::cases(),
        period::cases(),
        sdk::cases(),
        embed::cases(),
        admin::cases(),
    ]
    .concat()
}

/// A chat model priced by its output only: $1,000 per million tokens, a tenth of a cent a token.
pub const PRICED: &str = "budget-test";
const PRICED_OUTPUT_PER_MTOK: f64 = 1_000.0;
/// µ$ per completion token of [`PRICED`].
pub const PRICED_TOKEN_MICROS: i64 = 1_000;
/// The `max_tokens` of most requests here: with [`PRICED`], $0.01 worst case and real cost alike.
pub const MAX_TOKENS: u64 = 10;
/// What one [`long_chat`] of [`MAX_TOKENS`] costs, in µ$.
pub const COST: i64 = 10_000;

/// How long a reservation may stay unsettled after its response (the settlement rides with the usage
/// row, written after the response).
const SETTLE_BOUND: Duration = Duration::from_secs(20);
const SETTLE_POLL: Duration = Duration::from_millis(200);

/// A fresh tenant with the model [`PRICED`] as well.
pub async fn priced_tenant(ctx: &Ctx, label: &str) -> Result<Tenant, String> {
    let t = tenant(ctx, label).await?;
    add_model(
        ctx,
        &t.instance_id,
        json!({"id": PRICED, "provider": "openai", "upstream_model": "gpt-4o-mini",
               "input_price_per_mtok": 0, "output_price_per_mtok": PRICED_OUTPUT_PER_MTOK}),
    )
    .await?;
    Ok(t)
}

/// A [`PRICED`] chat whose answer is exactly `max_tokens` long: the simulator is asked for 100 words and
/// cut at `max_tokens` (finish_reason `length`). `text` may carry directives of its own (they merge).
pub fn long_chat(text: &str, max_tokens: u64) -> Value {
    json!({"model": PRICED, "max_tokens": max_tokens,
           "messages": [user(&format!("{text} [[sim: tokens=100]]"))]})
}

/// The prompt bound admission reserves for one user message `text`: a token per UTF-8 byte, 4 for the
/// message, 3 for the reply's priming.
pub fn prompt_bound(text: &str) -> i64 {
    text.len() as i64 + 7
}

/// Dollars as micro-dollars, rounded: budgets and usage rows are compared in µ$.
pub fn micros(usd: f64) -> i64 {
    (usd * 1e6).round() as i64
}

/// Micro-dollars as the dollars a request body carries.
pub fn dollars(micros: i64) -> f64 {
    micros as f64 / 1e6
}

/// The number `name` of `v`.
pub fn num(v: &Value, name: &str) -> Result<f64, String> {
    v.get(name)
        .and_then(Value::as_f64)
        .ok_or_else(|| format!("no number `{name}` in {v}"))
}

/// The µ$ of the dollar amount `name` of `v`.
pub fn usd_of(v: &Value, name: &str) -> Result<i64, String> {
    num(v, name).map(micros)
}

/// `cost_usd` of a usage group in µ$ (0 when there is no such group).
pub fn cost_of(row: Option<&Value>) -> i64 {
    micros(
        row.and_then(|r| r.get("cost_usd"))
            .and_then(Value::as_f64)
            .unwrap_or(0.0),
    )
}

/// The cost of every group of a usage summary, in µ$.
pub fn total_cost(rows: &[Value]) -> i64 {
    rows.iter().map(|r| cost_of(Some(r))).sum()
}

/// The prompt plus completion tokens of every group of a usage summary.
pub fn total_tokens(rows: &[Value]) -> u64 {
    rows.iter()
        .map(|r| {
            crate::tenant::count(Some(r), "prompt_tokens")
                + crate::tenant::count(Some(r), "completion_tokens")
        })
        .sum()
}

/// The org of a tenant's instance.
pub async fn org_of(ctx: &Ctx, t: &Tenant) -> Result<String, String> {
    let resp = ctx
        .admin()
        .get(&format!("/admin/instances/{}", t.instance_id))
        .await?;
    field(expect_status(&resp, 200)?, "org_id")
}

/// `…/budgets/{scope}/{target}/{period}` of an instance.
pub fn budget_path(instance_id: &str, scope: &str, target: &str, period: &str) -> String {
    format!("/admin/instances/{instance_id}/budgets/{scope}/{target}/{period}")
}

/// Sets a budget as the platform admin; the budget object it answers with.
pub async fn put_budget(
    ctx: &Ctx,
    instance_id: &str,
    scope: &str,
    target: &str,
    period: &str,
    body: Value,
) -> Result<Value, String> {
    let path = budget_path(instance_id, scope, target, period);
    let resp = ctx.admin().put(&path, body).await?;
    ensure!(
        matches!(resp.status, 200 | 201),
        "setting the {period} budget of {scope} {target}: {}",
        resp.describe()
    );
    ensure_eq!(
        resp.body.get("object").and_then(Value::as_str),
        Some("budget"),
        "object of {}",
        resp.describe()
    );
    Ok(resp.body.clone())
}

/// The budgets of an instance as `api` reads them.
pub async fn list(api: &Api<'_>, instance_id: &str) -> Result<Vec<Value>, String> {
    let resp = api
        .get(&format!("/admin/instances/{instance_id}/budgets"))
        .await?;
    let body = expect_status(&resp, 200)?;
    ensure_eq!(
        body.get("object").and_then(Value::as_str),
        Some("list"),
        "object of {}",
        resp.describe()
    );
    Ok(resp.data()?.clone())
}

/// The budget of `scope` `target` for `period` in a listing.
pub fn find<'a>(
    budgets: &'a [Value],
    scope: &str,
    target: &str,
    period: &str,
) -> Option<&'a Value> {
    budgets.iter().find(|b| {
        let is = |name: &str, want: &str| b.get(name).and_then(Value::as_str) == Some(want);
        is("scope", scope) && is("target", target) && is("period", period)
    })
}

/// Whether a budget holds nothing: every reservation on it was settled.
pub fn is_settled(budget: &Value) -> bool {
    budget.get("in_flight").and_then(Value::as_u64) == Some(0)
        && budget.get("reserved_tokens").and_then(Value::as_u64) == Some(0)
        && budget
            .get("reserved_usd")
            .and_then(Value::as_f64)
            .is_some_and(|r| micros(r) == 0)
}

/// Polls the instance's budgets (as the platform admin) until the budget of `scope` `target` for `period`
/// holds nothing, at most [`SETTLE_BOUND`]; that budget.
pub async fn settled(
    ctx: &Ctx,
    instance_id: &str,
    scope: &str,
    target: &str,
    period: &str,
) -> Result<Value, String> {
    let deadline = Instant::now() + SETTLE_BOUND;
    loop {
        let budgets = list(&ctx.admin(), instance_id).await?;
        let budget = find(&budgets, scope, target, period)
            .ok_or_else(|| format!("no {period} budget of {scope} {target} in {budgets:?}"))?;
        if is_settled(budget) {
            return Ok(budget.clone());
        }
        ensure!(
            Instant::now() < deadline,
            "the {period} budget of {scope} {target} still holds reservations after {}s: {budget}",
            SETTLE_BOUND.as_secs()
        );
        tokio::time::sleep(SETTLE_POLL).await;
    }
}

/// A refusal by the `period` budget of `scope` (`project:prj_…`) as a client sees it: 429 with type
/// `insufficient_quota` and code `budget_exceeded`, the envelope's request id as `x-request-id`, a message
/// naming the budget (`budget exceeded: the monthly budget of project prj_… (`); `Retry-After` (seconds to
/// the reset) exactly when the budget resets, and `x-should-retry: false` when that is over a minute away
/// or never. Returns the message.
pub fn expect_refused(resp: &Resp, period: &str, scope: &str) -> Result<String, String> {
    let d = resp.describe();
    ensure_eq!(resp.status, 429, "status of a request over budget: {d}");
    let error = |name: &str| {
        resp.body
            .pointer(&format!("/error/{name}"))
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    ensure_eq!(error("type"), "insufficient_quota", "error.type: {d}");
    ensure_eq!(error("code"), "budget_exceeded", "error.code: {d}");
    ensure_eq!(
        Some(error("request_id")),
        resp.request_id(),
        "error.request_id against x-request-id: {d}"
    );
    let named = format!(
        "budget exceeded: the {period} budget of {} (",
        scope.replacen(':', " ", 1)
    );
    let message = error("message");
    ensure!(
        message.starts_with(&named),
        "the message does not start {named:?}: {d}"
    );
    let retry = resp.header("retry-after");
    if period == "total" {
        ensure!(
            retry.is_none(),
            "Retry-After on a refusal by a total budget, which never resets: {:?}",
            resp.headers
        );
        expect_header(resp, "x-should-retry", "false")?;
    } else {
        let secs = retry
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                format!(
                    "no integer Retry-After on a {period} refusal: {:?}",
                    resp.headers
                )
            })?;
        ensure!(
            (1..=32 * 86_400).contains(&secs),
            "Retry-After {secs} is not the seconds to a {period} reset"
        );
        ensure!(
            message.contains("; it resets at "),
            "the message does not say when the budget resets: {d}"
        );
        if secs > 60 {
            expect_header(resp, "x-should-retry", "false")?;
        }
    }
    Ok(message.to_owned())
}

/// The USD budget headers of an admitted answer: the tightest scope, its limit (µ$), its reset exactly when
/// `resets` (RFC 3339, UTC). Returns what the header says is left after this request's worst case, in µ$.
pub fn usd_headers(resp: &Resp, scope: &str, limit: i64, resets: bool) -> Result<i64, String> {
    let d = resp.describe();
    ensure_eq!(resp.status, 200, "an admitted request: {d}");
    expect_header(resp, "x-de-budget-scope", scope)?;
    ensure_eq!(
        micros(crate::wire::header_f64(resp, "x-de-budget-limit-usd")?),
        limit,
        "x-de-budget-limit-usd (µ$) of {d}"
    );
    let reset = resp.header("x-de-budget-reset-usd");
    match (resets, reset) {
        (true, Some(at)) => expect_rfc3339(at)?,
        (false, None) => {}
        (true, None) => return Err(format!("no x-de-budget-reset-usd: {:?}", resp.headers)),
        (false, Some(at)) => {
            return Err(format!(
                "x-de-budget-reset-usd {at:?} for a budget that never resets"
            ))
        }
    }
    crate::wire::header_f64(resp, "x-de-budget-remaining-usd").map(micros)
}

/// The answer carries no `x-de-budget-*` header (its chain has no budget).
pub fn expect_no_budget_headers(resp: &Resp) -> Result<(), String> {
    let found: Vec<&str> = resp
        .headers
        .keys()
        .map(|name| name.as_str())
        .filter(|name| name.starts_with("x-de-budget-"))
        .collect();
    ensure!(
        found.is_empty(),
        "budget headers {found:?} on an answer whose chain has no budget: {:?}",
        resp.headers
    );
    Ok(())
}

/// `2025-07-01T00:00:00Z`: a UTC RFC 3339 time to the second.
pub fn expect_rfc3339(text: &str) -> Result<(), String> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let ok = b.len() == 20
        && digits(0..4)
        && at(4, b'-')
        && digits(5..7)
        && at(7, b'-')
        && digits(8..10)
        && at(10, b'T')
        && digits(11..13)
        && at(13, b':')
        && digits(14..16)
        && at(16, b':')
        && digits(17..19)
        && at(19, b'Z');
    ensure!(
        ok,
        "{text:?} is not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ)"
    );
    Ok(())
}

const DAY_MS: i64 = 86_400_000;

/// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let shifted = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * shifted + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil (year, month, day) of days since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// The UTC midnight that starts the day of `ms`.
pub fn day_start_ms(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS) * DAY_MS
}

/// The UTC midnight that starts the month of `ms`.
pub fn month_start_ms(ms: i64) -> i64 {
    let (year, month, _) = civil_from_days(ms.div_euclid(DAY_MS));
    days_from_civil(year, month, 1) * DAY_MS
}

/// The UTC midnight that starts the month after the month of `ms`.
pub fn next_month_start_ms(ms: i64) -> i64 {
    let (year, month, _) = civil_from_days(ms.div_euclid(DAY_MS));
    let (year, month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    days_from_civil(year, month, 1) * DAY_MS
}

/// `ms` as the API writes times: `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1_000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let rest = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}
