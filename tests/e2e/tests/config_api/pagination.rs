//! List pagination: `limit`, `cursor`, `next_cursor`, creation order.

use e2e::check::expect_error_in;
use e2e::seed::{create_project, field, seed_tenant};
use e2e::{case, ensure, ensure_eq, expect_error, expect_status, Case, Ctx};
use serde_json::{json, Value};

pub fn cases() -> Vec<Case> {
    vec![
        case!(pages_of_two_in_creation_order),
        case!(bad_limits_are_400),
        case!(bad_cursor_is_400_invalid_cursor),
    ]
}

async fn pages_of_two_in_creation_order(ctx: &Ctx) -> Result<(), String> {
    let admin = ctx.admin();
    let org = e2e::seed::create_org(ctx, "pages").await?;
    let org_id = field(&org, "id")?;
    let instance_id = field(
        &e2e::seed::create_instance(ctx, &org_id, "pages").await?,
        "id",
    )?;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(field(
            &create_project(ctx, &instance_id, &format!("p{i}")).await?,
            "id",
        )?);
    }
    let base = format!("/admin/instances/{instance_id}/projects");
    let mut seen: Vec<String> = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let path = match &cursor {
            Some(c) => format!("{base}?limit=2&cursor={c}"),
            None => format!("{base}?limit=2"),
        };
        let resp = admin.get(&path).await?;
        let body = expect_status(&resp, 200)?;
        ensure_eq!(body.get("object"), Some(&json!("list")), "list object");
        let data = resp.data()?;
        sizes.push(data.len());
        for item in data {
            seen.push(field(item, "id")?);
        }
        match body.get("next_cursor") {
            Some(Value::String(next)) => cursor = Some(next.clone()),
            Some(Value::Null) => break,
            other => {
                return Err(format!(
                    "next_cursor must be a string or null, got {other:?}"
                ))
            }
        }
    }
    ensure_eq!(sizes, vec![2, 2, 1], "page sizes with limit=2");
    ensure_eq!(
        seen,
        created,
        "items across pages (creation order, no duplicates)"
    );

    // Default limit: everything in one page, next_cursor null.
    let resp = admin.get(&base).await?;
    let body = expect_status(&resp, 200)?;
    ensure_eq!(resp.data()?.len(), 5, "default page size");
    ensure_eq!(
        body.get("next_cursor"),
        Some(&Value::Null),
        "next_cursor of a complete page"
    );
    Ok(())
}

async fn bad_limits_are_400(ctx: &Ctx) -> Result<(), String> {
    let t = seed_tenant(ctx, "limits").await?;
    let base = format!("/admin/instances/{}/projects", t.instance_id);
    for bad in ["0", "201", "abc", "-1", "1.5"] {
        let resp = ctx.admin().get(&format!("{base}?limit={bad}")).await?;
        expect_error_in(&resp, &[400])?.message_contains("limit")?;
    }
    for good in ["1", "200"] {
        let resp = ctx.admin().get(&format!("{base}?limit={good}")).await?;
        expect_status(&resp, 200)?;
        ensure!(resp.data()?.len() == 1, "limit={good}: {}", resp.describe());
    }
    Ok(())
}

async fn bad_cursor_is_400_invalid_cursor(ctx: &Ctx) -> Result<(), String> {
    let t = seed_tenant(ctx, "cursor").await?;
    let base = format!("/admin/instances/{}/projects", t.instance_id);
    for bad in ["garbage", "%00", "prj_", "!!!!"] {
        let resp = ctx.admin().get(&format!("{base}?cursor={bad}")).await?;
        expect_error(&resp, 400, "invalid_cursor")?;
    }
    Ok(())
}
