//! Model configs: CRUD, PATCH with null, and validation that writes nothing.

use e2e::check::expect_error_in;
use e2e::seed::{expect_audit, expect_no_audit, field, list_all, request_id, seed_tenant};
use e2e::{case, ensure, ensure_eq, expect_error, expect_status, Case, Ctx};
use reqwest::Method;
use serde_json::{json, Value};

pub fn cases() -> Vec<Case> {
    vec![
        case!(model_crud_patch_null_and_audit),
        case!(model_openai_compatible_with_base_url),
        case!(model_validation_writes_nothing),
    ]
}

/// Every field of `sent` comes back with the same value (numbers compared as numbers).
fn expect_echo(body: &Value, sent: &Value) -> Result<(), String> {
    let sent = sent.as_object().ok_or("sent body is not an object")?;
    for (name, want) in sent {
        let got = body
            .get(name)
            .ok_or_else(|| format!("model has no `{name}`: {body}"))?;
        let same = match (got.as_f64(), want.as_f64()) {
            (Some(a), Some(b)) => (a - b).abs() < 1e-9,
            _ => got == want,
        };
        ensure!(same, "model `{name}`: {got} != sent {want}");
    }
    Ok(())
}

async fn model_crud_patch_null_and_audit(ctx: &Ctx) -> Result<(), String> {
    let admin = ctx.admin();
    let t = seed_tenant(ctx, "models").await?;
    let base = format!("/admin/instances/{}/models", t.instance_id);
    let sent = json!({
        "id": "chat-main", "provider": "openai", "upstream_model": "gpt-4o-mini",
        "capabilities": ["chat", "stream"], "input_price_per_mtok": 0.15, "output_price_per_mtok": 0.6,
        "max_output_tokens": 4096, "fallbacks": [], "enabled": true,
    });
    let created = expect_status(&admin.post(&base, sent.clone()).await?, 201)?.clone();
    expect_echo(&created, &sent)?;
    let path = format!("{base}/chat-main");
    ensure_eq!(
        expect_status(&admin.get(&path).await?, 200)?,
        &created,
        "GET after create"
    );
    ensure_eq!(
        list_all(&admin, &base).await?,
        vec![created.clone()],
        "model list"
    );

    // A second model may fall back to the first.
    let second = json!({"id": "chat-cheap", "provider": "openai", "upstream_model": "gpt-4.1-nano",
                        "fallbacks": ["chat-main"]});
    expect_echo(
        expect_status(&admin.post(&base, second.clone()).await?, 201)?,
        &second,
    )?;

    // null clears a nullable field; other fields stay.
    let patch = json!({"max_output_tokens": null, "input_price_per_mtok": null, "enabled": false});
    let after = expect_status(&admin.patch(&path, patch.clone()).await?, 200)?.clone();
    expect_echo(&after, &patch)?;
    ensure_eq!(
        after.get("upstream_model"),
        Some(&json!("gpt-4o-mini")),
        "upstream_model after PATCH"
    );
    ensure!(
        after.get("output_price_per_mtok").and_then(Value::as_f64) == Some(0.6),
        "output_price_per_mtok after PATCH: {after}"
    );
    ensure_eq!(
        expect_status(&admin.get(&path).await?, 200)?,
        &after,
        "GET after PATCH"
    );

    expect_status(&admin.delete(&path).await?, 204)?;
    expect_error(&admin.get(&path).await?, 404, "not_found")?;
    let left: Vec<String> = list_all(&admin, &base)
        .await?
        .iter()
        .filter_map(|m| field(m, "id").ok())
        .collect();
    ensure_eq!(left, vec!["chat-cheap".to_string()], "models after delete");
    for action in ["model.create", "model.update", "model.delete"] {
        expect_audit(ctx, &t.org_id, action, "chat-main", "platform").await?;
    }
    Ok(())
}

