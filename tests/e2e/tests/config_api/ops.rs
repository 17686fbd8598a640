//! Liveness, readiness, unknown routes and the `x-request-id` contract.

use e2e::check::expect_error_in;
use e2e::seed::create_org;
use e2e::{case, ensure, ensure_eq, expect_error, expect_status, Case, Ctx};
use reqwest::Method;
use serde_json::json;

pub fn cases() -> Vec<Case> {
    vec![
        case!(health_is_ok),
        case!(ready_reports_d1_and_kv),
        case!(unknown_route_is_404_envelope),
        case!(wrong_method_is_405),
        case!(every_response_has_a_request_id),
        case!(caller_request_id_is_echoed),
    ]
}

async fn health_is_ok(ctx: &Ctx) -> Result<(), String> {
    let resp = ctx.anon().get("/health").await?;
    ensure_eq!(
        expect_status(&resp, 200)?,
        &json!({"status": "ok"}),
        "GET /health body"
    );
    Ok(())
}

async fn ready_reports_d1_and_kv(ctx: &Ctx) -> Result<(), String> {
    let resp = ctx.anon().get("/ready").await?;
    let body = expect_status(&resp, 200)?;
    ensure_eq!(
        body,
        &json!({"status": "ready", "checks": {"d1": "ok", "kv": "ok"}}),
        "GET /ready body"
    );
    Ok(())
}

async fn unknown_route_is_404_envelope(ctx: &Ctx) -> Result<(), String> {
    let resp = ctx.anon().get("/no/such/route").await?;
    expect_error(&resp, 404, "route_not_found")?;
    // Under /admin, with valid credentials, an unknown path is still a route 404.
    let resp = ctx.admin().get("/admin/no-such-thing").await?;
    expect_error(&resp, 404, "route_not_found")?;
    let resp = ctx.admin().get("/v1/no-such-thing").await?;
    expect_error(&resp, 404, "route_not_found")?;
    Ok(())
}

/// 405 and 404 derive from the one route table (a second list of "known paths" had drifted from it:
/// rate-limit and usage paths answered 404 to a wrong method).
async fn wrong_method_is_405(ctx: &Ctx) -> Result<(), String> {
    let admin = ctx.admin();
    let resp = admin.delete("/admin/orgs").await?;
    expect_error(&resp, 405, "method_not_allowed")?;
    let ins = "ins_00000000000000000000000000";
    for path in [
        format!("/admin/instances/{ins}/rate-limits"),
        format!("/admin/instances/{ins}/rate-limits/key/x"),
        format!("/admin/instances/{ins}/usage"),
        "/v1/me".to_string(),
    ] {
        let resp = admin.patch(&path, json!({})).await?;
        expect_error(&resp, 405, "method_not_allowed")?;
    }
    let resp = admin
        .get(&format!("/admin/instances/{ins}/nothing"))
        .await?;
    expect_error(&resp, 404, "route_not_found")?;
    Ok(())
}

async fn every_response_has_a_request_id(ctx: &Ctx) -> Result<(), String> {
    let admin = ctx.admin();
    let org = create_org(ctx, "reqid").await?;
    let org_id = e2e::seed::field(&org, "id")?;
    let responses = vec![
        ctx.anon().get("/health").await?,
        ctx.anon().get("/ready").await?,
        ctx.anon().get("/nowhere").await?,
        ctx.anon().get("/admin/orgs").await?,
        admin.get("/admin/orgs/nope").await?,
        admin.get(&format!("/admin/orgs/{org_id}")).await?,
        admin
            .post(
                &format!("/admin/orgs/{org_id}/instances"),
                json!({"name": "x"}),
            )
            .await?,
        admin.delete(&format!("/admin/orgs/{org_id}")).await?,
        admin.get(&format!("/admin/orgs/{org_id}")).await?,
    ];
    let mut seen = Vec::new();
    for resp in &responses {
        let id = resp
            .request_id()
            .filter(|id| !id.is_empty())
            .ok_or_else(|| format!("no x-request-id on {}", resp.describe()))?;
        ensure!(
            !seen.contains(&id),
            "x-request-id {id} repeated on {}",
            resp.describe()
        );
        seen.push(id);
    }
    Ok(())
}

/// The caller's `x-request-id` is never ours (usage and audit rows are keyed by our ids, so a caller could
/// otherwise overwrite or forge them): responses carry our `req_…` id in `x-request-id` and the caller's
/// in `x-client-request-id`; an error's `request_id` is ours.
async fn caller_request_id_is_echoed(ctx: &Ctx) -> Result<(), String> {
    let sent = "abc-123";
    let ours = |resp: &e2e::client::Resp, what: &str| -> Result<(), String> {
        let id = resp.request_id().unwrap_or_default();
        ensure!(
            id.starts_with("req_") && id != sent,
            "x-request-id on {what} is {id:?}"
        );
        ensure_eq!(
            resp.header("x-client-request-id"),
            Some(sent),
            "x-client-request-id on {what}"
        );
        Ok(())
    };
    let ok = ctx
        .anon()
        .raw(Method::GET, "/health", None, &[("x-request-id", sent)])
        .await?;
    expect_status(&ok, 200)?;
    ours(&ok, "/health")?;
    let err = ctx
        .admin()
        .raw(
            Method::GET,
            "/admin/orgs/nope",
            None,
            &[("x-request-id", sent)],
        )
        .await?;
    expect_error_in(&err, &[400])?;
    ours(&err, "an error")?;
    ensure_eq!(
        err.body
            .pointer("/error/request_id")
            .and_then(serde_json::Value::as_str),
        err.request_id(),
        "error.request_id is the x-request-id header"
    );
    let unauth = ctx
        .anon()
        .raw(Method::GET, "/v1/me", None, &[("x-request-id", sent)])
        .await?;
    expect_error_in(&unauth, &[401])?;
    ours(&unauth, "a 401")?;
    // A value that is not sane (markup, far too long) is replaced by a generated id.
    let insane = format!("<script>{}", "a".repeat(400));
    let resp = ctx
        .anon()
        .raw(
            Method::GET,
            "/health",
            None,
            &[("x-request-id", insane.as_str())],
        )
        .await?;
    let got = resp.request_id().unwrap_or_default();
    ensure!(
        !got.is_empty() && got != insane,
        "an insane x-request-id was echoed back"
    );
    Ok(())
}
