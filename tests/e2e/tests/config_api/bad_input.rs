//! Bad input on every writing endpoint: a precise 4xx naming the field, never a 500, nothing written.

use e2e::check::{expect_error_in, not_500};
use e2e::seed::{audit, expect_no_audit_any, request_id, seed_tenant, unique, Tenant};
use e2e::{case, ensure, ensure_eq, expect_error, Case, Ctx};
use reqwest::Method;
use serde_json::{json, Value};

pub fn cases() -> Vec<Case> {
    vec![
        case!(malformed_json_is_400_invalid_json),
        case!(wrong_type_missing_and_unknown_fields_are_named),
        case!(oversize_body_is_413),
        case!(bad_id_in_path_is_400_invalid_id),
        case!(unknown_scope_is_400_naming_scopes),
        case!(invalid_names_and_slugs_are_refused),
    ]
}

/// A writing endpoint with a valid body and the field to break.
struct Endpoint {
    method: Method,
    path: String,
    valid: Value,
    /// A required string field (for wrong type / missing).
    required: &'static str,
}

fn endpoints(t: &Tenant) -> Vec<Endpoint> {
    let i = format!("/admin/instances/{}", t.instance_id);
    let ep = |method: Method, path: String, valid: Value, required: &'static str| Endpoint {
        method,
        path,
        valid,
        required,
    };
    vec![
        ep(
            Method::POST,
            "/admin/orgs".into(),
            json!({"name": "n", "slug": unique("b")}),
            "slug",
        ),
        ep(
            Method::POST,
            format!("/admin/orgs/{}/instances", t.org_id),
            json!({"name": "n", "slug": unique("b")}),
            "slug",
        ),
        ep(
            Method::POST,
            format!("{i}/projects"),
            json!({"name": "n", "slug": unique("b")}),
            "name",
        ),
        ep(
            Method::POST,
            format!("/admin/orgs/{}/users", t.org_id),
            json!({"email": "x@example.test", "name": "n", "role": "member"}),
            "email",
        ),
        ep(
            Method::POST,
            format!("{i}/keys"),
            json!({"name": "n"}),
            "name",
        ),
        ep(
            Method::PUT,
            format!("{i}/provider-keys/openai"),
            json!({"api_key": "sk-bad-input"}),
            "api_key",
        ),
        ep(
            Method::POST,
            format!("{i}/models"),
            json!({"id": "m", "provider": "openai", "upstream_model": "gpt-4o"}),
            "upstream_model",
        ),
    ]
}

