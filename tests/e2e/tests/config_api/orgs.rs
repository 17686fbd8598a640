//! Organizations: CRUD, audit entries, and the cascade on delete.

use e2e::check::{expect_id, expect_keys, expect_timestamp};
use e2e::seed::{
    admin_key, audit, create_user, expect_audit, field, find_audit, list_all, now_ms, seed_tenant,
    unique,
};
use e2e::{case, ensure, ensure_eq, expect_error, expect_status, Case, Ctx};
use serde_json::{json, Value};

pub fn cases() -> Vec<Case> {
    vec![
        case!(org_crud_and_audit),
        case!(org_name_is_trimmed),
        case!(org_delete_cascades),
    ]
}

pub const ORG_FIELDS: [&str; 6] = ["object", "id", "name", "slug", "created_at", "updated_at"];
const AUDIT_FIELDS: [&str; 11] = [
    "object",
    "id",
    "org_id",
    "instance_id",
    "actor",
    "action",
    "target_type",
    "target_id",
    "request_id",
    "detail",
    "created_at",
];

async fn org_crud_and_audit(ctx: &Ctx) -> Result<(), String> {
    let admin = ctx.admin();
    let slug = unique("crud");
    let created = admin
        .post("/admin/orgs", json!({"name": "Acme", "slug": slug}))
        .await?;
    let org = expect_status(&created, 201)?.clone();
    expect_keys(&org, &ORG_FIELDS)?;
    ensure_eq!(org.get("object"), Some(&json!("org")), "object");
    let id = field(&org, "id")?;
    expect_id(&id, "org")?;
    ensure_eq!(org.get("name"), Some(&json!("Acme")), "name");
    ensure_eq!(org.get("slug"), Some(&json!(slug)), "slug");
    let created_at = expect_timestamp(&org, "created_at", now_ms())?;
    expect_timestamp(&org, "updated_at", now_ms())?;

    let path = format!("/admin/orgs/{id}");
    ensure_eq!(
        expect_status(&admin.get(&path).await?, 200)?,
        &org,
        "GET after create"
    );
    let listed = list_all(&admin, "/admin/orgs").await?;
    ensure!(
        listed.contains(&org),
        "GET /admin/orgs does not list the new org"
    );

    let patched = admin.patch(&path, json!({"name": "Acme Renamed"})).await?;
    let after = expect_status(&patched, 200)?.clone();
    expect_keys(&after, &ORG_FIELDS)?;
    ensure_eq!(
        after.get("name"),
        Some(&json!("Acme Renamed")),
        "name after PATCH"
    );
    ensure_eq!(after.get("slug"), Some(&json!(slug)), "slug after PATCH");
    ensure_eq!(
        after.get("created_at"),
        Some(&json!(created_at)),
        "created_at after PATCH"
    );
    let updated_at = expect_timestamp(&after, "updated_at", now_ms())?;
    ensure!(
        updated_at >= created_at,
        "updated_at {updated_at} < created_at {created_at}"
    );
    ensure_eq!(
        expect_status(&admin.get(&path).await?, 200)?,
        &after,
        "GET after PATCH"
    );

    // Audit: shape, actor, target, and the request id of the mutation.
    let entries = audit(ctx, &id).await?;
    let entry = find_audit(&entries, "org.create", &id).ok_or("no org.create audit entry")?;
    expect_keys(entry, &AUDIT_FIELDS)?;
    expect_id(&field(entry, "id")?, "aud")?;
    ensure_eq!(
        entry.get("object"),
        Some(&json!("audit_entry")),
        "audit object"
    );
    ensure_eq!(entry.get("org_id"), Some(&json!(id)), "audit org_id");
    ensure_eq!(entry.get("actor"), Some(&json!("platform")), "audit actor");
    ensure_eq!(
        entry.get("target_type"),
        Some(&json!("org")),
        "audit target_type"
    );
    ensure_eq!(
        entry.get("request_id").and_then(Value::as_str),
        created.request_id(),
        "audit request_id vs the create response's x-request-id"
    );
    ensure!(
        entry.get("detail").is_some_and(Value::is_object),
        "audit detail is not an object: {entry}"
    );
    expect_audit(ctx, &id, "org.update", &id, "platform").await?;

    let deleted = admin.delete(&path).await?;
    expect_status(&deleted, 204)?;
    ensure!(
        deleted.text.is_empty(),
        "204 with a body: {}",
        deleted.describe()
    );
    expect_error(&admin.get(&path).await?, 404, "not_found")?;
    expect_error(
        &admin.patch(&path, json!({"name": "x"})).await?,
        404,
        "not_found",
    )?;
    expect_error(&admin.delete(&path).await?, 404, "not_found")?;
    let listed = list_all(&admin, "/admin/orgs").await?;
    ensure!(
        !listed.iter().any(|o| o.get("id") == Some(&json!(id))),
        "deleted org still listed"
    );
    // The audit trail outlives the org: read the org.delete row from D1.
    let rows = ctx
        .sql(&format!(
            "SELECT actor FROM audit_log WHERE action = 'org.delete' AND target_id = '{id}'"
        ))
        .await?;
    ensure_eq!(
        rows,
        vec![json!({"actor": "platform"})],
        "org.delete audit rows"
    );
    Ok(())
}

async fn org_name_is_trimmed(ctx: &Ctx) -> Result<(), String> {
    let slug = unique("trim");
    let resp = ctx
        .admin()
        .post(
            "/admin/orgs",
            json!({"name": "  Spaced Out  ", "slug": slug}),
        )
        .await?;
    let org = expect_status(&resp, 201)?;
    ensure_eq!(org.get("name"), Some(&json!("Spaced Out")), "trimmed name");
    Ok(())
}

/// Deleting an org removes everything under it, and its keys stop working at once.
async fn org_delete_cascades(ctx: &Ctx) -> Result<(), String> {
    let admin = ctx.admin();
    let t = seed_tenant(ctx, "cascade").await?;
    let user = create_user(ctx, &t.org_id, "admin", &[]).await?;
    let user_id = field(&user, "id")?;
    let key = admin_key(ctx, &t.instance_id, json!({"name": "doomed"})).await?;
    expect_status(&ctx.with_key(&key.secret).get("/v1/me").await?, 200)?;

    expect_status(
        &admin.delete(&format!("/admin/orgs/{}", t.org_id)).await?,
        204,
    )?;
    let me = ctx.with_key(&key.secret).get("/v1/me").await?;
    e2e::check::expect_error_in(&me, &[401])?;
    for path in [
        format!("/admin/orgs/{}", t.org_id),
        format!("/admin/instances/{}", t.instance_id),
        format!("/admin/projects/{}", t.project_id),
        format!("/admin/users/{user_id}"),
        format!("/admin/keys/{}", key.id),
    ] {
        expect_error(&admin.get(&path).await?, 404, "not_found")?;
    }
    Ok(())
}
