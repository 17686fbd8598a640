//! Usage and body-size hardening (issue 9): a caller's `x-request-id` never keys a usage row (two tenants
//! sending the same one both keep their rows), a failed usage batch is retried, a chunked request body
//! over the limit is refused as soon as it passes it, and an oversize upstream body is a 502.

use std::time::{Duration, Instant};

use e2e::seed::unique;
use e2e::{case, ensure, ensure_eq, expect_error, Case, Ctx};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::tenant::{await_usage, count, group, tenant, Tenant, GPT};
use crate::wire::{chat_body, post, CHAT};

pub fn cases() -> Vec<Case> {
    vec![
        case!(same_client_request_id_from_two_tenants_keeps_every_row),
        case!(failed_usage_batch_is_retried),
        case!(chunked_body_over_the_limit_is_413_before_it_ends),
        case!(oversize_upstream_body_is_502),
    ]
}

/// Sends one chat request with `x-request-id: client_id`; checks that the answer carries OUR id and
/// echoes the caller's apart.
async fn chat_with_id(
    ctx: &Ctx,
    t: &Tenant,
    client_id: &str,
    text: &str,
) -> Result<String, String> {
    let resp = post(
        &t.api(ctx),
        CHAT,
        &chat_body(GPT, text),
        &[("x-request-id", client_id)],
    )
    .await?;
    ensure_eq!(resp.status, 200, "chat: {}", resp.describe());
    let ours = resp.request_id().unwrap_or_default().to_string();
    ensure!(
        ours.starts_with("req_") && ours != client_id,
        "x-request-id must be ours, not the caller's {client_id:?}: {ours:?}"
    );
    ensure_eq!(
        resp.header("x-client-request-id"),
        Some(client_id),
        "x-client-request-id echo"
    );
    Ok(ours)
}

async fn requests_of_key(ctx: &Ctx, t: &Tenant, want: u64) -> Result<u64, String> {
    let rows = await_usage(&t.api(ctx), &t.instance_id, "key", |rows| {
        count(group(rows, &t.key.id), "requests") >= want
    })
    .await?;
    Ok(count(group(&rows, &t.key.id), "requests"))
}

async fn same_client_request_id_from_two_tenants_keeps_every_row(ctx: &Ctx) -> Result<(), String> {
    let (a, b) = (
        tenant(ctx, "dup-id-a").await?,
        tenant(ctx, "dup-id-b").await?,
    );
    let shared = unique("dup-id");
    let mut ours = Vec::new();
    for (t, text) in [(&a, "a one"), (&b, "b one"), (&a, "a two"), (&b, "b two")] {
        ours.push(chat_with_id(ctx, t, &shared, text).await?);
    }
    ours.sort();
    ours.dedup();
    ensure_eq!(ours.len(), 4, "our request ids are unique: {ours:?}");
    // Each tenant's summary keeps both of its requests (the old primary key kept one row of four).
    ensure_eq!(requests_of_key(ctx, &a, 2).await?, 2, "tenant A requests");
    ensure_eq!(requests_of_key(ctx, &b, 2).await?, 2, "tenant B requests");
    let rows = ctx
        .sql(&format!(
            "SELECT id, request_id, client_request_id FROM usage_events WHERE client_request_id = '{shared}'"
        ))
        .await?;
    ensure_eq!(
        rows.len(),
        4,
        "rows recorded with the caller's id: {rows:?}"
    );
    for row in &rows {
        let id = row.get("id").and_then(Value::as_str).unwrap_or_default();
        let rid = row
            .get("request_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        ensure!(
            id.starts_with("use_") && id.len() == 4 + 26,
            "row id {id:?} is server-generated"
        );
        ensure!(
            ours.iter().any(|o| o == rid),
            "row request_id {rid:?} is one of ours {ours:?}"
        );
    }
    Ok(())
}

/// Makes every usage write that carries a `e2e-fail-window-…` client id fail while the row is younger
/// than 250 ms (D1's clock against the row's `created_at`): the first write of a batch (≈ 50 ms after
/// the response) fails, a retry after the backoff succeeds.
const FAILING_TRIGGER: &str = "CREATE TRIGGER IF NOT EXISTS e2e_usage_write_fails_at_first \
    BEFORE INSERT ON usage_events \
    WHEN NEW.client_request_id LIKE 'e2e-fail-window-%' \
     AND (julianday('now') - 2440587.5) * 86400000.0 < NEW.created_at + 250 \
    BEGIN SELECT RAISE(ABORT, 'e2e: injected usage write failure'); END";

