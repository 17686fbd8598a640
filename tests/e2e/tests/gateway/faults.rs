//! Upstream faults through the gateway (injected with `[[sim: …]]` directives): retried 5xx and 429
//! (honouring Retry-After), the per-attempt deadline (`x-de-timeout-ms`) → 504, a malformed body → 502,
//! and failed requests recorded in usage with their error status. Every request has a client timeout.

use std::time::{Duration, Instant};

use e2e::check::expect_error_in;
use e2e::{case, ensure, ensure_eq, expect_error, Case, Ctx};
use serde_json::Value;

use crate::tenant::{attempts, await_usage, count, group, tenant, CLAUDE, GPT};
use crate::wire::{
    chat_body, expect_completion, expect_header, expect_message, fault_key, messages_body, post,
    prompt_tokens, reply_text, Tokens, CHAT, DEFAULT_REPLY, MESSAGES,
};

pub fn cases() -> Vec<Case> {
    vec![
        case!(server_error_once_is_retried),
        case!(persistent_server_error_is_502),
        case!(upstream_429_honours_retry_after),
        case!(persistent_upstream_429_is_429_with_retry_after),
        case!(slow_upstream_is_504_within_the_deadline),
        case!(malformed_body_is_502),
    ]
}

async fn server_error_once_is_retried(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "fault-500").await?;
    let key = fault_key("f500");
    let prompt = format!("retry me [[sim: status=500, times=1, key={key}]]");
    let resp = post(&t.api(ctx), CHAT, &chat_body(GPT, &prompt), &[]).await?;
    let want = Tokens {
        prompt: prompt_tokens(&[&prompt]),
        completion: DEFAULT_REPLY,
    };
    expect_completion(&resp, GPT, &reply_text(DEFAULT_REPLY), "stop", want)?;
    expect_header(&resp, "x-de-attempts", "2")?;
    ensure_eq!(attempts(ctx, &key).await?, 2, "attempts the simulator saw");

    // Anthropic's 529 overloaded, through /v1/messages.
    let key = fault_key("f529");
    let prompt = format!("overloaded once [[sim: status=529, times=1, key={key}]]");
    let resp = post(
        &t.x_api(ctx),
        MESSAGES,
        &messages_body(CLAUDE, &prompt, 3),
        &[],
    )
    .await?;
    let want = Tokens {
        prompt: prompt_tokens(&[&prompt]),
        completion: 3,
    };
    expect_message(&resp, CLAUDE, &reply_text(3), "max_tokens", want)?;
    expect_header(&resp, "x-de-attempts", "2")?;
    ensure_eq!(
        attempts(ctx, &key).await?,
        2,
        "attempts the simulator saw (529)"
    );
    Ok(())
}

async fn persistent_server_error_is_502(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "fault-500s").await?;
    let key = fault_key("f500s");
    let prompt = format!("always failing [[sim: status=503, key={key}]]");
    let resp = post(&t.api(ctx), CHAT, &chat_body(GPT, &prompt), &[]).await?;
    expect_error(&resp, 502, "upstream_error")?;
    let seen = attempts(ctx, &key).await?;
    ensure!(
        seen >= 2,
        "a 503 was not retried (the simulator saw {seen} attempts)"
    );
    expect_header(&resp, "x-de-attempts", &seen.to_string())?;
    await_status_row(ctx, &t, "502").await
}

async fn upstream_429_honours_retry_after(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "fault-429").await?;
    let key = fault_key("f429");
    let prompt = format!("slow down [[sim: status=429, retry_after=1, times=1, key={key}]]");
    let started = Instant::now();
    let resp = post(&t.api(ctx), CHAT, &chat_body(GPT, &prompt), &[]).await?;
    let took = started.elapsed();
    let want = Tokens {
        prompt: prompt_tokens(&[&prompt]),
        completion: DEFAULT_REPLY,
    };
    expect_completion(&resp, GPT, &reply_text(DEFAULT_REPLY), "stop", want)?;
    ensure!(
        took >= Duration::from_secs(1),
        "answered after {took:?}: the provider's Retry-After: 1 was not honoured"
    );
    expect_header(&resp, "x-de-attempts", "2")?;
    ensure_eq!(attempts(ctx, &key).await?, 2, "attempts the simulator saw");
    Ok(())
}

async fn persistent_upstream_429_is_429_with_retry_after(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "fault-429s").await?;
    let key = fault_key("f429s");
    let prompt = format!("always limited [[sim: status=429, retry_after=1, key={key}]]");
    let resp = post(&t.api(ctx), CHAT, &chat_body(GPT, &prompt), &[]).await?;
    expect_error(&resp, 429, "rate_limited")?;
    let retry = resp
        .header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| format!("no integer Retry-After: {:?}", resp.headers))?;
    ensure!(
        retry >= 1,
        "Retry-After {retry}: the provider asked for 1 s"
    );
    let seen = attempts(ctx, &key).await?;
    ensure!(
        seen >= 2,
        "a 429 was not retried (the simulator saw {seen} attempts)"
    );
    expect_header(&resp, "x-de-attempts", &seen.to_string())?;
    Ok(())
}

async fn slow_upstream_is_504_within_the_deadline(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "fault-slow").await?;
    let key = fault_key("fslow");
    let prompt = format!("too slow [[sim: delay_ms=3000, key={key}]]");
    let started = Instant::now();
    let resp = post(
        &t.api(ctx),
        CHAT,
        &chat_body(GPT, &prompt),
        &[("x-de-timeout-ms", "300")],
    )
    .await?;
    let took = started.elapsed();
    expect_error(&resp, 504, "upstream_timeout")?;
    // Each attempt is cut at 300 ms, well before the 3 s the upstream would take.
    ensure!(
        took < Duration::from_millis(2900),
        "the 504 took {took:?}: the 300 ms per-attempt deadline was not applied"
    );
    let seen = attempts(ctx, &key).await?;
    ensure!(seen >= 1, "the simulator saw no attempt");
    await_status_row(ctx, &t, "504").await
}

async fn malformed_body_is_502(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "fault-malformed").await?;
    let prompt = "half a body [[sim: malformed=1]]";
    let resp = post(&t.api(ctx), CHAT, &chat_body(GPT, prompt), &[]).await?;
    let err = expect_error_in(&resp, &[502])?;
    ensure_eq!(
        err.code.as_str(),
        "upstream_error",
        "code of {}",
        resp.describe()
    );
    // The message is the platform's, never the upstream body.
    ensure!(
        !resp.text.contains("alpha"),
        "the upstream body leaks into the error: {}",
        resp.describe()
    );
    let resp = post(
        &t.x_api(ctx),
        MESSAGES,
        &messages_body(CLAUDE, prompt, 10),
        &[],
    )
    .await?;
    expect_error(&resp, 502, "upstream_error")?;
    await_status_row(ctx, &t, "502").await
}

/// The failed request's usage row appears with its error status (counted as an error, no tokens).
pub async fn await_status_row(
    ctx: &Ctx,
    t: &crate::tenant::Tenant,
    status: &str,
) -> Result<(), String> {
    let rows = await_usage(&t.api(ctx), &t.instance_id, "status", |rows| {
        count(group(rows, status), "requests") >= 1
    })
    .await?;
    let row = group(&rows, status);
    ensure!(
        count(row, "errors") == count(row, "requests"),
        "status {status} rows are not all counted as errors: {rows:?}"
    );
    ensure_eq!(
        (count(row, "prompt_tokens"), count(row, "completion_tokens")),
        (0, 0),
        "tokens billed for failed requests: {:?}",
        row.map(Value::to_string)
    );
    Ok(())
}
