//! API keys: the one-time secret, what is stored, listing, and what a key may grant.

use e2e::check::{
    expect_error_in, expect_id, expect_keys, expect_timestamp, no_secret_fields, not_leaked,
};
use e2e::seed::{
    admin_key, audit, create_key, create_project, create_user, expect_audit, expect_no_audit,
    field, list_all, now_ms, request_id, seed_tenant, Key,
};
use e2e::{case, ensure, ensure_eq, expect_error, expect_status, Case, Ctx};
use reqwest::Method;
use serde_json::{json, Value};

pub fn cases() -> Vec<Case> {
    vec![
        case!(key_secret_is_shown_once_and_never_stored),
        case!(key_environment_and_project_filter),
        case!(key_cannot_grant_more_than_allowed),
    ]
}

pub const KEY_FIELDS: [&str; 15] = [
    "object",
    "id",
    "org_id",
    "instance_id",
    "project_id",
    "user_id",
    "name",
    "prefix",
    "scopes",
    "environment",
    "created_at",
    "expires_at",
    "revoked_at",
    "last_rotated_at",
    "allowed_models",
];

/// `de_live_`/`de_test_` + 43 base62 chars.
pub fn expect_secret_format(secret: &str, env: &str) -> Result<(), String> {
    let rest = secret
        .strip_prefix(&format!("de_{env}_"))
        .ok_or_else(|| format!("secret does not start with de_{env}_"))?;
    ensure!(
        rest.len() == 43 && rest.chars().all(|c| c.is_ascii_alphanumeric()),
        "secret body is not 43 base62 chars (len {})",
        rest.len()
    );
    Ok(())
}

/// The create body is the key plus `secret`; GET shows the same key without it.
fn without_secret(body: &Value) -> Value {
    let mut v = body.clone();
    if let Some(obj) = v.as_object_mut() {
        obj.remove("secret");
    }
    v
}

/// The stored row holds the 12-char prefix and an HMAC that is not the secret; no column holds it.
pub async fn expect_row_has_no_secret(ctx: &Ctx, key: &Key) -> Result<(), String> {
    let rows = ctx
        .sql(&format!("SELECT * FROM api_keys WHERE id = '{}'", key.id))
        .await?;
    ensure_eq!(rows.len(), 1, "api_keys rows for {}", key.id);
    let row = rows.first().ok_or("no row")?;
    let text = serde_json::to_string(row).unwrap_or_default();
    not_leaked(&text, &key.secret, "the api_keys row")?;
    let hash = field(row, "key_hash")?;
    ensure!(
        hash != key.secret && !hash.is_empty(),
        "key_hash is the secret or empty"
    );
    let prefix: String = key.secret.chars().take(12).collect();
    ensure_eq!(row.get("prefix"), Some(&json!(prefix)), "stored prefix");
    Ok(())
}

async fn key_secret_is_shown_once_and_never_stored(ctx: &Ctx) -> Result<(), String> {
    let admin = ctx.admin();
    let t = seed_tenant(ctx, "keys").await?;
    let key = admin_key(ctx, &t.instance_id, json!({"name": "ci"})).await?;
    let mut fields = KEY_FIELDS.to_vec();
    fields.push("secret");
    expect_keys(&key.body, &fields)?;
    expect_id(&key.id, "key")?;
    expect_secret_format(&key.secret, "live")?;
    let prefix: String = key.secret.chars().take(12).collect();
    for (name, want) in [
        ("object", json!("api_key")),
        ("org_id", json!(t.org_id)),
        ("instance_id", json!(t.instance_id)),
        ("project_id", Value::Null),
        ("user_id", Value::Null),
        ("name", json!("ci")),
        ("prefix", json!(prefix)),
        ("scopes", json!(["generate"])),
        ("environment", json!("live")),
        ("expires_at", Value::Null),
        ("revoked_at", Value::Null),
        ("last_rotated_at", Value::Null),
    ] {
        ensure_eq!(key.body.get(name), Some(&want), "created key `{name}`");
    }
    expect_timestamp(&key.body, "created_at", now_ms())?;

    let path = format!("/admin/keys/{}", key.id);
    let got = admin.get(&path).await?;
    let body = expect_status(&got, 200)?;
    expect_keys(body, &KEY_FIELDS)?;
    no_secret_fields(body)?;
    not_leaked(&got.text, &key.secret, "GET /admin/keys/{id}")?;
    ensure_eq!(
        body,
        &without_secret(&key.body),
        "GET equals the created key without its secret"
    );
    let list = admin
        .get(&format!("/admin/instances/{}/keys", t.instance_id))
        .await?;
    ensure_eq!(list.data()?, &vec![body.clone()], "key list");
    no_secret_fields(&list.body)?;
    not_leaked(&list.text, &key.secret, "the key list")?;
    expect_row_has_no_secret(ctx, &key).await?;

    let me = ctx.with_key(&key.secret).get("/v1/me").await?;
    ensure_eq!(
        expect_status(&me, 200)?.get("key_id"),
        Some(&json!(key.id)),
        "GET /v1/me key_id"
    );

    expect_status(&admin.delete(&path).await?, 204)?;
    expect_error(&admin.get(&path).await?, 404, "not_found")?;
    expect_error_in(&ctx.with_key(&key.secret).get("/v1/me").await?, &[401])?;
    expect_audit(ctx, &t.org_id, "key.create", &key.id, "platform").await?;
    expect_audit(ctx, &t.org_id, "key.delete", &key.id, "platform").await?;
    let entries = serde_json::to_string(&audit(ctx, &t.org_id).await?).unwrap_or_default();
    not_leaked(&entries, &key.secret, "the audit log")
}