async fn failed_usage_batch_is_retried(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "usage-retry").await?;
    ctx.sql(FAILING_TRIGGER).await?;
    let client_id = unique("e2e-fail-window");
    chat_with_id(ctx, &t, &client_id, "written on the second try").await?;
    ensure_eq!(
        requests_of_key(ctx, &t, 1).await?,
        1,
        "the row of a batch whose first write failed"
    );
    Ok(())
}

/// The stack's `host:port`.
fn authority(ctx: &Ctx) -> Result<String, String> {
    ctx.base
        .strip_prefix("http://")
        .map(|a| a.trim_end_matches('/').to_string())
        .ok_or_else(|| format!("base {:?} is not http://", ctx.base))
}

/// What the raw client read: the status and the body after the headers.
struct RawAnswer {
    status: u16,
    head: String,
    body: String,
}

/// POSTs a chunked body (no content-length) of `send` bytes that never ends (no terminating chunk),
/// and returns the answer as soon as it arrives: the only way to get one is for the server to stop
/// reading before the end.
async fn post_unending_chunked(ctx: &Ctx, secret: &str, send: usize) -> Result<RawAnswer, String> {
    let addr = authority(ctx)?;
    let stream = tokio::net::TcpStream::connect(&addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST {CHAT} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {secret}\r\n\
         content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    let writing = tokio::spawn(async move {
        let chunk = vec![b' '; 64 * 1024];
        let framed = [
            format!("{:x}\r\n", chunk.len()).into_bytes(),
            chunk,
            b"\r\n".to_vec(),
        ]
        .concat();
        writer.write_all(head.as_bytes()).await?;
        for _ in 0..send.div_ceil(64 * 1024) {
            writer.write_all(&framed).await?;
        }
        // Never the terminating chunk: hold the request open.
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok::<_, std::io::Error>(writer)
    });
    let mut got = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let answer = loop {
        let n = reader
            .read(&mut buf)
            .await
            .map_err(|e| format!("reading the answer: {e}"))?;
        got.extend_from_slice(buf.get(..n).unwrap_or_default());
        if let Some(answer) = parse_answer(&got) {
            break answer;
        }
        if n == 0 {
            return Err(format!(
                "connection closed without a whole answer: {:?}",
                String::from_utf8_lossy(&got)
            ));
        }
    };
    writing.abort();
    Ok(answer)
}

/// A whole HTTP/1.1 answer with a content-length, once it is all there.
fn parse_answer(got: &[u8]) -> Option<RawAnswer> {
    let text = String::from_utf8_lossy(got);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let length: usize = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())?
    })?;
    (body.len() >= length).then(|| RawAnswer {
        status,
        head: head.to_string(),
        body: body.get(..length).unwrap_or(body).to_string(),
    })
}

async fn chunked_body_over_the_limit_is_413_before_it_ends(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "chunked-413").await?;
    let started = Instant::now();
    // 5 MiB against the 4 MiB limit, and the body never ends: the old code waited for its end.
    let answer = tokio::time::timeout(
        Duration::from_secs(20),
        post_unending_chunked(ctx, &t.key.secret, 5 * 1024 * 1024),
    )
    .await
    .map_err(|_| "no answer within 20 s: the body is being buffered to its end".to_string())??;
    ensure_eq!(answer.status, 413, "status; head: {}", answer.head);
    let body: Value = serde_json::from_str(&answer.body)
        .map_err(|e| format!("413 body is not JSON ({e}): {}", answer.body))?;
    ensure_eq!(
        body.pointer("/error/code").and_then(Value::as_str),
        Some("body_too_large"),
        "error code in {body}"
    );
    ensure!(
        body.pointer("/error/message")
            .and_then(Value::as_str)
            .is_some_and(|m| m.contains("4194304")),
        "the message names the limit: {body}"
    );
    ensure!(
        answer
            .head
            .to_ascii_lowercase()
            .contains("x-request-id: req_"),
        "x-request-id on the 413: {}",
        answer.head
    );
    ensure!(
        started.elapsed() < Duration::from_secs(15),
        "the 413 took {:?}",
        started.elapsed()
    );
    Ok(())
}

async fn oversize_upstream_body_is_502(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "oversize-upstream").await?;
    let resp = post(
        &t.api(ctx),
        CHAT,
        &chat_body(GPT, "too big to read [[sim: oversize=1]]"),
        &[],
    )
    .await?;
    expect_error(&resp, 502, "upstream_error")?.message_contains("malformed")?;
    Ok(())
}