/// The upstream of an OpenAI-compatible model is its provider key's `base_url`; a model config may not
/// carry its own (it could send the key's secret to another host).
async fn model_openai_compatible_with_base_url(ctx: &Ctx) -> Result<(), String> {
    let t = seed_tenant(ctx, "compat").await?;
    let key = format!("sk-e2e-{}", e2e::seed::unique("local"));
    ctx.remember_secret(&key);
    let pk = format!("/admin/instances/{}/provider-keys/local-llm", t.instance_id);
    let resp = ctx
        .admin()
        .put(
            &pk,
            json!({"api_key": key, "provider": "openai_compatible", "base_url": "http://127.0.0.1:9999/v1"}),
        )
        .await?;
    expect_status(&resp, 200)?;
    let base = format!("/admin/instances/{}/models", t.instance_id);
    let redirected = json!({"id": "local", "provider": "openai_compatible", "upstream_model": "llama-3",
                      "base_url": "http://attacker.example/v1", "provider_key": "local-llm"});
    let resp = ctx.admin().post(&base, redirected).await?;
    expect_error_in(&resp, &[422])?.message_contains("base_url")?;
    let sent = json!({"id": "local", "provider": "openai_compatible", "upstream_model": "llama-3",
                      "provider_key": "local-llm"});
    let created = expect_status(&ctx.admin().post(&base, sent.clone()).await?, 201)?.clone();
    expect_echo(&created, &sent)?;
    let resp = ctx
        .admin()
        .patch(
            &format!("{base}/local"),
            json!({"base_url": "https://elsewhere.example/v1"}),
        )
        .await?;
    expect_error_in(&resp, &[422])?.message_contains("base_url")?;
    Ok(())
}

async fn model_validation_writes_nothing(ctx: &Ctx) -> Result<(), String> {
    let admin = ctx.admin();
    let t = seed_tenant(ctx, "modelbad").await?;
    let base = format!("/admin/instances/{}/models", t.instance_id);
    let ok = |extra: Value| {
        let mut body = json!({"id": "m1", "provider": "openai", "upstream_model": "gpt-4o"});
        if let (Some(obj), Some(more)) = (body.as_object_mut(), extra.as_object()) {
            obj.extend(more.clone());
        }
        body
    };
    let cases: Vec<(Value, &[u16], &str)> = vec![
        (
            ok(json!({"provider": "openai_compatible", "base_url": "ftp://example.test/v1"})),
            &[400, 422],
            "base_url",
        ),
        (
            ok(json!({"base_url": "not a url"})),
            &[400, 422],
            "base_url",
        ),
        (
            ok(json!({"input_price_per_mtok": -1.0})),
            &[400, 422],
            "input_price_per_mtok",
        ),
        (
            ok(json!({"output_price_per_mtok": -0.5})),
            &[400, 422],
            "output_price_per_mtok",
        ),
        (
            ok(json!({"price_per_image": -2})),
            &[400, 422],
            "price_per_image",
        ),
        (ok(json!({"fallbacks": ["m1"]})), &[400, 422], "fallbacks"),
        (ok(json!({"provider": "bogus"})), &[400, 422], "provider"),
        (
            ok(json!({"capabilities": ["telepathy"]})),
            &[400, 422],
            "capabilities",
        ),
    ];
    for (body, statuses, field_name) in cases {
        let rid = request_id("model-bad");
        let resp = admin
            .send_with_id(Method::POST, &base, Some(body), &rid)
            .await?;
        expect_error_in(&resp, statuses)?.message_contains(field_name)?;
        expect_no_audit(ctx, &rid).await?;
    }
    ensure!(
        list_all(&admin, &base).await?.is_empty(),
        "a refused model was written"
    );
    // The same checks apply to PATCH.
    expect_status(&admin.post(&base, ok(json!({}))).await?, 201)?;
    for (patch, field_name) in [
        (json!({"input_price_per_mtok": -3}), "input_price_per_mtok"),
        (json!({"fallbacks": ["m1"]}), "fallbacks"),
    ] {
        let resp = admin.patch(&format!("{base}/m1"), patch).await?;
        expect_error_in(&resp, &[400, 422])?.message_contains(field_name)?;
    }
    Ok(())
}
