//! Sign-in for the interfaces (`/admin/session`): the cookie is HttpOnly, Secure, SameSite=Strict and short;
//! a session acts exactly as the token it was made from; mutations without the session's CSRF token are
//! refused and write nothing; signing out, or revoking the key, ends the session; forged or stray cookies
//! open nothing, and the generation API never accepts a cookie.

use e2e::seed::{admin_key, create_org, field, seed_tenant, unique};
use e2e::{case, ensure, ensure_eq, expect_error, expect_status, Case, Ctx};
use serde_json::{json, Value};

pub fn cases() -> Vec<Case> {
    vec![
        case!(the_platform_token_signs_in_with_a_strict_cookie_and_csrf_guards_changes),
        case!(a_key_session_sees_what_the_key_sees_and_ends_with_the_key),
        case!(forged_and_stray_cookies_open_nothing),
    ]
}

/// A signed-in browser: the cookie's value, its CSRF token and the `Set-Cookie` header as sent.
struct SignedIn {
    cookie: String,
    csrf: String,
    set_cookie: String,
    body: Value,
}

async fn sign_in(ctx: &Ctx, token: &str) -> Result<SignedIn, String> {
    let resp = ctx
        .anon()
        .post("/admin/session", json!({"token": token}))
        .await?;
    let body = expect_status(&resp, 200)?.clone();
    let set_cookie = resp
        .header("set-cookie")
        .ok_or_else(|| format!("no Set-Cookie: {}", resp.describe()))?
        .to_string();
    let cookie = set_cookie
        .split(';')
        .next()
        .and_then(|pair| pair.strip_prefix("de_session="))
        .ok_or_else(|| format!("not a de_session cookie: {set_cookie}"))?
        .to_string();
    let csrf = field(&body, "csrf_token")?;
    ensure!(
        !resp.text.contains(token),
        "the sign-in answer repeats the token: {}",
        resp.describe()
    );
    Ok(SignedIn {
        cookie,
        csrf,
        set_cookie,
        body,
    })
}

async fn the_platform_token_signs_in_with_a_strict_cookie_and_csrf_guards_changes(
    ctx: &Ctx,
) -> Result<(), String> {
    let s = sign_in(ctx, ctx.admin_token()).await?;
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=3600",
    ] {
        ensure!(
            s.set_cookie.split("; ").any(|a| a == attribute),
            "Set-Cookie lacks {attribute}: {}",
            s.set_cookie
        );
    }
    ensure_eq!(
        s.body
            .get("actor")
            .and_then(|a| a.get("kind"))
            .and_then(Value::as_str),
        Some("platform_admin"),
        "the session's actor: {}",
        s.body
    );
    // Reads need only the cookie; the page learns its CSRF token again after a reload.
    let browser = ctx.with_session(&s.cookie, None);
    expect_status(&browser.get("/admin/orgs").await?, 200)?;
    let again = browser.get("/admin/session").await?;
    ensure_eq!(
        field(expect_status(&again, 200)?, "csrf_token")?,
        s.csrf,
        "GET /admin/session gives the same CSRF token"
    );
    // A change without the CSRF token (what another site's form could send) is refused and writes nothing.
    let slug = unique("csrf");
    let org = json!({"name": "CSRF", "slug": slug});
    let refused = browser.post("/admin/orgs", org.clone()).await?;
    expect_error(&refused, 403, "csrf_token_invalid")?;
    let wrong = ctx.with_session(&s.cookie, Some(&"0".repeat(64)));
    expect_error(
        &wrong.post("/admin/orgs", org.clone()).await?,
        403,
        "csrf_token_invalid",
    )?;
    let rows = ctx
        .sql(&format!(
            "SELECT id FROM organizations WHERE slug = '{slug}'"
        ))
        .await?;
    ensure!(rows.is_empty(), "a refused change wrote: {rows:?}");
    let signed = ctx.with_session(&s.cookie, Some(&s.csrf));
    expect_status(&signed.post("/admin/orgs", org).await?, 201)?;
    // Signing out ends the session on the server, not only in the browser.
    let out = signed.delete("/admin/session").await?;
    ensure_eq!(out.status, 204, "sign-out: {}", out.describe());
    ensure!(
        out.header("set-cookie")
            .is_some_and(|c| c.contains("Max-Age=0")),
        "sign-out clears the cookie: {:?}",
        out.header("set-cookie")
    );
    expect_error(&browser.get("/admin/orgs").await?, 401, "invalid_session")?;
    Ok(())
}

