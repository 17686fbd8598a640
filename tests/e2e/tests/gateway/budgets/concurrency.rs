//! Budgets under concurrency: of many parallel requests exactly those whose worst cases fit are admitted
//! (chat by `max_tokens`, images by their price times `n`), the tightest scope of a chain refuses, sibling
//! projects racing for an instance's last dollars never overspend it, and what was spent equals the usage
//! summary's cost.

use std::collections::BTreeSet;

use e2e::client::Resp;
use e2e::seed::{create_project, field};
use e2e::{case, ensure, ensure_eq, Case, Ctx};
use futures_util::future::join_all;
use serde_json::{json, Value};

use super::{
    cost_of, dollars, expect_refused, long_chat, priced_tenant, put_budget, settled, total_cost,
    usd_headers, usd_of, COST, MAX_TOKENS,
};
use crate::images::IMAGES;
use crate::rate_limits::{fire, split};
use crate::tenant::{add_key, add_model, attempts, await_usage, count, group, Tenant};
use crate::wire::{fault_key, post, str_at, u64_at};

pub fn cases() -> Vec<Case> {
    vec![
        case!(fifty_parallel_requests_fit_a_budget_with_room_for_ten),
        case!(images_are_reserved_at_their_price_times_n),
        case!(nested_scopes_the_tightest_refuses),
    ]
}

/// An image model (OpenAI `dall-e-2` upstream), priced per image.
const IMAGE_MODEL: &str = "img-budget";
/// $0.04 an image, in µ$.
const IMAGE_PRICE: i64 = 40_000;

/// The admitted answers' `x-de-budget-remaining-usd` are, between them, `before - k × cost` for
/// k = 1..=n, each once (`before`: what the budget had left before them): every admitted request held its
/// worst case, and nothing was held twice.
fn expect_remaining_steps(
    ok: &[Resp],
    scope: &str,
    (limit, before): (i64, i64),
    cost: i64,
    resets: bool,
) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for resp in ok {
        seen.insert(usd_headers(resp, scope, limit, resets)?);
    }
    let n = ok.len() as i64;
    let want: BTreeSet<i64> = (1..=n).map(|k| before - k * cost).collect();
    ensure_eq!(
        seen,
        want,
        "x-de-budget-remaining-usd (µ$) of the {n} admitted requests under {scope}"
    );
    Ok(())
}

