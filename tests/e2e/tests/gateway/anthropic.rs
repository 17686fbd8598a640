//! `POST /v1/messages` against an Anthropic-provider model, as the Anthropic SDK sees it (`x-api-key`).

use e2e::{case, ensure, Case, Ctx};
use serde_json::json;

use crate::streams::{expect_anthropic_complete, read_anthropic};
use crate::tenant::{tenant, CLAUDE};
use crate::wire::{
    expect_anthropic_identity, expect_header, expect_message, messages_body, post, prompt_tokens,
    reply_text, streamed, user, Tokens, DEFAULT_REPLY, MESSAGES,
};

pub fn cases() -> Vec<Case> {
    vec![
        case!(non_stream_message),
        case!(max_tokens_stops_the_message),
        case!(stream_event_sequence),
    ]
}

async fn non_stream_message(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "ant").await?;
    let (system, prompt) = ("Answer in Greek letters.", "Name some letters");
    let body = json!({"model": CLAUDE, "max_tokens": 100, "system": system,
        "messages": [user(prompt)]});
    let resp = post(&t.x_api(ctx), MESSAGES, &body, &[]).await?;
    let want = Tokens {
        prompt: prompt_tokens(&[system, prompt]),
        completion: DEFAULT_REPLY,
    };
    expect_message(&resp, CLAUDE, &reply_text(DEFAULT_REPLY), "end_turn", want)?;
    expect_anthropic_identity(&resp)?;
    ensure!(
        resp.request_id().is_some_and(|id| !id.is_empty()),
        "no x-request-id"
    );
    expect_header(&resp, "x-de-attempts", "1")?;
    Ok(())
}

async fn max_tokens_stops_the_message(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "ant-max").await?;
    let prompt = "Keep going as long as you can";
    let resp = post(
        &t.x_api(ctx),
        MESSAGES,
        &messages_body(CLAUDE, prompt, 4),
        &[],
    )
    .await?;
    let want = Tokens {
        prompt: prompt_tokens(&[prompt]),
        completion: 4,
    };
    expect_message(&resp, CLAUDE, &reply_text(4), "max_tokens", want)?;
    Ok(())
}

async fn stream_event_sequence(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "ant-stream").await?;
    let (system, prompt) = ("Be quick.", "Stream six words [[sim: tokens=6]]");
    let body = json!({"model": CLAUDE, "max_tokens": 50, "system": system,
        "messages": [user(prompt)]});
    let resp = post(&t.x_api(ctx), MESSAGES, &streamed(body, false), &[]).await?;
    ensure!(
        resp.request_id().is_some_and(|id| !id.is_empty()),
        "no x-request-id on the stream"
    );
    let stream = read_anthropic(&resp)?;
    let want = Tokens {
        prompt: prompt_tokens(&[system, prompt]),
        completion: 6,
    };
    expect_anthropic_complete(&stream, CLAUDE, &reply_text(6), "end_turn", want)?;
    let deltas = stream
        .events
        .iter()
        .filter(|e| *e == "content_block_delta")
        .count();
    ensure!(
        deltas == 6,
        "{deltas} content_block_delta events for 6 words"
    );
    Ok(())
}
