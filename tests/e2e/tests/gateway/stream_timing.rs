//! Streams as they flow: the caller gets the first events while the upstream is still producing, a
//! slow first byte is bounded by `x-de-timeout-ms` (504 before any event), and a stream that keeps
//! flowing is not cut by that per-attempt deadline.

use std::time::{Duration, Instant};

use e2e::{case, ensure, ensure_eq, expect_error, Case, Ctx};

use crate::streams::{expect_openai_complete, read_openai};
use crate::tenant::{tenant, GPT};
use crate::wire::{
    chat_body, post, prompt_tokens, reply_text, streamed, Tokens, CHAT, CLIENT_TIMEOUT,
};

pub fn cases() -> Vec<Case> {
    vec![
        case!(events_arrive_while_the_upstream_streams),
        case!(slow_first_byte_is_504),
        case!(a_flowing_stream_outlives_the_attempt_deadline),
    ]
}

async fn events_arrive_while_the_upstream_streams(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "flow").await?;
    // 8 words, 250 ms between upstream events: about 2.5 s from first to last.
    let body = streamed(
        chat_body(GPT, "trickle [[sim: tokens=8, chunk_delay_ms=250]]"),
        false,
    );
    let started = Instant::now();
    let mut resp = ctx
        .http
        .post(format!("{}{CHAT}", ctx.base))
        .bearer_auth(&t.key.secret)
        .json(&body)
        .timeout(CLIENT_TIMEOUT)
        .send()
        .await
        .map_err(|e| format!("POST {CHAT}: {e}"))?;
    ensure_eq!(resp.status().as_u16(), 200, "status of the stream");
    ensure!(
        resp.headers().contains_key("x-request-id"),
        "no x-request-id on the stream"
    );
    let mut first: Option<Duration> = None;
    let mut text = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("reading the stream: {e}"))?
    {
        first.get_or_insert_with(|| started.elapsed());
        text.extend_from_slice(&chunk);
    }
    let total = started.elapsed();
    let first = first.ok_or("an empty stream")?;
    ensure!(
        total >= Duration::from_millis(1500),
        "the stream took only {total:?}: chunk_delay_ms was not applied"
    );
    ensure!(
        first + Duration::from_millis(1000) < total,
        "the first bytes came after {first:?} of {total:?}: the stream was buffered"
    );
    let body = String::from_utf8_lossy(&text);
    ensure!(
        body.ends_with("data: [DONE]\n\n"),
        "the stream did not end with [DONE]: {body}"
    );
    Ok(())
}

async fn slow_first_byte_is_504(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "flow-slow").await?;
    let body = streamed(chat_body(GPT, "never starts [[sim: delay_ms=3000]]"), true);
    let started = Instant::now();
    let resp = post(&t.api(ctx), CHAT, &body, &[("x-de-timeout-ms", "300")]).await?;
    let took = started.elapsed();
    expect_error(&resp, 504, "upstream_timeout")?;
    ensure!(
        took < Duration::from_millis(2900),
        "the 504 took {took:?}: the 300 ms deadline was not applied"
    );
    Ok(())
}

/// The deadline bounds how long an attempt waits for the upstream to answer; a stream that has started
/// and keeps delivering is complete however long it runs (else every stream longer than the
/// deployment's UPSTREAM_TIMEOUT_MS would be cut).
async fn a_flowing_stream_outlives_the_attempt_deadline(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "flow-long").await?;
    let prompt = "long but flowing [[sim: tokens=8, chunk_delay_ms=200]]";
    let body = streamed(chat_body(GPT, prompt), true);
    let started = Instant::now();
    let resp = post(&t.api(ctx), CHAT, &body, &[("x-de-timeout-ms", "700")]).await?;
    let took = started.elapsed();
    let stream = read_openai(&resp)?;
    let want = Tokens {
        prompt: prompt_tokens(&[prompt]),
        completion: 8,
    };
    expect_openai_complete(&stream, GPT, &reply_text(8), "stop", Some(want)).map_err(|e| {
        format!(
            "a stream still flowing was cut after {took:?} by the 700 ms per-attempt deadline, \
             with {:?} received: {e}",
            stream.text
        )
    })
}
