//! `POST /v1/chat/completions` against an OpenAI-provider model, as the OpenAI SDK sees it.

use e2e::{case, ensure, ensure_eq, Case, Ctx};
use serde_json::json;

use crate::streams::{expect_openai_complete, read_openai};
use crate::tenant::{tenant, GPT};
use crate::wire::{
    chat_body, expect_completion, expect_header, expect_openai_identity, header_f64, post,
    prompt_tokens, reply_text, streamed, user, Tokens, CHAT, DEFAULT_REPLY,
};

pub fn cases() -> Vec<Case> {
    vec![
        case!(non_stream_completion),
        case!(max_tokens_cuts_the_reply),
        case!(stream_with_usage_matches_non_stream),
        case!(stream_without_usage_has_no_usage_chunk),
    ]
}

async fn non_stream_completion(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "oai").await?;
    let prompt = "Say hello to the gateway please";
    let resp = post(&t.api(ctx), CHAT, &chat_body(GPT, prompt), &[]).await?;
    let want = Tokens {
        prompt: prompt_tokens(&[prompt]),
        completion: DEFAULT_REPLY,
    };
    expect_completion(&resp, GPT, &reply_text(DEFAULT_REPLY), "stop", want)?;
    expect_openai_identity(&resp)?;
    ensure!(
        resp.request_id().is_some_and(|id| !id.is_empty()),
        "no x-request-id: {:?}",
        resp.headers
    );
    let overhead = header_f64(&resp, "x-de-overhead-ms")?;
    ensure!(
        overhead >= 0.0 && overhead.is_finite(),
        "x-de-overhead-ms = {overhead}"
    );
    expect_header(&resp, "x-de-attempts", "1")?;
    ensure!(
        resp.header("x-de-cache").is_none(),
        "x-de-cache on an uncached request: {:?}",
        resp.header("x-de-cache")
    );
    Ok(())
}

async fn max_tokens_cuts_the_reply(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "oai-max").await?;
    let (system, prompt) = ("You are terse.", "Count for me");
    let body = json!({"model": GPT, "max_tokens": 5, "temperature": 0.2,
        "messages": [{"role": "system", "content": system}, user(prompt)]});
    let resp = post(&t.api(ctx), CHAT, &body, &[]).await?;
    let want = Tokens {
        prompt: prompt_tokens(&[system, prompt]),
        completion: 5,
    };
    expect_completion(&resp, GPT, &reply_text(5), "length", want)?;
    Ok(())
}

async fn stream_with_usage_matches_non_stream(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "oai-stream").await?;
    let prompt = "Stream me a story [[sim: tokens=9]]";
    let api = t.api(ctx);
    let plain = post(&api, CHAT, &chat_body(GPT, prompt), &[]).await?;
    let want = Tokens {
        prompt: prompt_tokens(&[prompt]),
        completion: 9,
    };
    expect_completion(&plain, GPT, &reply_text(9), "stop", want)?;
    let text = crate::wire::str_at(&plain.body, "/choices/0/message/content")?.to_string();

    let resp = post(&api, CHAT, &streamed(chat_body(GPT, prompt), true), &[]).await?;
    ensure!(
        resp.request_id().is_some_and(|id| !id.is_empty()),
        "no x-request-id on the stream"
    );
    let stream = read_openai(&resp)?;
    expect_openai_complete(&stream, GPT, &text, "stop", Some(want))?;
    // One chunk per word after the role chunk: the deltas really stream.
    ensure!(
        stream.chunks.len() >= 9 + 2,
        "only {} chunks for 9 words",
        stream.chunks.len()
    );
    Ok(())
}

async fn stream_without_usage_has_no_usage_chunk(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "oai-nousage").await?;
    let body = streamed(
        json!({"model": GPT, "max_tokens": 3, "messages": [user("short one")]}),
        false,
    );
    let resp = post(&t.api(ctx), CHAT, &body, &[]).await?;
    let stream = read_openai(&resp)?;
    expect_openai_complete(&stream, GPT, &reply_text(3), "length", None)?;
    ensure_eq!(
        stream
            .chunks
            .iter()
            .filter(|c| c.get("choices").is_some_and(|ch| ch == &json!([])))
            .count(),
        0,
        "chunks with choices: [] without include_usage"
    );
    Ok(())
}
