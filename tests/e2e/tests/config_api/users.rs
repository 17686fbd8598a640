//! Users: CRUD with instance access, validation, and what deleting a user does to its keys.

use e2e::check::{expect_error_in, expect_id, expect_keys, expect_timestamp};
use e2e::seed::{
    admin_key, create_instance, create_org, expect_audit, expect_no_audit, field, list_all, now_ms,
    request_id, seed_tenant, unique,
};
use e2e::{case, ensure, ensure_eq, expect_error, expect_status, Case, Ctx};
use reqwest::Method;
use serde_json::json;

pub fn cases() -> Vec<Case> {
    vec![
        case!(user_crud_and_audit),
        case!(user_rejects_foreign_instance_and_bad_role),
        case!(user_delete_stops_its_keys),
    ]
}

const USER_FIELDS: [&str; 9] = [
    "object",
    "id",
    "org_id",
    "email",
    "name",
    "role",
    "instance_ids",
    "created_at",
    "updated_at",
];

async fn user_crud_and_audit(ctx: &Ctx) -> Result<(), String> {
    let admin = ctx.admin();
    let org_id = field(&create_org(ctx, "users").await?, "id")?;
    let i1 = field(&create_instance(ctx, &org_id, "u1").await?, "id")?;
    let i2 = field(&create_instance(ctx, &org_id, "u2").await?, "id")?;
    let email = format!("{}@example.test", unique("ada"));
    let resp = admin
        .post(
            &format!("/admin/orgs/{org_id}/users"),
            json!({"email": email, "name": "Ada", "role": "member", "instance_ids": [i1]}),
        )
        .await?;
    let user = expect_status(&resp, 201)?.clone();
    expect_keys(&user, &USER_FIELDS)?;
    let id = field(&user, "id")?;
    expect_id(&id, "usr")?;
    ensure_eq!(user.get("object"), Some(&json!("user")), "object");
    ensure_eq!(user.get("org_id"), Some(&json!(org_id)), "org_id");
    ensure_eq!(user.get("email"), Some(&json!(email)), "email");
    ensure_eq!(user.get("name"), Some(&json!("Ada")), "name");
    ensure_eq!(user.get("role"), Some(&json!("member")), "role");
    ensure_eq!(user.get("instance_ids"), Some(&json!([i1])), "instance_ids");
    expect_timestamp(&user, "created_at", now_ms())?;

    let path = format!("/admin/users/{id}");
    let list_path = format!("/admin/orgs/{org_id}/users");
    ensure_eq!(
        expect_status(&admin.get(&path).await?, 200)?,
        &user,
        "GET after create"
    );
    ensure_eq!(
        list_all(&admin, &list_path).await?,
        vec![user.clone()],
        "user list"
    );

    // instance_ids replaces the set.
    let resp = admin
        .patch(
            &path,
            json!({"role": "admin", "name": "Ada L.", "instance_ids": [i2]}),
        )
        .await?;
    let after = expect_status(&resp, 200)?.clone();
    ensure_eq!(after.get("role"), Some(&json!("admin")), "role after PATCH");
    ensure_eq!(
        after.get("name"),
        Some(&json!("Ada L.")),
        "name after PATCH"
    );
    ensure_eq!(
        after.get("instance_ids"),
        Some(&json!([i2])),
        "instance_ids after PATCH"
    );
    ensure_eq!(after.get("email"), Some(&json!(email)), "email after PATCH");
    ensure_eq!(
        expect_status(&admin.get(&path).await?, 200)?,
        &after,
        "GET after PATCH"
    );
    let resp = admin.patch(&path, json!({"instance_ids": []})).await?;
    ensure_eq!(
        expect_status(&resp, 200)?.get("instance_ids"),
        Some(&json!([])),
        "emptied instance_ids"
    );

    expect_status(&admin.delete(&path).await?, 204)?;
    expect_error(&admin.get(&path).await?, 404, "not_found")?;
    ensure!(
        list_all(&admin, &list_path).await?.is_empty(),
        "deleted user still listed"
    );
    for action in ["user.create", "user.update", "user.delete"] {
        expect_audit(ctx, &org_id, action, &id, "platform").await?;
    }
    Ok(())
}

async fn user_rejects_foreign_instance_and_bad_role(ctx: &Ctx) -> Result<(), String> {
    let admin = ctx.admin();
    let mine = seed_tenant(ctx, "umine").await?;
    let theirs = seed_tenant(ctx, "utheirs").await?;
    let path = format!("/admin/orgs/{}/users", mine.org_id);
    let attempts = [
        json!({"email": "a@example.test", "name": "A", "role": "member", "instance_ids": [theirs.instance_id]}),
        json!({"email": "b@example.test", "name": "B", "role": "superuser"}),
        json!({"email": "c@example.test", "name": "C", "role": "member", "instance_ids": ["nope"]}),
    ];
    for body in attempts {
        let rid = request_id("user-bad");
        let resp = admin
            .send_with_id(Method::POST, &path, Some(body.clone()), &rid)
            .await?;
        let err = expect_error_in(&resp, &[400, 404, 422])?;
        ensure!(
            err.message.contains("instance_ids") || err.message.contains("role"),
            "message does not name the field: {}",
            resp.describe()
        );
        expect_no_audit(ctx, &rid).await?;
    }
    ensure!(
        list_all(&admin, &path).await?.is_empty(),
        "a rejected user was written"
    );
    Ok(())
}

async fn user_delete_stops_its_keys(ctx: &Ctx) -> Result<(), String> {
    let t = seed_tenant(ctx, "userkeys").await?;
    let user = e2e::seed::create_user(ctx, &t.org_id, "admin", &[t.instance_id.as_str()]).await?;
    let user_id = field(&user, "id")?;
    let key = admin_key(
        ctx,
        &t.instance_id,
        json!({"name": "mine", "user_id": user_id}),
    )
    .await?;
    expect_status(&ctx.with_key(&key.secret).get("/v1/me").await?, 200)?;
    expect_status(
        &ctx.admin()
            .delete(&format!("/admin/users/{user_id}"))
            .await?,
        204,
    )?;
    expect_error_in(&ctx.with_key(&key.secret).get("/v1/me").await?, &[401])?;
    expect_error(
        &ctx.admin().get(&format!("/admin/keys/{}", key.id)).await?,
        404,
        "not_found",
    )?;
    Ok(())
}
