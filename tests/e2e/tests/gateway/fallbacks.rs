//! A model config's `fallbacks` answer when its own provider cannot: a provider key the upstream
//! rejects (`sk-invalid`) or a `base_url` nobody listens on. When every route fails the caller gets an
//! upstream error envelope; nothing hangs.

use e2e::stack::free_port;
use e2e::{case, ensure, ensure_eq, expect_error, Case, Ctx};
use serde_json::json;

use crate::streams::{expect_anthropic_complete, read_anthropic};
use crate::tenant::{add_model, attempts, put_provider_key, tenant, upstream, CLAUDE, GPT};
use crate::wire::{
    chat_body, expect_completion, fault_key, header_f64, messages_body, post, prompt_tokens,
    reply_text, streamed, Tokens, CHAT, DEFAULT_REPLY, MESSAGES,
};

pub fn cases() -> Vec<Case> {
    vec![
        case!(rejected_provider_key_falls_back),
        case!(unreachable_base_url_falls_back),
        case!(every_route_failing_is_502),
    ]
}

/// A provider key `openai-revoked` the simulator refuses (401).
pub async fn rejected_key(ctx: &Ctx, instance_id: &str) -> Result<(), String> {
    put_provider_key(
        ctx,
        instance_id,
        "openai-revoked",
        json!({"api_key": "sk-invalid", "provider": "openai", "base_url": upstream()?.v1()}),
    )
    .await
}

async fn rejected_provider_key_falls_back(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "fb-key").await?;
    rejected_key(ctx, &t.instance_id).await?;
    add_model(
        ctx,
        &t.instance_id,
        json!({"id": "gpt-primary", "provider": "openai", "upstream_model": "gpt-4o",
               "provider_key": "openai-revoked", "fallbacks": [CLAUDE]}),
    )
    .await?;
    let key = fault_key("fb-key");
    let prompt = format!("primary is refused [[sim: key={key}]]");
    let resp = post(&t.api(ctx), CHAT, &chat_body("gpt-primary", &prompt), &[]).await?;
    let want = Tokens {
        prompt: prompt_tokens(&[&prompt]),
        completion: DEFAULT_REPLY,
    };
    expect_completion(
        &resp,
        "gpt-primary",
        &reply_text(DEFAULT_REPLY),
        "stop",
        want,
    )?;
    let tried = header_f64(&resp, "x-de-attempts")?;
    ensure!(
        tried >= 2.0,
        "x-de-attempts {tried}: the fallback is an attempt too"
    );
    // Refused at auth, the primary's attempts are not counted: only the fallback's answer reached it.
    ensure_eq!(
        attempts(ctx, &key).await?,
        1,
        "answered attempts the simulator saw"
    );

    // Streamed, in the other format, the fallback answers too.
    let body = streamed(messages_body("gpt-primary", &prompt, 4), false);
    let stream = read_anthropic(&post(&t.x_api(ctx), MESSAGES, &body, &[]).await?)?;
    let want = Tokens {
        prompt: prompt_tokens(&[&prompt]),
        completion: 4,
    };
    expect_anthropic_complete(&stream, "gpt-primary", &reply_text(4), "max_tokens", want)
}

async fn unreachable_base_url_falls_back(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "fb-url").await?;
    let dead = format!("http://127.0.0.1:{}/v1", free_port()?);
    put_provider_key(
        ctx,
        &t.instance_id,
        "openai-down",
        json!({"api_key": "sk-e2e-down", "provider": "openai", "base_url": dead}),
    )
    .await?;
    add_model(
        ctx,
        &t.instance_id,
        json!({"id": "gpt-down", "provider": "openai", "upstream_model": "gpt-4o",
               "provider_key": "openai-down", "fallbacks": ["no-such-model", GPT]}),
    )
    .await?;
    let key = fault_key("fb-url");
    let prompt = format!("primary is down [[sim: key={key}]]");
    let resp = post(&t.api(ctx), CHAT, &chat_body("gpt-down", &prompt), &[]).await?;
    let want = Tokens {
        prompt: prompt_tokens(&[&prompt]),
        completion: DEFAULT_REPLY,
    };
    expect_completion(&resp, "gpt-down", &reply_text(DEFAULT_REPLY), "stop", want)?;
    ensure_eq!(attempts(ctx, &key).await?, 1, "attempts the simulator saw");
    Ok(())
}

async fn every_route_failing_is_502(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "fb-none").await?;
    rejected_key(ctx, &t.instance_id).await?;
    for (id, fallbacks) in [("bad-b", json!([])), ("bad-a", json!(["bad-b"]))] {
        add_model(
            ctx,
            &t.instance_id,
            json!({"id": id, "provider": "openai", "upstream_model": "gpt-4o",
                   "provider_key": "openai-revoked", "fallbacks": fallbacks}),
        )
        .await?;
    }
    let resp = post(
        &t.api(ctx),
        CHAT,
        &chat_body("bad-a", "nobody answers"),
        &[],
    )
    .await?;
    expect_error(&resp, 502, "upstream_error")?;
    let tried = header_f64(&resp, "x-de-attempts")?;
    ensure!(
        tried >= 2.0,
        "x-de-attempts {tried}: both routes should have been tried"
    );
    // The provider's rejection of the platform's key is not the caller's auth failure.
    let resp = post(
        &t.api(ctx),
        CHAT,
        &chat_body(GPT, "the key itself still works"),
        &[],
    )
    .await?;
    e2e::expect_status(&resp, 200)?;
    Ok(())
}