async fn key_environment_and_project_filter(ctx: &Ctx) -> Result<(), String> {
    let admin = ctx.admin();
    let t = seed_tenant(ctx, "keyenv").await?;
    let other = field(&create_project(ctx, &t.instance_id, "other").await?, "id")?;
    let test_key = admin_key(
        ctx,
        &t.instance_id,
        json!({"name": "test", "environment": "test", "project_id": t.project_id}),
    )
    .await?;
    expect_secret_format(&test_key.secret, "test")?;
    ensure_eq!(
        test_key.body.get("environment"),
        Some(&json!("test")),
        "environment"
    );
    ensure_eq!(
        test_key.body.get("project_id"),
        Some(&json!(t.project_id)),
        "project_id"
    );
    admin_key(
        ctx,
        &t.instance_id,
        json!({"name": "other", "project_id": other}),
    )
    .await?;
    // `models` restricts a key; the key shows it as `allowed_models`.
    let model = json!({"id": "m1", "provider": "openai", "upstream_model": "gpt-4o"});
    let models_path = format!("/admin/instances/{}/models", t.instance_id);
    expect_status(&admin.post(&models_path, model).await?, 201)?;
    let limited = admin_key(
        ctx,
        &t.instance_id,
        json!({"name": "instance-wide", "models": ["m1", "openai/gpt-4o"]}),
    )
    .await?;
    ensure_eq!(
        limited.body.get("allowed_models"),
        Some(&json!(["m1", "openai/gpt-4o"])),
        "allowed_models of a key created with models"
    );

    let path = format!("/admin/instances/{}/keys", t.instance_id);
    ensure_eq!(
        list_all(&admin, &path).await?.len(),
        3,
        "all keys of the instance"
    );
    let filtered = list_all(&admin, &format!("{path}?project_id={}", t.project_id)).await?;
    let ids: Vec<String> = filtered
        .iter()
        .filter_map(|k| field(k, "id").ok())
        .collect();
    ensure_eq!(
        ids,
        vec![test_key.id.clone()],
        "keys filtered by project_id"
    );
    Ok(())
}

/// A key cannot grant scopes it lacks; a member's key cannot get `admin:write`; a user needs access
/// to the instance. Each refusal writes nothing.
async fn key_cannot_grant_more_than_allowed(ctx: &Ctx) -> Result<(), String> {
    let t = seed_tenant(ctx, "grant").await?;
    let writer = admin_key(
        ctx,
        &t.instance_id,
        json!({"name": "writer", "scopes": ["admin:write"]}),
    )
    .await?;
    let as_writer = ctx.with_key(&writer.secret);
    // Allowed: scopes it has.
    create_key(
        ctx,
        &as_writer,
        &t.instance_id,
        json!({"name": "sub", "scopes": ["admin:read"]}),
    )
    .await?;
    let member = field(
        &create_user(ctx, &t.org_id, "member", &[t.instance_id.as_str()]).await?,
        "id",
    )?;
    let outsider = field(&create_user(ctx, &t.org_id, "member", &[]).await?, "id")?;
    let path = format!("/admin/instances/{}/keys", t.instance_id);
    let admin = ctx.admin();
    let before = list_all(&admin, &path).await?.len();
    let refusals = [
        (
            &as_writer,
            json!({"name": "more", "scopes": ["generate"]}),
            vec![403],
        ),
        (
            &as_writer,
            json!({"name": "more", "scopes": ["admin:write", "generate"]}),
            vec![403],
        ),
        (
            &admin,
            json!({"name": "m", "scopes": ["admin:write"], "user_id": member}),
            vec![400, 403, 422],
        ),
        (
            &admin,
            json!({"name": "o", "user_id": outsider}),
            vec![400, 403, 404, 422],
        ),
    ];
    for (api, body, statuses) in refusals {
        let rid = request_id("grant");
        let resp = api
            .send_with_id(Method::POST, &path, Some(body), &rid)
            .await?;
        expect_error_in(&resp, &statuses)?;
        expect_no_audit(ctx, &rid).await?;
    }
    ensure_eq!(
        list_all(&admin, &path).await?.len(),
        before,
        "keys after refusals"
    );
    Ok(())
}
