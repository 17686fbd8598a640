//! Provider keys: set, replace, list, delete; the plaintext never comes back and is not stored.

use e2e::check::{expect_error_in, expect_keys, no_secret_fields, not_leaked};
use e2e::seed::{audit, expect_no_audit, field, now_ms, request_id, seed_tenant, unique};
use e2e::{case, ensure, ensure_eq, expect_error, expect_status, Case, Ctx};
use reqwest::Method;
use serde_json::{json, Value};

pub fn cases() -> Vec<Case> {
    vec![
        case!(provider_key_set_replace_delete),
        case!(provider_key_custom_name_needs_provider),
    ]
}

const PROVIDER_KEY_FIELDS: [&str; 8] = [
    "object",
    "name",
    "provider",
    "configured",
    "hint",
    "base_url",
    "created_at",
    "updated_at",
];

/// A fake provider key unique to this run, remembered for the log check.
fn plaintext(ctx: &Ctx, tail: &str) -> String {
    let key = format!("sk-e2e-{}-{tail}", unique("pk"));
    ctx.remember_secret(&key);
    key
}

async fn put_key(ctx: &Ctx, path: &str, key: &str) -> Result<Value, String> {
    let resp = ctx.admin().put(path, json!({"api_key": key})).await?;
    let body = expect_status(&resp, 200)?.clone();
    expect_keys(&body, &PROVIDER_KEY_FIELDS)?;
    no_secret_fields(&body)?;
    not_leaked(&resp.text, key, "the PUT response")?;
    for (name, want) in [
        ("object", json!("provider_key")),
        ("name", json!("openai")),
        ("provider", json!("openai")),
        ("configured", json!(true)),
    ] {
        ensure_eq!(body.get(name), Some(&want), "provider key `{name}`");
    }
    let hint = field(&body, "hint")?;
    ensure!(
        !hint.is_empty() && hint.len() < key.len() / 2,
        "hint {hint:?} reveals too much"
    );
    Ok(body)
}

async fn sealed_key(ctx: &Ctx, instance_id: &str) -> Result<String, String> {
    let rows = ctx
        .sql(&format!(
            "SELECT sealed_key FROM provider_keys WHERE instance_id = '{instance_id}' AND name = 'openai'"
        ))
        .await?;
    rows.first()
        .map(|r| field(r, "sealed_key"))
        .unwrap_or_else(|| Err("no provider_keys row".to_string()))
}

async fn provider_key_set_replace_delete(ctx: &Ctx) -> Result<(), String> {
    let admin = ctx.admin();
    let t = seed_tenant(ctx, "pk").await?;
    let base = format!("/admin/instances/{}/provider-keys", t.instance_id);
    let path = format!("{base}/openai");
    let first_key = plaintext(ctx, "AAAAwxyz");
    let first = put_key(ctx, &path, &first_key).await?;

    let list = admin.get(&base).await?;
    expect_status(&list, 200)?;
    ensure_eq!(list.data()?, &vec![first.clone()], "provider key list");
    not_leaked(&list.text, &first_key, "the provider key list")?;
    let sealed = sealed_key(ctx, &t.instance_id).await?;
    not_leaked(&sealed, &first_key, "sealed_key")?;
    not_leaked(&sealed, "AAAAwxyz", "sealed_key")?;

    // PUT again replaces: new hint, newer updated_at, same created_at.
    let second_key = plaintext(ctx, "BBBBqrst");
    let second = put_key(ctx, &path, &second_key).await?;
    ensure!(
        second.get("hint") != first.get("hint"),
        "hint unchanged after replace: {second}"
    );
    ensure_eq!(
        second.get("created_at"),
        first.get("created_at"),
        "created_at after replace"
    );
    let (t1, t2) = (
        first
            .get("updated_at")
            .and_then(Value::as_i64)
            .unwrap_or_default(),
        second
            .get("updated_at")
            .and_then(Value::as_i64)
            .unwrap_or_default(),
    );
    ensure!(
        t2 >= t1 && t2 > now_ms() - 86_400_000,
        "updated_at {t2} after replace (was {t1})"
    );
    ensure_eq!(
        admin.get(&base).await?.data()?.len(),
        1,
        "provider keys after replace"
    );
    let sealed_again = sealed_key(ctx, &t.instance_id).await?;
    ensure!(sealed_again != sealed, "sealed_key unchanged after replace");
    not_leaked(&sealed_again, &second_key, "sealed_key")?;

    expect_status(&admin.delete(&path).await?, 204)?;
    ensure!(
        admin.get(&base).await?.data()?.is_empty(),
        "deleted provider key still listed"
    );
    expect_error(&admin.delete(&path).await?, 404, "not_found")?;

    let entries = audit(ctx, &t.org_id).await?;
    for entry in entries
        .iter()
        .filter(|e| field(e, "action").is_ok_and(|a| a.starts_with("provider_key.")))
    {
        ensure_eq!(
            entry.get("actor"),
            Some(&json!("platform")),
            "provider key audit actor"
        );
        ensure_eq!(
            entry.get("instance_id"),
            Some(&json!(t.instance_id)),
            "provider key audit instance_id"
        );
        ensure!(
            field(entry, "target_id").is_ok_and(|id| id.contains("openai")),
            "provider key audit target_id does not name the key: {entry}"
        );
    }
    let actions = e2e::seed::actions(&entries);
    ensure!(
        actions.iter().filter(|a| *a == "provider_key.set").count() == 2
            && actions.iter().any(|a| a == "provider_key.delete"),
        "audit actions: {actions:?}"
    );
    let text = serde_json::to_string(&entries).unwrap_or_default();
    not_leaked(&text, &first_key, "the audit log")?;
    not_leaked(&text, &second_key, "the audit log")
}

