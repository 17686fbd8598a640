//! Requests-per-minute policies, exact under concurrency: of N parallel requests exactly k pass, the rest
//! get 429 `rate_limited` with `Retry-After` and the `x-ratelimit-*` headers; other tenants, other keys
//! and other providers keep their own budgets.

use std::collections::BTreeSet;

use e2e::client::{Api, Resp};
use e2e::{case, ensure, ensure_eq, expect_error, Case, Ctx};
use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::tenant::{add_key, attempts, put_policy, tenant, CLAUDE, GPT};
use crate::wire::{chat_body, expect_header, fault_key, post, CHAT};

pub fn cases() -> Vec<Case> {
    vec![
        case!(requests_per_minute_is_exact_under_concurrency),
        case!(provider_policy_limits_every_key_together),
        case!(default_key_policy_and_a_specific_override),
        case!(a_large_limit_is_exact_while_grants_are_held),
    ]
}

/// The answers to `n` copies of `body` sent at once.
pub async fn fire(api: &Api<'_>, body: &Value, n: usize) -> Result<Vec<Resp>, String> {
    join_all((0..n).map(|_| post(api, CHAT, body, &[])))
        .await
        .into_iter()
        .collect()
}

/// Splits answers into 200s and 429s; anything else is an error.
pub fn split(resps: Vec<Resp>) -> Result<(Vec<Resp>, Vec<Resp>), String> {
    let mut ok = Vec::new();
    let mut limited = Vec::new();
    for resp in resps {
        match resp.status {
            200 => ok.push(resp),
            429 => limited.push(resp),
            _ => return Err(format!("neither 200 nor 429: {}", resp.describe())),
        }
    }
    Ok((ok, limited))
}

/// A 429 from the gateway's limiter: the envelope, `Retry-After` in whole seconds (1–60), and the
/// request limit in `x-ratelimit-limit-*` (`limit_header` = `requests` or `tokens`).
pub fn expect_limited(resp: &Resp, limit_header: &str, limit: u64) -> Result<(), String> {
    expect_error(resp, 429, "rate_limited")?;
    let retry = resp
        .header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| format!("no integer Retry-After: {:?}", resp.headers))?;
    ensure!(
        (1..=60).contains(&retry),
        "Retry-After {retry} is not 1..60 s"
    );
    expect_header(
        resp,
        &format!("x-ratelimit-limit-{limit_header}"),
        &limit.to_string(),
    )?;
    expect_header(resp, &format!("x-ratelimit-remaining-{limit_header}"), "0")
}

/// The 200s carry the limit and, between them, every remaining count from k-1 down to 0 once.
fn expect_admitted_headers(ok: &[Resp], k: u64) -> Result<(), String> {
    let mut remaining = BTreeSet::new();
    for resp in ok {
        expect_header(resp, "x-ratelimit-limit-requests", &k.to_string())?;
        let left = resp
            .header("x-ratelimit-remaining-requests")
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| format!("no x-ratelimit-remaining-requests: {:?}", resp.headers))?;
        remaining.insert(left);
        ensure!(
            resp.header("x-ratelimit-reset-requests").is_some(),
            "no x-ratelimit-reset-requests: {:?}",
            resp.headers
        );
    }
    ensure_eq!(
        remaining,
        (0..k).collect::<BTreeSet<u64>>(),
        "x-ratelimit-remaining-requests of the admitted requests"
    );
    Ok(())
}

async fn requests_per_minute_is_exact_under_concurrency(ctx: &Ctx) -> Result<(), String> {
    const K: u64 = 5;
    const N: usize = 20;
    let (a, b) = (tenant(ctx, "rpm-a").await?, tenant(ctx, "rpm-b").await?);
    for t in [&a, &b] {
        put_policy(
            ctx,
            &t.instance_id,
            "key",
            &t.key.id,
            json!({"requests_per_minute": K}),
        )
        .await?;
    }
    let (fa, fb) = (fault_key("rpm-a"), fault_key("rpm-b"));
    let body_a = chat_body(GPT, &format!("tenant a [[sim: key={fa}]]"));
    let body_b = chat_body(GPT, &format!("tenant b [[sim: key={fb}]]"));
    // Both tenants at once: one tenant's traffic must not use the other's budget.
    let (api_a, api_b) = (a.api(ctx), b.api(ctx));
    let (ra, rb) = tokio::join!(fire(&api_a, &body_a, N), fire(&api_b, &body_b, N));
    for (name, resps, fkey) in [("a", ra?, &fa), ("b", rb?, &fb)] {
        let (ok, limited) = split(resps)?;
        ensure_eq!(
            (ok.len(), limited.len()),
            (K as usize, N - K as usize),
            "tenant {name}: (200s, 429s) of {N} parallel requests with requests_per_minute {K}"
        );
        for resp in &limited {
            expect_limited(resp, "requests", K)?;
        }
        expect_admitted_headers(&ok, K)?;
        ensure_eq!(
            attempts(ctx, fkey).await?,
            K,
            "tenant {name}: requests that reached the provider"
        );
    }
    Ok(())
}

