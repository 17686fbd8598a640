//! API key lifecycle: revoke, expiry, rotation; each takes effect on the very next request.

use std::time::{Duration, Instant};

use e2e::check::{expect_error_in, expect_keys, not_leaked};
use e2e::seed::{
    admin_key, expect_audit, expect_no_audit, field, list_all, now_ms, request_id, seed_tenant,
};
use e2e::{case, ensure, ensure_eq, expect_error, expect_status, Case, Ctx};
use reqwest::Method;
use serde_json::{json, Value};

use crate::keys::{expect_row_has_no_secret, expect_secret_format, KEY_FIELDS};

pub fn cases() -> Vec<Case> {
    vec![
        case!(revoke_stops_the_key_on_the_next_request),
        case!(key_expires_at_its_time),
        case!(expires_at_in_the_past_is_422),
        case!(rotate_replaces_the_secret),
    ]
}

async fn revoke_stops_the_key_on_the_next_request(ctx: &Ctx) -> Result<(), String> {
    let admin = ctx.admin();
    let t = seed_tenant(ctx, "revoke").await?;
    let key = admin_key(
        ctx,
        &t.instance_id,
        json!({"name": "soon revoked", "scopes": ["admin:read"]}),
    )
    .await?;
    let as_key = ctx.with_key(&key.secret);
    // Warm the principal cache so the revoke has to evict it.
    expect_status(&as_key.get("/v1/me").await?, 200)?;
    expect_status(
        &as_key
            .get(&format!("/admin/instances/{}", t.instance_id))
            .await?,
        200,
    )?;

    let path = format!("/admin/keys/{}/revoke", key.id);
    let resp = admin.post(&path, json!({})).await?;
    let revoked = expect_status(&resp, 200)?.clone();
    expect_keys(&revoked, &KEY_FIELDS)?;
    let revoked_at = revoked
        .get("revoked_at")
        .and_then(Value::as_i64)
        .ok_or_else(|| format!("revoked_at not set: {revoked}"))?;
    expect_error(&as_key.get("/v1/me").await?, 401, "key_revoked")?;
    expect_error(
        &as_key
            .get(&format!("/admin/instances/{}", t.instance_id))
            .await?,
        401,
        "key_revoked",
    )?;

    // Idempotent: the same key, the same revoked_at.
    let again = admin.post(&path, json!({})).await?;
    ensure_eq!(
        expect_status(&again, 200)?.get("revoked_at"),
        Some(&json!(revoked_at)),
        "revoked_at on re-revoke"
    );
    let got = admin.get(&format!("/admin/keys/{}", key.id)).await?;
    ensure_eq!(
        expect_status(&got, 200)?.get("revoked_at"),
        Some(&json!(revoked_at)),
        "GET revoked_at"
    );
    expect_audit(ctx, &t.org_id, "key.revoke", &key.id, "platform").await
}

async fn key_expires_at_its_time(ctx: &Ctx) -> Result<(), String> {
    let t = seed_tenant(ctx, "expiry").await?;
    let expires_at = now_ms() + 3_000;
    let key = admin_key(
        ctx,
        &t.instance_id,
        json!({"name": "short", "expires_at": expires_at}),
    )
    .await?;
    ensure_eq!(
        key.body.get("expires_at"),
        Some(&json!(expires_at)),
        "expires_at"
    );
    let as_key = ctx.with_key(&key.secret);
    let first = as_key.get("/v1/me").await?;
    if now_ms() < expires_at {
        expect_status(&first, 200)?;
    }
    // Poll (bounded) until the key is refused; it must not be refused before its time.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let resp = as_key.get("/v1/me").await?;
        let seen_at = now_ms();
        if resp.status == 401 {
            expect_error(&resp, 401, "key_expired")?;
            ensure!(
                seen_at >= expires_at,
                "refused {}ms before expires_at",
                expires_at - seen_at
            );
            return Ok(());
        }
        expect_status(&resp, 200)?;
        ensure!(
            Instant::now() < deadline,
            "still accepted {}ms after expires_at",
            seen_at - expires_at
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn expires_at_in_the_past_is_422(ctx: &Ctx) -> Result<(), String> {
    let t = seed_tenant(ctx, "pastexp").await?;
    let path = format!("/admin/instances/{}/keys", t.instance_id);
    let rid = request_id("pastexp");
    let body = json!({"name": "stale", "expires_at": now_ms() - 1_000});
    let resp = ctx
        .admin()
        .send_with_id(Method::POST, &path, Some(body), &rid)
        .await?;
    expect_error(&resp, 422, "invalid_value")?.message_contains("expires_at")?;
    ensure!(
        list_all(&ctx.admin(), &path).await?.is_empty(),
        "a rejected key was written"
    );
    expect_no_audit(ctx, &rid).await
}

async fn rotate_replaces_the_secret(ctx: &Ctx) -> Result<(), String> {
    let admin = ctx.admin();
    let t = seed_tenant(ctx, "rotate").await?;
    let key = admin_key(
        ctx,
        &t.instance_id,
        json!({"name": "rotating", "scopes": ["generate", "admin:read"], "environment": "test"}),
    )
    .await?;
    let old = ctx.with_key(&key.secret);
    expect_status(&old.get("/v1/me").await?, 200)?;

    let resp = admin
        .post(&format!("/admin/keys/{}/rotate", key.id), json!({}))
        .await?;
    let rotated = expect_status(&resp, 200)?.clone();
    let new_secret = field(&rotated, "secret")?;
    ctx.remember_secret(&new_secret);
    let mut fields = KEY_FIELDS.to_vec();
    fields.push("secret");
    expect_keys(&rotated, &fields)?;
    expect_secret_format(&new_secret, "test")?;
    ensure!(new_secret != key.secret, "rotate returned the old secret");
    for name in [
        "id",
        "name",
        "scopes",
        "environment",
        "instance_id",
        "created_at",
    ] {
        ensure_eq!(
            rotated.get(name),
            key.body.get(name),
            "`{name}` after rotate"
        );
    }
    ensure!(
        rotated.get("last_rotated_at").is_some_and(Value::is_i64),
        "last_rotated_at not set: {rotated}"
    );
    ensure_eq!(
        rotated.get("prefix"),
        Some(&json!(new_secret.chars().take(12).collect::<String>())),
        "prefix after rotate"
    );

    expect_error_in(&old.get("/v1/me").await?, &[401])?;
    let me = ctx.with_key(&new_secret).get("/v1/me").await?;
    ensure_eq!(
        expect_status(&me, 200)?.get("key_id"),
        Some(&json!(key.id)),
        "key_id with the new secret"
    );

    let got = admin.get(&format!("/admin/keys/{}", key.id)).await?;
    not_leaked(&got.text, &new_secret, "GET after rotate")?;
    let new_key = e2e::seed::Key {
        id: key.id.clone(),
        secret: new_secret,
        body: rotated,
    };
    expect_row_has_no_secret(ctx, &new_key).await?;
    expect_audit(ctx, &t.org_id, "key.rotate", &key.id, "platform").await
}