async fn a_key_session_sees_what_the_key_sees_and_ends_with_the_key(
    ctx: &Ctx,
) -> Result<(), String> {
    let t = seed_tenant(ctx, "session-key").await?;
    let other = create_org(ctx, "session-other").await?;
    let other_id = field(&other, "id")?;
    let viewer = admin_key(
        ctx,
        &t.instance_id,
        json!({"name": "viewer", "scopes": ["admin:read"]}),
    )
    .await?;
    let s = sign_in(ctx, &viewer.secret).await?;
    ensure_eq!(
        s.body
            .get("actor")
            .and_then(|a| a.get("key_id"))
            .and_then(Value::as_str),
        Some(viewer.id.as_str()),
        "the session is the key's: {}",
        s.body
    );
    let browser = ctx.with_session(&s.cookie, Some(&s.csrf));
    let by_key = ctx.with_key(&viewer.secret);
    // Same answers as the key itself: its instance readable, another org not found, no changes.
    for path in [
        format!("/admin/instances/{}", t.instance_id),
        format!("/admin/orgs/{other_id}"),
        format!("/admin/instances/{}/keys", t.instance_id),
    ] {
        let (a, b) = (browser.get(&path).await?, by_key.get(&path).await?);
        ensure_eq!(
            a.status,
            b.status,
            "GET {path}: session {} vs key {}",
            a.describe(),
            b.describe()
        );
    }
    let change = json!({"name": "renamed"});
    let path = format!("/admin/instances/{}", t.instance_id);
    let (a, b) = (
        browser.patch(&path, change.clone()).await?,
        by_key.patch(&path, change).await?,
    );
    ensure_eq!(
        a.status,
        403,
        "a viewer's session cannot change: {}",
        a.describe()
    );
    ensure_eq!(
        a.body.pointer("/error/code"),
        b.body.pointer("/error/code"),
        "same refusal as the key"
    );
    // A generation-only key cannot sign in; a wrong token names the field.
    let gen = admin_key(
        ctx,
        &t.instance_id,
        json!({"name": "gen", "scopes": ["generate"]}),
    )
    .await?;
    let resp = ctx
        .anon()
        .post("/admin/session", json!({"token": gen.secret}))
        .await?;
    expect_error(&resp, 403, "insufficient_scope")?;
    let resp = ctx
        .anon()
        .post("/admin/session", json!({"token": "not-the-admin-token"}))
        .await?;
    expect_error(&resp, 401, "invalid_api_key")?.param_is("token")?;
    ensure!(
        resp.header("set-cookie").is_none(),
        "a refused sign-in sets no cookie"
    );
    // Revoking the key ends its session at once.
    let revoke = ctx
        .admin()
        .post(&format!("/admin/keys/{}/revoke", viewer.id), json!({}))
        .await?;
    expect_status(&revoke, 200)?;
    let after = browser
        .get(&format!("/admin/instances/{}", t.instance_id))
        .await?;
    ensure_eq!(
        after.status,
        401,
        "a revoked key's session: {}",
        after.describe()
    );
    Ok(())
}

async fn forged_and_stray_cookies_open_nothing(ctx: &Ctx) -> Result<(), String> {
    let forged = format!("des_{}", "a".repeat(64));
    for cookie in [forged.as_str(), "garbage", ""] {
        let resp = ctx.with_session(cookie, None).get("/admin/orgs").await?;
        ensure_eq!(resp.status, 401, "cookie {cookie:?}: {}", resp.describe());
    }
    let s = sign_in(ctx, ctx.admin_token()).await?;
    // A bearer token is judged on its own: a bad one with a good cookie is refused.
    let resp = ctx
        .with_key("de_live_0000000000000000000000000000000000000000000")
        .raw(
            reqwest::Method::GET,
            "/admin/orgs",
            None,
            &[("cookie", &format!("de_session={}", s.cookie))],
        )
        .await?;
    ensure_eq!(
        resp.status,
        401,
        "bad bearer + good cookie: {}",
        resp.describe()
    );
    // The generation API takes keys only.
    let resp = ctx
        .with_session(&s.cookie, Some(&s.csrf))
        .post(
            "/v1/chat/completions",
            json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await?;
    expect_error(&resp, 401, "missing_api_key")?;
    Ok(())
}