/// Far from a limit, text-gen admits from grants of spare capacity held in its isolate (no limiter call per
/// request); the count must still come out exact at the limit, with every admitted request reporting a
/// distinct remaining count, and nothing past the limit reaching the provider.
async fn a_large_limit_is_exact_while_grants_are_held(ctx: &Ctx) -> Result<(), String> {
    const K: u64 = 120;
    const WAVE: usize = 25;
    const WAVES: usize = 6;
    let t = tenant(ctx, "rpm-grants").await?;
    put_policy(
        ctx,
        &t.instance_id,
        "key",
        &t.key.id,
        json!({"requests_per_minute": K}),
    )
    .await?;
    let fkey = fault_key("rpm-grants");
    let body = chat_body(GPT, &format!("waves [[sim: key={fkey}]]"));
    let api = t.api(ctx);
    let (mut ok, mut limited) = (Vec::new(), Vec::new());
    // Waves, so grants land between them and later waves are admitted from them.
    for _ in 0..WAVES {
        let (o, l) = split(fire(&api, &body, WAVE).await?)?;
        ok.extend(o);
        limited.extend(l);
    }
    ensure_eq!(
        (ok.len(), limited.len()),
        (K as usize, WAVES * WAVE - K as usize),
        "(200s, 429s) of {WAVES} waves of {WAVE} with requests_per_minute {K}"
    );
    for resp in &limited {
        expect_limited(resp, "requests", K)?;
    }
    expect_admitted_headers(&ok, K)?;
    ensure_eq!(
        attempts(ctx, &fkey).await?,
        K,
        "requests that reached the provider"
    );
    // Once held grants are given back (their second ended), the window is still full.
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let after = post(&api, CHAT, &body, &[]).await?;
    expect_limited(&after, "requests", K)?;
    Ok(())
}

async fn provider_policy_limits_every_key_together(ctx: &Ctx) -> Result<(), String> {
    const K: usize = 4;
    let t = tenant(ctx, "rpm-provider").await?;
    let other = add_key(
        ctx,
        &t.instance_id,
        json!({"name": "second", "scopes": ["generate"]}),
    )
    .await?;
    put_policy(
        ctx,
        &t.instance_id,
        "provider",
        "openai",
        json!({"requests_per_minute": K}),
    )
    .await?;
    let body = chat_body(GPT, "shared provider budget");
    let (api_1, api_2) = (t.api(ctx), ctx.with_key(&other.secret));
    let (r1, r2) = tokio::join!(fire(&api_1, &body, 8), fire(&api_2, &body, 8));
    let (mut ok, mut limited) = split(r1?)?;
    let (ok_2, limited_2) = split(r2?)?;
    ok.extend(ok_2);
    limited.extend(limited_2);
    ensure_eq!(
        (ok.len(), limited.len()),
        (K, 16 - K),
        "(200s, 429s) of 16 requests from two keys under provider/openai requests_per_minute {K}"
    );
    for resp in &limited {
        expect_limited(resp, "requests", K as u64)?;
    }
    // Another provider of the same instance is not limited by the openai policy.
    let resp = post(&api_2, CHAT, &chat_body(CLAUDE, "other provider"), &[]).await?;
    ensure_eq!(
        resp.status,
        200,
        "anthropic after the openai budget is spent: {}",
        resp.describe()
    );
    Ok(())
}

async fn default_key_policy_and_a_specific_override(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "rpm-default").await?;
    let other = add_key(
        ctx,
        &t.instance_id,
        json!({"name": "second", "scopes": ["generate"]}),
    )
    .await?;
    put_policy(
        ctx,
        &t.instance_id,
        "key",
        "*",
        json!({"requests_per_minute": 2}),
    )
    .await?;
    put_policy(
        ctx,
        &t.instance_id,
        "key",
        &other.id,
        json!({"requests_per_minute": 3}),
    )
    .await?;
    let body = chat_body(GPT, "default and override");
    let (api_1, api_2) = (t.api(ctx), ctx.with_key(&other.secret));
    let (r1, r2) = tokio::join!(fire(&api_1, &body, 6), fire(&api_2, &body, 6));
    let (ok_1, limited_1) = split(r1?)?;
    let (ok_2, _) = split(r2?)?;
    ensure_eq!(
        ok_1.len(),
        2,
        "admitted for the key under the `*` policy of 2/min"
    );
    ensure_eq!(
        ok_2.len(),
        3,
        "admitted for the key with its own policy of 3/min"
    );
    for resp in &limited_1 {
        expect_limited(resp, "requests", 2)?;
    }
    Ok(())
}
