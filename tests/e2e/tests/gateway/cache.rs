//! The opt-in exact response cache (`x-de-cache: true`): a deterministic (`temperature: 0`), non-streamed
//! request is answered from the cache the second time (`x-de-cache: hit`, no upstream call), never across
//! instances, and never for sampled requests.

use e2e::{case, ensure, ensure_eq, expect_status, Case, Ctx, Resp};
use serde_json::{json, Value};

use crate::streams::read_openai;
use crate::tenant::{attempts, tenant, GPT};
use crate::wire::{fault_key, post, streamed, user, CHAT};

const CACHE_ON: [(&str, &str); 1] = [("x-de-cache", "true")];

pub fn cases() -> Vec<Case> {
    vec![
        case!(deterministic_request_is_a_hit_once_per_instance),
        case!(sampled_or_streamed_requests_are_never_hits),
    ]
}

fn hit(resp: &Resp) -> bool {
    resp.header("x-de-cache") == Some("hit")
}

async fn deterministic_request_is_a_hit_once_per_instance(ctx: &Ctx) -> Result<(), String> {
    let (a, b) = (tenant(ctx, "cache-a").await?, tenant(ctx, "cache-b").await?);
    let key = fault_key("cache");
    let body = json!({"model": GPT, "temperature": 0, "max_tokens": 12,
        "messages": [user(&format!("cache this answer [[sim: key={key}]]"))]});
    let first = post(&a.api(ctx), CHAT, &body, &CACHE_ON).await?;
    let first_body = expect_status(&first, 200)?.clone();
    ensure!(
        !hit(&first),
        "the first request is a hit: {:?}",
        first.headers
    );
    let second = post(&a.api(ctx), CHAT, &body, &CACHE_ON).await?;
    let second_body = expect_status(&second, 200)?;
    ensure!(
        hit(&second),
        "the repeat is not a hit: {:?}",
        second.headers
    );
    for field in ["id", "object", "model", "choices", "usage"] {
        ensure_eq!(
            second_body.get(field),
            first_body.get(field),
            "`{field}` of the cached answer"
        );
    }
    ensure_eq!(
        attempts(ctx, &key).await?,
        1,
        "upstream calls for two identical requests"
    );

    // The same request in another instance is that instance's own first request.
    let other = post(&b.api(ctx), CHAT, &body, &CACHE_ON).await?;
    expect_status(&other, 200)?;
    ensure!(
        !hit(&other),
        "another instance got a hit: {:?}",
        other.headers
    );
    ensure_eq!(
        attempts(ctx, &key).await?,
        2,
        "upstream calls after the other instance asked"
    );
    Ok(())
}

async fn sampled_or_streamed_requests_are_never_hits(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "cache-miss").await?;
    let api = t.api(ctx);
    let sampled_key = fault_key("cache-hot");
    let sampled = json!({"model": GPT, "temperature": 0.7,
        "messages": [user(&format!("sampled [[sim: key={sampled_key}]]"))]});
    let plain_key = fault_key("cache-off");
    let not_asked = json!({"model": GPT, "temperature": 0,
        "messages": [user(&format!("no header [[sim: key={plain_key}]]"))]});
    let stream_key = fault_key("cache-stream");
    let stream = streamed(
        json!({"model": GPT, "temperature": 0,
            "messages": [user(&format!("streamed [[sim: key={stream_key}]]"))]}),
        false,
    );
    for _ in 0..2 {
        for (body, headers) in [
            (&sampled, &CACHE_ON[..]),
            (&not_asked, &[][..]),
            (&stream, &CACHE_ON[..]),
        ] {
            let resp = post(&api, CHAT, body, headers).await?;
            ensure!(!hit(&resp), "a hit for {body}: {:?}", resp.headers);
            if body.get("stream") == Some(&Value::Bool(true)) {
                ensure!(read_openai(&resp)?.done, "the stream did not finish");
            } else {
                expect_status(&resp, 200)?;
            }
        }
    }
    for (key, what) in [
        (&sampled_key, "temperature 0.7"),
        (&plain_key, "without x-de-cache"),
        (&stream_key, "streamed"),
    ] {
        ensure_eq!(attempts(ctx, key).await?, 2, "upstream calls, {what}");
    }
    Ok(())
}
