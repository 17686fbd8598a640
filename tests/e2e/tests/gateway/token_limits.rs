//! Tokens-per-minute policies: a request reserves its prompt plus `max_tokens`; exactly as many
//! requests pass as fit, and one whose `max_tokens` alone exceeds the limit is a 400 naming it.

use e2e::{case, ensure_eq, expect_error, expect_status, Case, Ctx};
use serde_json::json;

use crate::rate_limits::{fire, split};
use crate::tenant::{attempts, put_policy, tenant, CLAUDE, GPT};
use crate::wire::{expect_header, fault_key, messages_body, post, user, CHAT, MESSAGES};

pub fn cases() -> Vec<Case> {
    vec![
        case!(tokens_per_minute_admits_exactly_what_fits),
        case!(max_tokens_over_the_limit_is_400),
    ]
}

/// Each request reserves its prompt (a few tokens here) plus max_tokens = 1000 and really uses
/// 1000 completion tokens. With 3500 tokens/min, 3 fit and a 4th never does, whatever the prompt
/// estimate (anything up to ~160 tokens) and however reservations and settlements interleave.
async fn tokens_per_minute_admits_exactly_what_fits(ctx: &Ctx) -> Result<(), String> {
    const LIMIT: u64 = 3500;
    let t = tenant(ctx, "tpm").await?;
    put_policy(
        ctx,
        &t.instance_id,
        "key",
        &t.key.id,
        json!({"tokens_per_minute": LIMIT}),
    )
    .await?;
    let fkey = fault_key("tpm");
    let body = json!({"model": GPT, "max_tokens": 1000,
        "messages": [user(&format!("fill the window [[sim: tokens=1000, key={fkey}]]"))]});
    let (ok, limited) = split(fire(&t.api(ctx), &body, 8).await?)?;
    ensure_eq!(
        (ok.len(), limited.len()),
        (3, 5),
        "(200s, 429s) of 8 parallel requests of max_tokens 1000 under tokens_per_minute {LIMIT}"
    );
    for resp in &ok {
        expect_header(resp, "x-ratelimit-limit-tokens", &LIMIT.to_string())?;
    }
    for resp in &limited {
        e2e::ensure!(
            resp.header("x-ratelimit-remaining-tokens")
                .and_then(|v| v.parse::<u64>().ok())
                .is_some_and(|left| left < 1000),
            "a refused request reports enough remaining tokens: {:?}",
            resp.headers
        );
        expect_error(resp, 429, "rate_limited")?;
        expect_header(resp, "x-ratelimit-limit-tokens", &LIMIT.to_string())?;
        e2e::ensure!(
            resp.header("retry-after").is_some(),
            "no Retry-After: {:?}",
            resp.headers
        );
    }
    ensure_eq!(
        attempts(ctx, &fkey).await?,
        3,
        "requests that reached the provider"
    );
    Ok(())
}

async fn max_tokens_over_the_limit_is_400(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "tpm-never").await?;
    put_policy(
        ctx,
        &t.instance_id,
        "key",
        &t.key.id,
        json!({"tokens_per_minute": 500}),
    )
    .await?;
    let body = json!({"model": GPT, "max_tokens": 600, "messages": [user("too big to ever fit")]});
    let resp = post(&t.api(ctx), CHAT, &body, &[]).await?;
    expect_error(&resp, 400, "invalid_field")?.message_contains("max_tokens")?;
    let resp = post(
        &t.x_api(ctx),
        MESSAGES,
        &messages_body(CLAUDE, "too big", 501),
        &[],
    )
    .await?;
    expect_error(&resp, 400, "invalid_field")?.message_contains("max_tokens")?;
    // The refusals took nothing from the window: a request that fits still passes.
    let body = json!({"model": GPT, "max_tokens": 100, "messages": [user("this one fits")]});
    let resp = post(&t.api(ctx), CHAT, &body, &[]).await?;
    expect_status(&resp, 200)?;
    expect_header(&resp, "x-ratelimit-limit-tokens", "500")?;
    Ok(())
}
