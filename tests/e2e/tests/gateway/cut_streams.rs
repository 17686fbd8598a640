//! A stream the upstream cuts (`[[sim: cut_after=2]]`) ends with an error event — `data: {"error":…}`
//! for OpenAI, `event: error` for Anthropic — and never with `[DONE]` / `message_stop`.

use e2e::{case, ensure, ensure_eq, Case, Ctx};
use serde_json::Value;

use crate::streams::{collapsed, read_anthropic, read_openai};
use crate::tenant::{attempts, await_usage, count, group, tenant, usage, CLAUDE, GPT};
use crate::wire::{
    chat_body, fault_key, messages_body, post, reply_text, str_at, streamed, CHAT, MESSAGES,
};

pub fn cases() -> Vec<Case> {
    vec![
        case!(openai_cut_stream_ends_with_an_error_frame),
        case!(anthropic_cut_stream_ends_with_an_error_event),
    ]
}

async fn openai_cut_stream_ends_with_an_error_frame(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "cut-oai").await?;
    let key = fault_key("cut-oai");
    let prompt = format!("cut me off [[sim: cut_after=2, key={key}]]");
    let resp = post(
        &t.api(ctx),
        CHAT,
        &streamed(chat_body(GPT, &prompt), true),
        &[],
    )
    .await?;
    let stream = read_openai(&resp)?;
    ensure!(!stream.done, "a cut stream ends with [DONE]: {}", resp.text);
    let error = stream
        .error
        .as_ref()
        .ok_or_else(|| format!("no error frame at the end of a cut stream: {}", resp.text))?;
    ensure_eq!(
        error.get("type").and_then(Value::as_str),
        Some("upstream_error"),
        "error.type of {error}"
    );
    ensure!(
        !str_at(error, "/message")?.is_empty(),
        "empty error message: {error}"
    );
    ensure_eq!(
        stream.text.as_str(),
        reply_text(2).as_str(),
        "the content before the cut"
    );
    ensure!(
        stream.finish_reason.is_none(),
        "a finish chunk in a cut stream"
    );
    ensure!(stream.usage.is_none(), "a usage chunk in a cut stream");
    ensure_eq!(attempts(ctx, &key).await?, 1, "attempts the simulator saw");
    await_error_row(ctx, &t, GPT).await
}

async fn anthropic_cut_stream_ends_with_an_error_event(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "cut-ant").await?;
    let prompt = "cut me off too [[sim: cut_after=2]]";
    let resp = post(
        &t.x_api(ctx),
        MESSAGES,
        &streamed(messages_body(CLAUDE, prompt, 50), false),
        &[],
    )
    .await?;
    let stream = read_anthropic(&resp)?;
    ensure_eq!(
        collapsed(&stream.events),
        vec![
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "error"
        ],
        "events of a cut stream"
    );
    ensure_eq!(
        stream.text.as_str(),
        reply_text(2).as_str(),
        "the text before the cut"
    );
    let error = stream.error.as_ref().ok_or("no error event")?;
    ensure!(
        error
            .pointer("/error/type")
            .and_then(Value::as_str)
            .is_some()
            && error
                .pointer("/error/message")
                .and_then(Value::as_str)
                .is_some(),
        "the error event is not {{type: error, error: {{type, message}}}}: {error}"
    );
    await_error_row(ctx, &t, CLAUDE).await
}

/// The cut stream's usage row is counted as an error.
async fn await_error_row(ctx: &Ctx, t: &crate::tenant::Tenant, model: &str) -> Result<(), String> {
    let rows = await_usage(&t.api(ctx), &t.instance_id, "model", |rows| {
        count(group(rows, model), "requests") >= 1
    })
    .await?;
    ensure_eq!(
        (
            count(group(&rows, model), "requests"),
            count(group(&rows, model), "errors")
        ),
        (1, 1),
        "(requests, errors) of the cut stream's model: {rows:?}"
    );
    let by_status = usage(&t.api(ctx), &t.instance_id, "status").await?;
    ensure!(
        group(&by_status, "200").is_none(),
        "the cut stream was recorded as a success: {by_status:?}"
    );
    Ok(())
}