/// The output-only model answers with exactly `max_tokens` tokens, so each request costs $0.01 both as its
/// worst case and really. A `total` instance budget of $0.105 has room for ten: of 50 parallel requests
/// exactly 10 are admitted (remaining $0.095 down to $0.005, each once) and reach the provider, 40 are
/// refused with $0.005 left against $0.01 (no `Retry-After`: a total budget never resets) and leave usage
/// rows of status 429 that cost nothing; once settled the budget has spent exactly $0.10, what the usage
/// summary says.
async fn fifty_parallel_requests_fit_a_budget_with_room_for_ten(ctx: &Ctx) -> Result<(), String> {
    const N: usize = 50;
    const ROOM: usize = 10;
    let t = priced_tenant(ctx, "budget-fifty").await?;
    let ins = t.instance_id.as_str();
    let limit = ROOM as i64 * COST + COST / 2;
    put_budget(
        ctx,
        ins,
        "instance",
        ins,
        "total",
        json!({"usd": dollars(limit)}),
    )
    .await?;
    let fkey = fault_key("budget-fifty");
    let body = long_chat(&format!("fifty at once [[sim: key={fkey}]]"), MAX_TOKENS);
    let (ok, refused) = split(fire(&t.api(ctx), &body, N).await?)?;
    ensure_eq!(
        (ok.len(), refused.len()),
        (ROOM, N - ROOM),
        "(200s, 429s) of {N} parallel $0.01 requests under a total budget of $0.105"
    );
    let scope = format!("instance:{ins}");
    for resp in &ok {
        ensure_eq!(
            (
                u64_at(&resp.body, "/usage/completion_tokens")?,
                str_at(&resp.body, "/choices/0/finish_reason")?
            ),
            (MAX_TOKENS, "length"),
            "the simulator fills max_tokens: {}",
            resp.describe()
        );
    }
    expect_remaining_steps(&ok, &scope, (limit, limit), COST, false)?;
    for resp in &refused {
        let message = expect_refused(resp, "total", &scope)?;
        ensure!(
            message
                .contains("($0.105 in USD) has $0.005 left, and this request may cost up to $0.01"),
            "the refusal names the limit, what is left and the worst case: {message}"
        );
    }
    ensure_eq!(
        attempts(ctx, &fkey).await?,
        ROOM as u64,
        "requests that reached the provider"
    );
    let rows = await_usage(&t.api(ctx), ins, "status", |rows| {
        count(group(rows, "200"), "requests") >= ROOM as u64
            && count(group(rows, "429"), "requests") >= (N - ROOM) as u64
    })
    .await?;
    ensure_eq!(
        count(group(&rows, "429"), "requests"),
        (N - ROOM) as u64,
        "usage rows of the refused requests: {rows:?}"
    );
    ensure_eq!(
        cost_of(group(&rows, "429")),
        0,
        "µ$ of the refused requests' rows: {rows:?}"
    );
    let budget = settled(ctx, ins, "instance", ins, "total").await?;
    let spent = usd_of(&budget, "spent_usd")?;
    ensure_eq!(spent, ROOM as i64 * COST, "spent_usd (µ$) of {budget}");
    ensure!(spent <= limit, "spent {spent} µ$ > the budget's {limit}");
    ensure_eq!(
        spent,
        total_cost(&rows),
        "spent_usd (µ$) against the usage summary's cost: {rows:?}"
    );
    let admitted = group(&rows, "200");
    ensure_eq!(
        budget.get("spent_tokens").and_then(Value::as_u64),
        Some(count(admitted, "prompt_tokens") + count(admitted, "completion_tokens")),
        "spent_tokens against the admitted requests' tokens in the usage summary: {budget}"
    );
    ensure_eq!(
        usd_of(&budget, "remaining_usd")?,
        limit - spent,
        "remaining_usd (µ$) of {budget}"
    );
    ensure_eq!(
        budget.get("resets_at"),
        Some(&Value::Null),
        "resets_at of a total budget: {budget}"
    );
    Ok(())
}

/// A project with its key, for `label`.
async fn project_key(
    ctx: &Ctx,
    t: &Tenant,
    label: &str,
) -> Result<(String, e2e::seed::Key), String> {
    let project = field(&create_project(ctx, &t.instance_id, label).await?, "id")?;
    let key = add_key(
        ctx,
        &t.instance_id,
        json!({"name": label, "scopes": ["generate"], "project_id": project}),
    )
    .await?;
    Ok((project, key))
}

/// `n` parallel image requests of `per` images each with `secret`.
async fn fire_images(ctx: &Ctx, secret: &str, per: u64, n: usize) -> Result<Vec<Resp>, String> {
    let body = json!({"model": IMAGE_MODEL, "prompt": "a budget in watercolour", "n": per,
                      "size": "256x256"});
    let api = ctx.with_key(secret);
    join_all((0..n).map(|_| post(&api, IMAGES, &body, &[])))
        .await
        .into_iter()
        .collect()
}

