//! Instances: CRUD, cascade on delete, and what the audit log shows for a tenant's first steps.

use e2e::check::{expect_error_in, expect_id, expect_keys, expect_timestamp};
use e2e::seed::{
    actions, admin_key, audit, create_org, create_project, expect_audit, field, find_audit,
    list_all, now_ms, seed_tenant, unique,
};
use e2e::{case, ensure, ensure_eq, expect_error, expect_status, Case, Ctx};
use serde_json::{json, Value};

pub fn cases() -> Vec<Case> {
    vec![
        case!(instance_crud_and_audit),
        case!(instance_refuses_unknown_fields),
        case!(instance_delete_cascades),
        case!(audit_lists_each_mutation),
    ]
}

const INSTANCE_FIELDS: [&str; 7] = [
    "object",
    "id",
    "org_id",
    "name",
    "slug",
    "created_at",
    "updated_at",
];

async fn instance_crud_and_audit(ctx: &Ctx) -> Result<(), String> {
    let admin = ctx.admin();
    let org = create_org(ctx, "inst").await?;
    let org_id = field(&org, "id")?;
    let slug = unique("prod");
    let resp = admin
        .post(
            &format!("/admin/orgs/{org_id}/instances"),
            json!({"name": "Production", "slug": slug}),
        )
        .await?;
    let ins = expect_status(&resp, 201)?.clone();
    expect_keys(&ins, &INSTANCE_FIELDS)?;
    let id = field(&ins, "id")?;
    expect_id(&id, "ins")?;
    ensure_eq!(ins.get("object"), Some(&json!("instance")), "object");
    ensure_eq!(ins.get("org_id"), Some(&json!(org_id)), "org_id");
    ensure_eq!(ins.get("name"), Some(&json!("Production")), "name");
    ensure_eq!(ins.get("slug"), Some(&json!(slug)), "slug");
    expect_timestamp(&ins, "created_at", now_ms())?;
    expect_timestamp(&ins, "updated_at", now_ms())?;

    let path = format!("/admin/instances/{id}");
    ensure_eq!(
        expect_status(&admin.get(&path).await?, 200)?,
        &ins,
        "GET after create"
    );
    let listed = list_all(&admin, &format!("/admin/orgs/{org_id}/instances")).await?;
    ensure_eq!(listed, vec![ins.clone()], "instance list of the org");

    let patched = admin.patch(&path, json!({"name": "Prod EU"})).await?;
    let after = expect_status(&patched, 200)?.clone();
    ensure_eq!(
        after.get("name"),
        Some(&json!("Prod EU")),
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
    let listed = list_all(&admin, &format!("/admin/orgs/{org_id}/instances")).await?;
    ensure!(
        listed.is_empty(),
        "deleted instance still listed: {listed:?}"
    );

    for action in ["instance.create", "instance.update", "instance.delete"] {
        expect_audit(ctx, &org_id, action, &id, "platform").await?;
    }
    Ok(())
}

/// An instance body takes exactly `name` and `slug`; anything else is named and refused.
async fn instance_refuses_unknown_fields(ctx: &Ctx) -> Result<(), String> {
    let org_id = field(&create_org(ctx, "pinned").await?, "id")?;
    let path = format!("/admin/orgs/{org_id}/instances");
    let body = json!({"name": "Pinned", "slug": unique("pinned"), "pinned": true});
    let resp = ctx.admin().post(&path, body).await?;
    let err = expect_error(&resp, 400, "unknown_field")?;
    if !err.message.contains("pinned") {
        return Err(format!("message does not name the field: {}", err.message));
    }
    let resp = ctx
        .admin()
        .post(&path, json!({"name": "Plain", "slug": unique("plain")}))
        .await?;
    expect_keys(expect_status(&resp, 201)?, &INSTANCE_FIELDS)?;
    Ok(())
}

async fn instance_delete_cascades(ctx: &Ctx) -> Result<(), String> {
    let admin = ctx.admin();
    let t = seed_tenant(ctx, "inscascade").await?;
    let key = admin_key(ctx, &t.instance_id, json!({"name": "doomed"})).await?;
    expect_status(&ctx.with_key(&key.secret).get("/v1/me").await?, 200)?;
    expect_status(
        &admin
            .delete(&format!("/admin/instances/{}", t.instance_id))
            .await?,
        204,
    )?;
    expect_error_in(&ctx.with_key(&key.secret).get("/v1/me").await?, &[401])?;
    for path in [
        format!("/admin/projects/{}", t.project_id),
        format!("/admin/keys/{}", key.id),
        format!("/admin/instances/{}/projects", t.instance_id),
    ] {
        expect_error(&admin.get(&path).await?, 404, "not_found")?;
    }
    // The org itself is untouched.
    expect_status(&admin.get(&format!("/admin/orgs/{}", t.org_id)).await?, 200)?;
    Ok(())
}

/// After org + instance + key (platform) and a project made by an instance key, the audit log lists
/// each mutation with its actor and target; `?instance_id=` narrows it to one instance.
async fn audit_lists_each_mutation(ctx: &Ctx) -> Result<(), String> {
    let t = seed_tenant(ctx, "audit").await?;
    let key = admin_key(
        ctx,
        &t.instance_id,
        json!({"name": "writer", "scopes": ["admin:write"]}),
    )
    .await?;
    let resp = ctx
        .with_key(&key.secret)
        .post(
            &format!("/admin/instances/{}/projects", t.instance_id),
            json!({"name": "By key", "slug": unique("bykey")}),
        )
        .await?;
    let project_id = field(expect_status(&resp, 201)?, "id")?;
    let other = e2e::seed::create_instance(ctx, &t.org_id, "other").await?;
    let other_id = field(&other, "id")?;
    create_project(ctx, &other_id, "elsewhere").await?;

    let entries = audit(ctx, &t.org_id).await?;
    let got = actions(&entries);
    for (action, target, actor) in [
        ("org.create", t.org_id.clone(), "platform".to_string()),
        (
            "instance.create",
            t.instance_id.clone(),
            "platform".to_string(),
        ),
        (
            "project.create",
            t.project_id.clone(),
            "platform".to_string(),
        ),
        ("key.create", key.id.clone(), "platform".to_string()),
        (
            "project.create",
            project_id.clone(),
            format!("key:{}", key.id),
        ),
    ] {
        let entry = find_audit(&entries, action, &target)
            .ok_or_else(|| format!("no {action} for {target}; actions: {got:?}"))?;
        ensure_eq!(entry.get("actor"), Some(&json!(actor)), "actor of {action}");
    }
    let ids: Vec<&str> = entries
        .iter()
        .filter_map(|e| e.get("id").and_then(Value::as_str))
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    ensure_eq!(ids, sorted, "audit entries in creation order");
    let audit_text = serde_json::to_string(&entries).unwrap_or_default();
    e2e::check::not_leaked(&audit_text, &key.secret, "the audit log")?;

    // Narrowed to the first instance: nothing of the other instance.
    let path = format!(
        "/admin/orgs/{}/audit?instance_id={}",
        t.org_id, t.instance_id
    );
    let narrowed = list_all(&ctx.admin(), &path).await?;
    ensure!(!narrowed.is_empty(), "no audit entries for the instance");
    ensure!(
        narrowed
            .iter()
            .all(|e| e.get("instance_id") == Some(&json!(t.instance_id))),
        "?instance_id= returned entries of other instances: {narrowed:?}"
    );
    ensure!(
        find_audit(&narrowed, "project.create", &project_id).is_some(),
        "?instance_id= misses project.create"
    );
    // An instance key sees its instance's audit.
    let resp = ctx.with_key(&key.secret).get(&path).await?;
    expect_status(&resp, 200)?;
    Ok(())
}
