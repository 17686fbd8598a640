//! Bad requests get a 4xx error envelope that names the problem, never a 5xx: malformed bodies, missing
//! or invalid fields, unknown models, oversized bodies, and callers that may not generate.

use e2e::check::{expect_error_in, not_500};
use e2e::{case, expect_error, expect_status, Case, Ctx};
use reqwest::Method;
use serde_json::json;

use crate::tenant::{add_key, tenant, GPT};
use crate::wire::{chat_body, messages_body, post, user, CHAT, CLIENT_TIMEOUT, GENERATE, MESSAGES};

pub fn cases() -> Vec<Case> {
    vec![
        case!(chat_bodies),
        case!(messages_and_generate_bodies),
        case!(malformed_json_and_oversized_bodies),
        case!(unknown_models_are_404),
        case!(bad_gateway_headers),
        case!(callers_that_may_not_generate),
        case!(revoked_and_unknown_keys_are_401),
    ]
}

/// Each `(path, body, needle)` is refused with 400 or 422 and a message naming `needle`.
async fn expect_refused(
    api: &e2e::Api<'_>,
    cases: &[(&str, serde_json::Value, &str)],
) -> Result<(), String> {
    for (path, body, needle) in cases {
        let resp = post(api, path, body, &[]).await?;
        not_500(&resp)?;
        expect_error_in(&resp, &[400, 422])
            .and_then(|e| e.message_contains(needle).map(|_| ()))
            .map_err(|e| format!("{path} {body}: {e}"))?;
    }
    Ok(())
}

async fn chat_bodies(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "bad-chat").await?;
    let hi = || json!([user("hi")]);
    let cases = [
        (CHAT, json!({"model": GPT}), "messages"),
        (CHAT, json!({"model": GPT, "messages": []}), "messages"),
        (CHAT, json!({"model": GPT, "messages": "hi"}), "messages"),
        (CHAT, json!({"messages": hi()}), "model"),
        (
            CHAT,
            json!({"model": GPT, "messages": [{"role": "wizard", "content": "hi"}]}),
            "role",
        ),
        (
            CHAT,
            json!({"model": GPT, "messages": [{"content": "hi"}]}),
            "role",
        ),
        (
            CHAT,
            json!({"model": GPT, "max_tokens": 0, "messages": hi()}),
            "max_tokens",
        ),
        (
            CHAT,
            json!({"model": GPT, "max_tokens": -5, "messages": hi()}),
            "max_tokens",
        ),
        (
            CHAT,
            json!({"model": GPT, "max_tokens": "ten", "messages": hi()}),
            "max_tokens",
        ),
        (
            CHAT,
            json!({"model": GPT, "temperature": "hot", "messages": hi()}),
            "temperature",
        ),
        (CHAT, json!([1, 2]), "object"),
    ];
    expect_refused(&t.api(ctx), &cases).await
}

async fn messages_and_generate_bodies(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "bad-msg").await?;
    let hi = || json!([user("hi")]);
    let cases = [
        (
            MESSAGES,
            json!({"model": GPT, "messages": hi()}),
            "max_tokens",
        ),
        (
            MESSAGES,
            json!({"model": GPT, "max_tokens": 0, "messages": hi()}),
            "max_tokens",
        ),
        (
            MESSAGES,
            json!({"model": GPT, "max_tokens": 10, "messages": []}),
            "messages",
        ),
        (
            MESSAGES,
            json!({"model": GPT, "max_tokens": 10, "messages": [{"role": "system", "content": "x"}]}),
            "role",
        ),
        (GENERATE, json!({"model_id": GPT, "prompt": "  "}), "prompt"),
        (GENERATE, json!({"model_id": GPT}), "prompt"),
        (GENERATE, json!({"prompt": "hello"}), "model_id"),
        (
            GENERATE,
            json!({"prompt": "hi", "model_id": GPT, "options": {"max_tokens": 0}}),
            "max_tokens",
        ),
    ];
    expect_refused(&t.x_api(ctx), &cases).await
}