/// Images reserve their price times `n` and cost exactly that. A monthly project budget of $0.42 has room
/// for 10 images at $0.04: of 15 parallel requests of n=1 exactly 10 pass. A monthly key budget of $0.22
/// has room for 5: of 6 parallel requests of n=2 exactly 2 pass ($0.06 left), then one n=1 passes and the
/// next is refused with $0.02 left against $0.04. The budgets spent $0.40 and $0.20, the usage rows' cost.
async fn images_are_reserved_at_their_price_times_n(ctx: &Ctx) -> Result<(), String> {
    let t = priced_tenant(ctx, "budget-images").await?;
    let ins = t.instance_id.as_str();
    add_model(
        ctx,
        ins,
        json!({"id": IMAGE_MODEL, "provider": "openai", "upstream_model": "dall-e-2",
               "capabilities": ["image"], "price_per_image": dollars(IMAGE_PRICE)}),
    )
    .await?;
    let (project, project_key) = project_key(ctx, &t, "images").await?;
    let project_limit = 10 * IMAGE_PRICE + IMAGE_PRICE / 2;
    put_budget(
        ctx,
        ins,
        "project",
        &project,
        "monthly",
        json!({"usd": dollars(project_limit)}),
    )
    .await?;
    let (ok, refused) = split(fire_images(ctx, &project_key.secret, 1, 15).await?)?;
    ensure_eq!(
        (ok.len(), refused.len()),
        (10, 5),
        "(200s, 429s) of 15 parallel requests of one $0.04 image under $0.42"
    );
    let project_scope = format!("project:{project}");
    expect_remaining_steps(
        &ok,
        &project_scope,
        (project_limit, project_limit),
        IMAGE_PRICE,
        true,
    )?;
    for resp in &refused {
        expect_refused(resp, "monthly", &project_scope)?;
    }

    let pair_key = add_key(ctx, ins, json!({"name": "pairs", "scopes": ["generate"]})).await?;
    let key_limit = 5 * IMAGE_PRICE + IMAGE_PRICE / 2;
    put_budget(
        ctx,
        ins,
        "key",
        &pair_key.id,
        "monthly",
        json!({"usd": dollars(key_limit)}),
    )
    .await?;
    let (ok, refused) = split(fire_images(ctx, &pair_key.secret, 2, 6).await?)?;
    ensure_eq!(
        (ok.len(), refused.len()),
        (2, 4),
        "(200s, 429s) of 6 parallel requests of two $0.04 images under $0.22"
    );
    let key_scope = format!("key:{}", pair_key.id);
    expect_remaining_steps(
        &ok,
        &key_scope,
        (key_limit, key_limit),
        2 * IMAGE_PRICE,
        true,
    )?;
    for resp in &refused {
        expect_refused(resp, "monthly", &key_scope)?;
    }
    let one = fire_images(ctx, &pair_key.secret, 1, 1).await?;
    let single = one.first().ok_or("no answer")?;
    ensure_eq!(
        usd_headers(single, &key_scope, key_limit, true)?,
        key_limit - 5 * IMAGE_PRICE,
        "remaining (µ$) after a fifth image fits in $0.06"
    );
    let over = fire_images(ctx, &pair_key.secret, 1, 1).await?;
    let message = expect_refused(over.first().ok_or("no answer")?, "monthly", &key_scope)?;
    ensure!(
        message.contains("has $0.02 left, and this request may cost up to $0.04"),
        "the refusal names what is left and one image's price: {message}"
    );

    let rows = await_usage(&t.api(ctx), ins, "key", |rows| {
        count(group(rows, &project_key.id), "images") >= 10
            && count(group(rows, &pair_key.id), "images") >= 5
    })
    .await?;
    for (scope, target, key, images) in [
        ("project", project.as_str(), &project_key, 10),
        ("key", pair_key.id.as_str(), &pair_key, 5),
    ] {
        let row = group(&rows, &key.id);
        ensure_eq!(
            count(row, "images"),
            images,
            "images of {scope} {target}: {rows:?}"
        );
        let budget = settled(ctx, ins, scope, target, "monthly").await?;
        let spent = usd_of(&budget, "spent_usd")?;
        ensure_eq!(
            spent,
            images as i64 * IMAGE_PRICE,
            "spent_usd (µ$) of {images} images by {scope} {target}: {budget}"
        );
        ensure_eq!(
            spent,
            cost_of(row),
            "spent_usd (µ$) of {scope} {target} against its usage rows' cost: {rows:?}"
        );
    }
    Ok(())
}

