//! Uniqueness: a duplicate is `409 conflict_error` and writes nothing; the same name elsewhere is fine.

use e2e::seed::{
    create_instance, create_org, expect_no_audit, field, list_all, request_id, seed_tenant, unique,
};
use e2e::{case, ensure_eq, expect_error, expect_status, Case, Ctx};
use reqwest::Method;
use serde_json::{json, Value};

pub fn cases() -> Vec<Case> {
    vec![
        case!(duplicate_org_slug),
        case!(duplicate_instance_slug_in_org),
        case!(duplicate_project_slug_in_instance),
        case!(duplicate_user_email_in_org),
        case!(duplicate_model_id_in_instance),
    ]
}

/// POSTs `body` to `path` (expecting 201), then again (expecting 409 conflict); checks that `list`
/// still has `expected_len` items and that the refused request wrote no audit row.
async fn expect_conflict(
    ctx: &Ctx,
    path: &str,
    body: Value,
    list: &str,
    expected_len: usize,
) -> Result<(), String> {
    let admin = ctx.admin();
    expect_status(&admin.post(path, body.clone()).await?, 201)?;
    let rid = request_id("dup");
    let resp = admin
        .send_with_id(Method::POST, path, Some(body), &rid)
        .await?;
    expect_error(&resp, 409, "conflict")?;
    ensure_eq!(
        list_all(&admin, list).await?.len(),
        expected_len,
        "{list} after a 409"
    );
    expect_no_audit(ctx, &rid).await
}

async fn duplicate_org_slug(ctx: &Ctx) -> Result<(), String> {
    let slug = unique("dup-org");
    let admin = ctx.admin();
    let body = json!({"name": "First", "slug": slug});
    expect_status(&admin.post("/admin/orgs", body).await?, 201)?;
    let rid = request_id("dup-org");
    let again = json!({"name": "Second", "slug": slug});
    let resp = admin
        .send_with_id(Method::POST, "/admin/orgs", Some(again), &rid)
        .await?;
    expect_error(&resp, 409, "conflict")?;
    let rows = ctx
        .sql(&format!(
            "SELECT name FROM organizations WHERE slug = '{slug}'"
        ))
        .await?;
    ensure_eq!(rows, vec![json!({"name": "First"})], "orgs with the slug");
    expect_no_audit(ctx, &rid).await
}

async fn duplicate_instance_slug_in_org(ctx: &Ctx) -> Result<(), String> {
    let a = field(&create_org(ctx, "dupins-a").await?, "id")?;
    let b = field(&create_org(ctx, "dupins-b").await?, "id")?;
    let slug = unique("shared");
    let path = format!("/admin/orgs/{a}/instances");
    expect_conflict(ctx, &path, json!({"name": "I", "slug": slug}), &path, 1).await?;
    // The same slug in another org is fine.
    let resp = ctx
        .admin()
        .post(
            &format!("/admin/orgs/{b}/instances"),
            json!({"name": "I", "slug": slug}),
        )
        .await?;
    expect_status(&resp, 201)?;
    Ok(())
}

async fn duplicate_project_slug_in_instance(ctx: &Ctx) -> Result<(), String> {
    let t = seed_tenant(ctx, "dupprj").await?;
    let other = field(&create_instance(ctx, &t.org_id, "dupprj2").await?, "id")?;
    let slug = unique("web");
    let path = format!("/admin/instances/{}/projects", t.instance_id);
    // The seeded project plus the first of the two.
    expect_conflict(ctx, &path, json!({"name": "P", "slug": slug}), &path, 2).await?;
    let resp = ctx
        .admin()
        .post(
            &format!("/admin/instances/{other}/projects"),
            json!({"name": "P", "slug": slug}),
        )
        .await?;
    expect_status(&resp, 201)?;
    Ok(())
}

async fn duplicate_user_email_in_org(ctx: &Ctx) -> Result<(), String> {
    let a = field(&create_org(ctx, "dupusr-a").await?, "id")?;
    let b = field(&create_org(ctx, "dupusr-b").await?, "id")?;
    let email = format!("{}@example.test", unique("same"));
    let path = format!("/admin/orgs/{a}/users");
    let body = json!({"email": email, "name": "U", "role": "member"});
    expect_conflict(ctx, &path, body.clone(), &path, 1).await?;
    expect_status(
        &ctx.admin()
            .post(&format!("/admin/orgs/{b}/users"), body)
            .await?,
        201,
    )?;
    Ok(())
}

async fn duplicate_model_id_in_instance(ctx: &Ctx) -> Result<(), String> {
    let t = seed_tenant(ctx, "dupmodel").await?;
    let other = field(&create_instance(ctx, &t.org_id, "dupmodel2").await?, "id")?;
    let body = json!({"id": "chat", "provider": "openai", "upstream_model": "gpt-4o"});
    let path = format!("/admin/instances/{}/models", t.instance_id);
    expect_conflict(ctx, &path, body.clone(), &path, 1).await?;
    expect_status(
        &ctx.admin()
            .post(&format!("/admin/instances/{other}/models"), body)
            .await?,
        201,
    )?;
    Ok(())
}