/// (method, path, body bytes, status, code or "" for any, a field the message must name).
type Attempt = (Method, String, Vec<u8>, u16, &'static str, Option<String>);

/// Sends each refused request with its own request id, checks it, then checks nothing was written.
async fn refuse(ctx: &Ctx, t: &Tenant, attempts: Vec<Attempt>) -> Result<(), String> {
    let before = audit(ctx, &t.org_id).await?.len();
    let mut rids = Vec::new();
    let mut findings = Vec::new();
    for (method, path, body, status, code, names) in attempts {
        let rid = request_id("bad");
        let resp = ctx
            .admin()
            .raw(method, &path, Some(body), &[("x-request-id", rid.as_str())])
            .await?;
        let verdict = not_500(&resp).and_then(|()| {
            let err = expect_error_in(&resp, &[status])?;
            if !code.is_empty() {
                err.code_is(code)?;
            }
            match names {
                Some(field) => err.message_contains(&field).map(|_| ()),
                None => Ok(()),
            }
        });
        if let Err(e) = verdict {
            findings.push(e);
        }
        rids.push(rid);
    }
    let after = audit(ctx, &t.org_id).await?.len();
    if after != before {
        findings.push(format!(
            "audit entries {before} -> {after} after refused requests"
        ));
    }
    // Also across orgs (a refused org create would have written under a new org): one D1 read.
    if let Err(e) = expect_no_audit_any(ctx, &rids).await {
        findings.push(e);
    }
    ensure!(
        findings.is_empty(),
        "{} of {} requests:\n    {}",
        findings.len(),
        rids.len(),
        findings.join("\n    ")
    );
    Ok(())
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

async fn malformed_json_is_400_invalid_json(ctx: &Ctx) -> Result<(), String> {
    let t = seed_tenant(ctx, "badjson").await?;
    let mut attempts = Vec::new();
    for ep in endpoints(&t) {
        for raw in ["{\"name\": ", "not json", "", "[1,2"] {
            attempts.push((
                ep.method.clone(),
                ep.path.clone(),
                raw.as_bytes().to_vec(),
                400,
                "invalid_json",
                None,
            ));
        }
        // Valid JSON that is not an object.
        attempts.push((
            ep.method.clone(),
            ep.path.clone(),
            b"[]".to_vec(),
            400,
            "",
            None,
        ));
    }
    let patch = format!("/admin/projects/{}", t.project_id);
    attempts.push((
        Method::PATCH,
        patch,
        b"{,}".to_vec(),
        400,
        "invalid_json",
        None,
    ));
    refuse(ctx, &t, attempts).await
}

async fn wrong_type_missing_and_unknown_fields_are_named(ctx: &Ctx) -> Result<(), String> {
    let t = seed_tenant(ctx, "badfields").await?;
    let mut attempts = Vec::new();
    for ep in endpoints(&t) {
        let with = |name: &str, value: Value| {
            let mut v = ep.valid.clone();
            if let Some(obj) = v.as_object_mut() {
                obj.insert(name.to_string(), value);
            }
            v
        };
        let field = ep.required.to_string();
        let mut missing = ep.valid.clone();
        if let Some(obj) = missing.as_object_mut() {
            obj.remove(ep.required);
        }
        let (m, p) = (ep.method.clone(), ep.path.clone());
        attempts.push((
            m.clone(),
            p.clone(),
            bytes(&with(ep.required, json!(5))),
            400,
            "",
            Some(field.clone()),
        ));
        attempts.push((
            m.clone(),
            p.clone(),
            bytes(&missing),
            400,
            "missing_field",
            Some(field),
        ));
        let unknown = bytes(&with("colour", json!("blue")));
        attempts.push((m, p, unknown, 400, "unknown_field", Some("colour".into())));
    }
    let patch = format!("/admin/projects/{}", t.project_id);
    attempts.push((
        Method::PATCH,
        patch.clone(),
        bytes(&json!({"name": 5})),
        400,
        "",
        Some("name".into()),
    ));
    attempts.push((
        Method::PATCH,
        patch.clone(),
        bytes(&json!({"slug2": "x"})),
        400,
        "unknown_field",
        Some("slug2".into()),
    ));
    let org = format!("/admin/orgs/{}", t.org_id);
    attempts.push((
        Method::PATCH,
        org,
        bytes(&json!({"name": null})),
        400,
        "",
        Some("name".into()),
    ));
    refuse(ctx, &t, attempts).await
}

async fn oversize_body_is_413(ctx: &Ctx) -> Result<(), String> {
    let t = seed_tenant(ctx, "oversize").await?;
    let big = "x".repeat(70 * 1024);
    let mut attempts = Vec::new();
    for ep in endpoints(&t) {
        let mut v = ep.valid.clone();
        if let Some(obj) = v.as_object_mut() {
            obj.insert("name".into(), json!(big));
        }
        attempts.push((ep.method, ep.path, bytes(&v), 413, "body_too_large", None));
    }
    refuse(ctx, &t, attempts).await
}

async fn bad_id_in_path_is_400_invalid_id(ctx: &Ctx) -> Result<(), String> {
    let admin = ctx.admin();
    let valid_org_shape = "org_01ARYZ6S41TSV4RRFFQ69G5FAV";
    let paths = [
        "/admin/orgs/nope".to_string(),
        "/admin/orgs/nope/instances".to_string(),
        "/admin/orgs/nope/audit".to_string(),
        "/admin/instances/nope".to_string(),
        format!("/admin/instances/{valid_org_shape}"),
        "/admin/projects/prj_tooshort".to_string(),
        "/admin/users/usr_01ARYZ6S41TSV4RRFFQ69G5FAU!".to_string(),
        "/admin/keys/key_01arYZ6S41TSV4RRFFQ69G5FAV".to_string(),
        "/admin/instances/nope/models".to_string(),
    ];
    for path in paths {
        expect_error(&admin.get(&path).await?, 400, "invalid_id")?;
    }
    expect_error(
        &admin
            .patch("/admin/orgs/nope", json!({"name": "x"}))
            .await?,
        400,
        "invalid_id",
    )?;
    expect_error(
        &admin.delete("/admin/projects/nope").await?,
        400,
        "invalid_id",
    )?;
    // A well-formed id that does not exist is 404, not 400.
    let missing = admin
        .get("/admin/orgs/org_01ARYZ6S41TSV4RRFFQ69G5FAV")
        .await?;
    expect_error(&missing, 404, "not_found")?;
    Ok(())
}

async fn unknown_scope_is_400_naming_scopes(ctx: &Ctx) -> Result<(), String> {
    let t = seed_tenant(ctx, "badscope").await?;
    let path = format!("/admin/instances/{}/keys", t.instance_id);
    let attempts = [
        json!(["generate", "admin"]),
        json!(["root"]),
        json!("generate"),
        json!([5]),
    ]
    .into_iter()
    .map(|scopes| {
        (
            Method::POST,
            path.clone(),
            bytes(&json!({"name": "k", "scopes": scopes})),
            400,
            "",
            Some("scopes".to_string()),
        )
    })
    .collect();
    refuse(ctx, &t, attempts).await?;
    let resp = ctx
        .admin()
        .post(&path, json!({"name": "k", "scopes": ["generate", "admin"]}))
        .await?;
    expect_error_in(&resp, &[400])?.message_contains("scopes[1]")?;
    ensure!(
        e2e::seed::list_all(&ctx.admin(), &path).await?.is_empty(),
        "a refused key was written"
    );
    Ok(())
}

async fn invalid_names_and_slugs_are_refused(ctx: &Ctx) -> Result<(), String> {
    let t = seed_tenant(ctx, "badnames").await?;
    let path = format!("/admin/orgs/{}/instances", t.org_id);
    let long_slug = "a".repeat(49);
    let bodies = [
        (json!({"name": "n".repeat(65), "slug": unique("s")}), "name"),
        (json!({"name": "", "slug": unique("s")}), "name"),
        (json!({"name": "   ", "slug": unique("s")}), "name"),
        (json!({"name": "bell\u{7}", "slug": unique("s")}), "name"),
        (json!({"name": "n", "slug": "Upper"}), "slug"),
        (json!({"name": "n", "slug": "-leading"}), "slug"),
        (json!({"name": "n", "slug": "has space"}), "slug"),
        (json!({"name": "n", "slug": long_slug}), "slug"),
        (json!({"name": "n", "slug": ""}), "slug"),
        (
            json!({"name": "n", "slug": unique("s"), "pinned": "yes"}),
            "pinned",
        ),
    ];
    let mut findings = Vec::new();
    let before = audit(ctx, &t.org_id).await?.len();
    for (body, field) in bodies {
        let resp = ctx.admin().post(&path, body).await?;
        not_500(&resp)?;
        if let Err(e) =
            expect_error_in(&resp, &[400, 422]).and_then(|e| e.message_contains(field).map(|_| ()))
        {
            findings.push(e);
        }
    }
    let keys = format!("/admin/instances/{}/keys", t.instance_id);
    for body in [
        json!({"name": "k", "environment": "prod"}),
        json!({"name": "k", "expires_at": "soon"}),
    ] {
        let resp = ctx.admin().post(&keys, body).await?;
        if let Err(e) = expect_error_in(&resp, &[400, 422]) {
            findings.push(e);
        }
    }
    ensure!(findings.is_empty(), "{}", findings.join("\n    "));
    ensure_eq!(
        audit(ctx, &t.org_id).await?.len(),
        before,
        "audit entries after refused requests"
    );
    Ok(())
}