/// An instance budget of $0.105 (room for ten $0.01 requests) holds a project budget of $0.035 (room for
/// three). Of 5 parallel requests by the project's key 3 pass and 2 are refused naming `project prj_…`
/// (the tightest); the instance then has room for 7, which two sibling projects without budgets race for
/// with 10 requests each: exactly 7 pass between them, every refusal names `instance ins_…`, and the
/// instance spent $0.10 (≤ $0.105) — the siblings $0.07 of it.
async fn nested_scopes_the_tightest_refuses(ctx: &Ctx) -> Result<(), String> {
    let t = priced_tenant(ctx, "budget-nested").await?;
    let ins = t.instance_id.as_str();
    let instance_limit = 10 * COST + COST / 2;
    let project_limit = 3 * COST + COST / 2;
    put_budget(
        ctx,
        ins,
        "instance",
        ins,
        "monthly",
        json!({"usd": dollars(instance_limit)}),
    )
    .await?;
    let (tight, tight_key) = project_key(ctx, &t, "tight").await?;
    put_budget(
        ctx,
        ins,
        "project",
        &tight,
        "monthly",
        json!({"usd": dollars(project_limit)}),
    )
    .await?;
    let body = long_chat("nested scopes", MAX_TOKENS);
    let (ok, refused) = split(fire(&ctx.with_key(&tight_key.secret), &body, 5).await?)?;
    ensure_eq!(
        (ok.len(), refused.len()),
        (3, 2),
        "(200s, 429s) of 5 parallel $0.01 requests of a project with $0.035 in an instance with $0.105"
    );
    let tight_scope = format!("project:{tight}");
    expect_remaining_steps(
        &ok,
        &tight_scope,
        (project_limit, project_limit),
        COST,
        true,
    )?;
    for resp in &refused {
        expect_refused(resp, "monthly", &tight_scope)?;
    }

    let (left, left_key) = project_key(ctx, &t, "left").await?;
    let (right, right_key) = project_key(ctx, &t, "right").await?;
    let (api_l, api_r) = (
        ctx.with_key(&left_key.secret),
        ctx.with_key(&right_key.secret),
    );
    let (rl, rr) = tokio::join!(fire(&api_l, &body, 10), fire(&api_r, &body, 10));
    let (mut ok, mut refused) = split(rl?)?;
    let (ok_r, refused_r) = split(rr?)?;
    ok.extend(ok_r);
    refused.extend(refused_r);
    ensure_eq!(
        (ok.len(), refused.len()),
        (7, 13),
        "(200s, 429s) of two sibling projects' 10 + 10 parallel requests for the instance's last $0.075"
    );
    let instance_scope = format!("instance:{ins}");
    // The instance had $0.075 left before the race: its admitted requests count down from there.
    let before = instance_limit - 3 * COST;
    expect_remaining_steps(&ok, &instance_scope, (instance_limit, before), COST, true)?;
    for resp in &refused {
        expect_refused(resp, "monthly", &instance_scope)?;
    }

    let rows = await_usage(&t.api(ctx), ins, "project", |rows| {
        count(group(rows, &tight), "requests") >= 5
            && count(group(rows, &left), "requests") + count(group(rows, &right), "requests") >= 20
    })
    .await?;
    let instance = settled(ctx, ins, "instance", ins, "monthly").await?;
    let spent = usd_of(&instance, "spent_usd")?;
    ensure_eq!(
        spent,
        10 * COST,
        "spent_usd (µ$) of the instance: {instance}"
    );
    ensure!(
        spent <= instance_limit,
        "the instance spent {spent} µ$ > its budget's {instance_limit}"
    );
    ensure_eq!(
        spent,
        total_cost(&rows),
        "spent_usd (µ$) against the usage summary: {rows:?}"
    );
    let project = settled(ctx, ins, "project", &tight, "monthly").await?;
    ensure_eq!(
        usd_of(&project, "spent_usd")?,
        3 * COST,
        "spent_usd (µ$) of the tight project: {project}"
    );
    let siblings = cost_of(group(&rows, &left)) + cost_of(group(&rows, &right));
    ensure_eq!(siblings, 7 * COST, "µ$ the siblings spent: {rows:?}");
    ensure!(
        siblings <= instance_limit - 3 * COST,
        "the siblings spent {siblings} µ$, more than the instance had left"
    );
    Ok(())
}