async fn provider_key_custom_name_needs_provider(ctx: &Ctx) -> Result<(), String> {
    let admin = ctx.admin();
    let t = seed_tenant(ctx, "pkcustom").await?;
    let base = format!("/admin/instances/{}/provider-keys", t.instance_id);
    // (name, body, allowed statuses, field the message names); an unknown name without a provider
    // is a 400 (the docs: `provider` defaults to `name` only for a known provider).
    let refusals: [(&str, Value, &[u16], &str); 5] = [
        (
            "local-llm",
            json!({"api_key": plaintext(ctx, "noprov")}),
            &[400],
            "provider",
        ),
        (
            "local-llm",
            json!({"api_key": plaintext(ctx, "badprov"), "provider": "bogus"}),
            &[400, 422],
            "provider",
        ),
        ("openai", json!({"provider": "openai"}), &[400], "api_key"),
        ("openai", json!({"api_key": ""}), &[400, 422], "api_key"),
        (
            "openai",
            json!({"api_key": plaintext(ctx, "badurl"), "base_url": "ftp://example.test/v1"}),
            &[400, 422],
            "base_url",
        ),
    ];
    for (name, body, statuses, field_name) in refusals {
        let rid = request_id("pk-bad");
        let resp = admin
            .send_with_id(Method::PUT, &format!("{base}/{name}"), Some(body), &rid)
            .await?;
        expect_error_in(&resp, statuses)?.message_contains(field_name)?;
        expect_no_audit(ctx, &rid).await?;
    }
    // A name that is not a slug.
    let resp = admin
        .put(
            &format!("{base}/Bad_Name"),
            json!({"api_key": plaintext(ctx, "badname"), "provider": "openai"}),
        )
        .await?;
    expect_error_in(&resp, &[400, 404])?;
    ensure!(
        admin.get(&base).await?.data()?.is_empty(),
        "a refused provider key was written"
    );

    let key = plaintext(ctx, "local");
    let resp = admin
        .put(
            &format!("{base}/local-llm"),
            json!({"api_key": key, "provider": "openai_compatible", "base_url": "http://127.0.0.1:9/v1"}),
        )
        .await?;
    let body = expect_status(&resp, 200)?;
    ensure_eq!(body.get("name"), Some(&json!("local-llm")), "name");
    ensure_eq!(
        body.get("base_url"),
        Some(&json!("http://127.0.0.1:9/v1")),
        "base_url"
    );
    ensure_eq!(
        body.get("provider"),
        Some(&json!("openai_compatible")),
        "provider"
    );
    not_leaked(&resp.text, &key, "the PUT response")
}