async fn malformed_json_and_oversized_bodies(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "bad-bytes").await?;
    let api = t.api(ctx).with_timeout(CLIENT_TIMEOUT);
    for path in [CHAT, MESSAGES, GENERATE] {
        let resp = api
            .raw(
                Method::POST,
                path,
                Some(br#"{"model": "gpt-test", "messages": [#"#.to_vec()),
                &[],
            )
            .await?;
        expect_error(&resp, 400, "invalid_json")?;
    }
    // Over 4 MiB: refused as too large, not parsed.
    let filler = "a ".repeat(2 * 1024 * 1024 + 512);
    let big = serde_json::to_vec(&chat_body(GPT, &filler)).map_err(|e| e.to_string())?;
    let resp = api.raw(Method::POST, CHAT, Some(big), &[]).await?;
    expect_error(&resp, 413, "body_too_large")?;
    Ok(())
}

async fn unknown_models_are_404(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "bad-model").await?;
    for model in ["no-such-model", "nokey/gpt-4o"] {
        let resp = post(&t.api(ctx), CHAT, &chat_body(model, "hi"), &[]).await?;
        expect_error(&resp, 404, "model_not_found")?.message_contains("model")?;
        let resp = post(&t.x_api(ctx), MESSAGES, &messages_body(model, "hi", 5), &[]).await?;
        expect_error(&resp, 404, "model_not_found")?;
    }
    Ok(())
}

async fn bad_gateway_headers(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "bad-headers").await?;
    let body = chat_body(GPT, "hi");
    for (name, value) in [
        ("x-de-timeout-ms", "soon"),
        ("x-de-timeout-ms", "0"),
        ("x-de-timeout-ms", "-100"),
        ("x-de-cache", "maybe"),
    ] {
        let resp = post(&t.api(ctx), CHAT, &body, &[(name, value)]).await?;
        expect_error_in(&resp, &[400, 422])?.message_contains(name)?;
    }
    Ok(())
}

async fn callers_that_may_not_generate(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "bad-caller").await?;
    let reader = add_key(
        ctx,
        &t.instance_id,
        json!({"name": "reader", "scopes": ["admin:read"]}),
    )
    .await?;
    let api = ctx.with_key(&reader.secret);
    let resp = post(&api, CHAT, &chat_body(GPT, "hi"), &[]).await?;
    expect_error(&resp, 403, "insufficient_scope")?;
    let resp = post(&api, MESSAGES, &messages_body(GPT, "hi", 5), &[]).await?;
    expect_error(&resp, 403, "insufficient_scope")?;
    let resp = post(
        &api,
        GENERATE,
        &json!({"prompt": "hi", "model_id": GPT}),
        &[],
    )
    .await?;
    expect_error(&resp, 403, "insufficient_scope")?;
    // The platform administrator manages; it does not generate.
    let admin = ctx.admin();
    let resp = post(&admin, CHAT, &chat_body(GPT, "hi"), &[]).await?;
    expect_error_in(&resp, &[403])?;
    let resp = post(&admin, MESSAGES, &messages_body(GPT, "hi", 5), &[]).await?;
    expect_error_in(&resp, &[403])?;
    Ok(())
}

async fn revoked_and_unknown_keys_are_401(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "bad-revoked").await?;
    let key = add_key(ctx, &t.instance_id, json!({"name": "short lived"})).await?;
    let api = ctx.with_key(&key.secret);
    expect_status(
        &post(&api, CHAT, &chat_body(GPT, "before"), &[]).await?,
        200,
    )?;
    let resp = ctx
        .admin()
        .post(&format!("/admin/keys/{}/revoke", key.id), json!({}))
        .await?;
    expect_status(&resp, 200)?;
    let resp = post(&api, CHAT, &chat_body(GPT, "after"), &[]).await?;
    expect_error(&resp, 401, "key_revoked")?;
    let resp = post(
        &ctx.with_x_api_key(&key.secret),
        MESSAGES,
        &messages_body(GPT, "after", 5),
        &[],
    )
    .await?;
    expect_error(&resp, 401, "key_revoked")?;
    let resp = post(&ctx.anon(), CHAT, &chat_body(GPT, "nobody"), &[]).await?;
    expect_error(&resp, 401, "missing_api_key")?;
    let forged = format!("de_live_{}", "x".repeat(43));
    let resp = post(&ctx.with_key(&forged), CHAT, &chat_body(GPT, "forged"), &[]).await?;
    expect_error(&resp, 401, "invalid_api_key")?;
    Ok(())
}
