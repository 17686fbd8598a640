//! Projects: CRUD and audit.

use e2e::check::{expect_id, expect_keys, expect_timestamp};
use e2e::seed::{create_instance, create_org, expect_audit, field, list_all, now_ms, unique};
use e2e::{case, ensure, ensure_eq, expect_error, expect_status, Case, Ctx};
use serde_json::json;

pub fn cases() -> Vec<Case> {
    vec![case!(project_crud_and_audit)]
}

const PROJECT_FIELDS: [&str; 8] = [
    "object",
    "id",
    "org_id",
    "instance_id",
    "name",
    "slug",
    "created_at",
    "updated_at",
];

async fn project_crud_and_audit(ctx: &Ctx) -> Result<(), String> {
    let admin = ctx.admin();
    let org_id = field(&create_org(ctx, "proj").await?, "id")?;
    let instance_id = field(&create_instance(ctx, &org_id, "proj").await?, "id")?;
    let slug = unique("web");
    let resp = admin
        .post(
            &format!("/admin/instances/{instance_id}/projects"),
            json!({"name": "Web", "slug": slug}),
        )
        .await?;
    let project = expect_status(&resp, 201)?.clone();
    expect_keys(&project, &PROJECT_FIELDS)?;
    let id = field(&project, "id")?;
    expect_id(&id, "prj")?;
    ensure_eq!(project.get("object"), Some(&json!("project")), "object");
    ensure_eq!(project.get("org_id"), Some(&json!(org_id)), "org_id");
    ensure_eq!(
        project.get("instance_id"),
        Some(&json!(instance_id)),
        "instance_id"
    );
    ensure_eq!(project.get("name"), Some(&json!("Web")), "name");
    ensure_eq!(project.get("slug"), Some(&json!(slug)), "slug");
    expect_timestamp(&project, "created_at", now_ms())?;

    let path = format!("/admin/projects/{id}");
    let list_path = format!("/admin/instances/{instance_id}/projects");
    ensure_eq!(
        expect_status(&admin.get(&path).await?, 200)?,
        &project,
        "GET after create"
    );
    ensure_eq!(
        list_all(&admin, &list_path).await?,
        vec![project.clone()],
        "project list"
    );

    let after = expect_status(&admin.patch(&path, json!({"name": "Web App"})).await?, 200)?.clone();
    ensure_eq!(
        after.get("name"),
        Some(&json!("Web App")),
        "name after PATCH"
    );
    ensure_eq!(after.get("slug"), Some(&json!(slug)), "slug after PATCH");
    ensure_eq!(
        expect_status(&admin.get(&path).await?, 200)?,
        &after,
        "GET after PATCH"
    );

    expect_status(&admin.delete(&path).await?, 204)?;
    expect_error(&admin.get(&path).await?, 404, "not_found")?;
    ensure!(
        list_all(&admin, &list_path).await?.is_empty(),
        "deleted project still listed"
    );
    for action in ["project.create", "project.update", "project.delete"] {
        expect_audit(ctx, &org_id, action, &id, "platform").await?;
    }
    Ok(())
}
