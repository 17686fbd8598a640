//! `GET /v1/models`: the models a key may use, in OpenAI's list shape; a key created with
//! `models: [...]` sees only those and gets 403 `model_not_allowed` for the others.

use e2e::{case, ensure, ensure_eq, expect_error, expect_status, Case, Ctx};
use serde_json::{json, Value};

use crate::tenant::{add_key, tenant, CLAUDE, GPT};
use crate::wire::{chat_body, messages_body, post, CHAT, GENERATE, MESSAGES};

pub fn cases() -> Vec<Case> {
    vec![
        case!(every_model_by_default),
        case!(restricted_key_sees_only_its_models),
        case!(config_changes_apply_to_the_next_request),
    ]
}

/// The gateway caches an instance's models and provider keys in memory; a change through the admin API
/// must still apply to the very next request.
async fn config_changes_apply_to_the_next_request(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "cfg-change").await?;
    let api = t.api(ctx);
    expect_status(
        &post(&api, CHAT, &chat_body(GPT, "warm the cache"), &[]).await?,
        200,
    )?;
    let model = format!("/admin/instances/{}/models/{GPT}", t.instance_id);
    expect_status(
        &ctx.admin().patch(&model, json!({"enabled": false})).await?,
        200,
    )?;
    let resp = post(&api, CHAT, &chat_body(GPT, "disabled now"), &[]).await?;
    expect_error(&resp, 403, "model_disabled")?;
    let ids = model_ids(&api.get("/v1/models").await?)?;
    ensure!(
        !ids.iter().any(|id| id == GPT),
        "a disabled model is still listed: {ids:?}"
    );
    expect_status(
        &ctx.admin().patch(&model, json!({"enabled": true})).await?,
        200,
    )?;
    expect_status(
        &post(&api, CHAT, &chat_body(GPT, "enabled again"), &[]).await?,
        200,
    )?;
    let key = format!("/admin/instances/{}/provider-keys/openai", t.instance_id);
    expect_status(&ctx.admin().delete(&key).await?, 204)?;
    let resp = post(&api, CHAT, &chat_body(GPT, "no provider key"), &[]).await?;
    expect_error(&resp, 422, "invalid_value")?;
    let policy = format!("/admin/instances/{}/rate-limits/key/*", t.instance_id);
    expect_status(
        &ctx.admin()
            .put(&policy, json!({"requests_per_minute": 1}))
            .await?,
        200,
    )?;
    let resp = post(&api, CHAT, &chat_body(CLAUDE, "limited from now on"), &[]).await?;
    expect_status(&resp, 200)?;
    let resp = post(&api, CHAT, &chat_body(CLAUDE, "over the limit"), &[]).await?;
    expect_error(&resp, 429, "rate_limited")?;
    Ok(())
}

/// The ids of a `/v1/models` list, sorted, after checking its shape.
fn model_ids(resp: &e2e::Resp) -> Result<Vec<String>, String> {
    let body = expect_status(resp, 200)?;
    ensure_eq!(
        body.get("object").and_then(Value::as_str),
        Some("list"),
        "object of {}",
        resp.describe()
    );
    let mut ids = Vec::new();
    for model in resp.data()? {
        ensure_eq!(
            model.get("object").and_then(Value::as_str),
            Some("model"),
            "object of {model}"
        );
        ensure!(
            model.get("owned_by").and_then(Value::as_str).is_some(),
            "no owned_by in {model}"
        );
        ensure!(
            model.get("created").and_then(Value::as_i64).is_some(),
            "no integer created in {model}"
        );
        let id = model
            .get("id")
            .and_then(Value::as_str)
            .ok_or("a model without id")?;
        ids.push(id.to_string());
    }
    ids.sort();
    Ok(ids)
}

async fn every_model_by_default(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "models").await?;
    let resp = t.api(ctx).get("/v1/models").await?;
    ensure_eq!(
        model_ids(&resp)?,
        vec![CLAUDE.to_string(), GPT.to_string()],
        "models of an unrestricted key"
    );
    let owners: Vec<(String, String)> = resp
        .data()?
        .iter()
        .map(|m| {
            let field = |n: &str| {
                m.get(n)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            (field("id"), field("owned_by"))
        })
        .collect();
    ensure!(
        owners.contains(&(GPT.to_string(), "openai".to_string()))
            && owners.contains(&(CLAUDE.to_string(), "anthropic".to_string())),
        "owned_by should name the provider: {owners:?}"
    );
    Ok(())
}

async fn restricted_key_sees_only_its_models(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "models-only").await?;
    let key = add_key(
        ctx,
        &t.instance_id,
        json!({"name": "gpt only", "scopes": ["generate"], "models": [GPT]}),
    )
    .await?;
    let api = ctx.with_key(&key.secret);
    let resp = api.get("/v1/models").await?;
    ensure_eq!(
        model_ids(&resp)?,
        vec![GPT.to_string()],
        "models of a gpt-only key"
    );

    let ok = post(&api, CHAT, &chat_body(GPT, "allowed model"), &[]).await?;
    expect_status(&ok, 200)?;
    let refused = [
        post(&api, CHAT, &chat_body(CLAUDE, "not allowed"), &[]).await?,
        post(
            &api,
            MESSAGES,
            &messages_body(CLAUDE, "not allowed", 10),
            &[],
        )
        .await?,
        post(
            &api,
            GENERATE,
            &json!({"prompt": "not allowed", "model_id": CLAUDE}),
            &[],
        )
        .await?,
        post(
            &api,
            CHAT,
            &chat_body("anthropic/claude-3-5-haiku-latest", "direct"),
            &[],
        )
        .await?,
    ];
    for resp in &refused {
        expect_error(resp, 403, "model_not_allowed")?.message_contains("model")?;
    }
    Ok(())
}
