//! Authentication: which tokens are accepted, how failures look, and `GET /v1/me`.

use e2e::check::{expect_error_in, expect_keys, no_secret_fields};
use e2e::seed::{admin_key, create_user, field, now_ms, seed_tenant};
use e2e::{case, ensure_eq, expect_error, expect_status, Case, Ctx};
use reqwest::Method;
use serde_json::{json, Value};

pub fn cases() -> Vec<Case> {
    vec![
        case!(no_token_is_401_missing_api_key),
        case!(garbage_token_is_401),
        case!(wrong_bootstrap_token_is_401),
        case!(x_api_key_header_works_like_bearer),
        case!(me_for_the_bootstrap_token),
        case!(me_for_api_keys),
    ]
}

const ME_FIELDS: [&str; 13] = [
    "object",
    "kind",
    "key_id",
    "key_prefix",
    "name",
    "org_id",
    "instance_id",
    "project_id",
    "user_id",
    "role",
    "scopes",
    "expires_at",
    "allowed_models",
];

async fn no_token_is_401_missing_api_key(ctx: &Ctx) -> Result<(), String> {
    for path in ["/admin/orgs", "/v1/me"] {
        let resp = ctx.anon().get(path).await?;
        expect_error(&resp, 401, "missing_api_key")?;
    }
    let resp = ctx
        .anon()
        .post("/admin/orgs", json!({"name": "x", "slug": "x"}))
        .await?;
    expect_error(&resp, 401, "missing_api_key")?;
    Ok(())
}

async fn garbage_token_is_401(ctx: &Ctx) -> Result<(), String> {
    let well_formed_unknown = format!("de_live_{}", "A".repeat(43));
    for token in ["garbage", "de_live_short", well_formed_unknown.as_str()] {
        let resp = ctx.with_key(token).get("/v1/me").await?;
        expect_error(&resp, 401, "invalid_api_key")?;
        let resp = ctx.with_x_api_key(token).get("/admin/orgs").await?;
        expect_error(&resp, 401, "invalid_api_key")?;
    }
    Ok(())
}

async fn wrong_bootstrap_token_is_401(ctx: &Ctx) -> Result<(), String> {
    let token = ctx.admin_token();
    let mut flipped: String = token
        .chars()
        .take(token.chars().count().saturating_sub(1))
        .collect();
    flipped.push(if token.ends_with('0') { '1' } else { '0' });
    let longer = format!("{token}0");
    let prefix_only: String = token.chars().take(9).collect();
    for wrong in [flipped.as_str(), longer.as_str(), prefix_only.as_str()] {
        let resp = ctx.with_key(wrong).get("/admin/orgs").await?;
        expect_error(&resp, 401, "invalid_api_key")?;
    }
    // The right token under another scheme is not a Bearer token.
    let basic = format!("Basic {token}");
    let resp = ctx
        .anon()
        .raw(
            Method::GET,
            "/admin/orgs",
            None,
            &[("authorization", basic.as_str())],
        )
        .await?;
    expect_error_in(&resp, &[401])?;
    Ok(())
}

async fn x_api_key_header_works_like_bearer(ctx: &Ctx) -> Result<(), String> {
    let admin = ctx.with_x_api_key(ctx.admin_token());
    let me = admin.get("/v1/me").await?;
    ensure_eq!(
        expect_status(&me, 200)?,
        &json!({"object": "principal", "kind": "platform_admin"}),
        "GET /v1/me with x-api-key admin token"
    );
    expect_status(&admin.get("/admin/orgs").await?, 200)?;
    let tenant = seed_tenant(ctx, "xapikey").await?;
    let key = admin_key(ctx, &tenant.instance_id, json!({"name": "x-api-key"})).await?;
    let me = ctx.with_x_api_key(&key.secret).get("/v1/me").await?;
    let body = expect_status(&me, 200)?;
    ensure_eq!(
        body.get("key_id"),
        Some(&json!(key.id)),
        "GET /v1/me key_id via x-api-key"
    );
    Ok(())
}

async fn me_for_the_bootstrap_token(ctx: &Ctx) -> Result<(), String> {
    let resp = ctx.admin().get("/v1/me").await?;
    ensure_eq!(
        expect_status(&resp, 200)?,
        &json!({"object": "principal", "kind": "platform_admin"}),
        "GET /v1/me for the bootstrap token"
    );
    Ok(())
}

/// A project-bound service key with an expiry, and a member user's key: every documented field.
async fn me_for_api_keys(ctx: &Ctx) -> Result<(), String> {
    let t = seed_tenant(ctx, "me").await?;
    let expires_at = now_ms() + 3_600_000;
    let service = admin_key(
        ctx,
        &t.instance_id,
        json!({"name": "ci", "scopes": ["generate", "admin:read"], "project_id": t.project_id,
               "expires_at": expires_at, "environment": "test"}),
    )
    .await?;
    let want = json!({
        "object": "principal", "kind": "api_key", "key_id": service.id,
        "key_prefix": service.secret.chars().take(12).collect::<String>(), "name": "ci",
        "org_id": t.org_id, "instance_id": t.instance_id, "project_id": t.project_id,
        "user_id": null, "role": null, "scopes": ["generate", "admin:read"], "expires_at": expires_at,
        "allowed_models": null,
    });
    check_me(ctx, &service.secret, &want).await?;

    let user = create_user(ctx, &t.org_id, "member", &[t.instance_id.as_str()]).await?;
    let user_id = field(&user, "id")?;
    let member = admin_key(
        ctx,
        &t.instance_id,
        json!({"name": "member key", "user_id": user_id}),
    )
    .await?;
    let want = json!({
        "object": "principal", "kind": "api_key", "key_id": member.id,
        "key_prefix": member.secret.chars().take(12).collect::<String>(), "name": "member key",
        "org_id": t.org_id, "instance_id": t.instance_id, "project_id": null,
        "user_id": user_id, "role": "member", "scopes": ["generate"], "expires_at": null,
        "allowed_models": null,
    });
    check_me(ctx, &member.secret, &want).await
}

async fn check_me(ctx: &Ctx, secret: &str, want: &Value) -> Result<(), String> {
    let resp = ctx.with_key(secret).get("/v1/me").await?;
    let body = expect_status(&resp, 200)?;
    expect_keys(body, &ME_FIELDS)?;
    no_secret_fields(body)?;
    ensure_eq!(body, want, "GET /v1/me body");
    e2e::check::not_leaked(&resp.text, secret, "GET /v1/me")
}
