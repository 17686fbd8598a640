//! Keys that may not write: a viewer user's key reads everything of its instance and org but every
//! mutation is 403; a generate-only key gets 403 on every admin route.

use e2e::seed::{field, list_all, unique};
use e2e::{case, ensure_eq, expect_status, Case, Ctx};
use reqwest::Method;
use serde_json::json;

use crate::access::Want::{Allowed, Forbidden};
use crate::access::{delete, get, model_body, node_body, provider_body, run_rows, write, Row};
use crate::isolation::{build_world, World};

pub fn cases() -> Vec<Case> {
    vec![
        case!(viewer_key_reads_but_never_writes),
        case!(generate_only_key_has_no_admin_access),
    ]
}

fn viewer_rows(ctx: &Ctx, w: &World) -> Vec<Row> {
    let o = format!("/admin/orgs/{}", w.a);
    let i = format!("/admin/instances/{}", w.a1);
    let p1 = format!("/admin/projects/{}", w.p1);
    let key = format!("/admin/keys/{}", w.gen.id);
    let mut rows: Vec<Row> = [
        o.clone(),
        format!("{o}/users"),
        format!("{o}/instances"),
        format!("{o}/audit?instance_id={}", w.a1),
        i.clone(),
        format!("{i}/projects"),
        p1.clone(),
        format!("{i}/keys"),
        key.clone(),
        format!("{i}/provider-keys"),
        format!("{i}/models"),
        format!("{i}/models/iso"),
    ]
    .into_iter()
    .map(|path| get(path, Allowed))
    .collect();
    let user =
        json!({"email": format!("{}@example.test", unique("v")), "name": "v", "role": "viewer"});
    let no = |method: Method, path: String, body| write(method, path, body, Forbidden);
    rows.extend([
        no(Method::PATCH, o.clone(), json!({"name": "x"})),
        no(Method::POST, format!("{o}/instances"), node_body()),
        no(Method::POST, format!("{o}/users"), user),
        no(Method::PATCH, i.clone(), json!({"name": "x"})),
        no(Method::POST, format!("{i}/projects"), node_body()),
        no(Method::PATCH, p1.clone(), json!({"name": "x"})),
        no(
            Method::POST,
            format!("{i}/keys"),
            json!({"name": "x", "scopes": ["admin:read"]}),
        ),
        no(Method::POST, format!("{key}/revoke"), json!({})),
        no(Method::POST, format!("{key}/rotate"), json!({})),
        no(
            Method::PUT,
            format!("{i}/provider-keys/openai"),
            provider_body(ctx),
        ),
        no(Method::POST, format!("{i}/models"), model_body()),
        no(
            Method::PATCH,
            format!("{i}/models/iso"),
            json!({"enabled": false}),
        ),
        delete(format!("{i}/models/iso"), Forbidden),
        delete(format!("{i}/provider-keys/openai"), Forbidden),
        delete(key, Forbidden),
        delete(p1, Forbidden),
        delete(i, Forbidden),
        delete(o, Forbidden),
    ]);
    rows
}

async fn viewer_key_reads_but_never_writes(ctx: &Ctx) -> Result<(), String> {
    let w = build_world(ctx, "viewer").await?;
    let p1 = format!("/admin/projects/{}", w.p1);
    let before = expect_status(&ctx.admin().get(&p1).await?, 200)?.clone();
    run_rows(ctx, "viewer key", &w.viewer, viewer_rows(ctx, &w)).await?;
    ensure_eq!(
        expect_status(&ctx.admin().get(&p1).await?, 200)?,
        &before,
        "P1 after the viewer's attempts"
    );
    // The generate-only key the viewer tried to revoke still works.
    expect_status(&ctx.with_key(&w.gen.secret).get("/v1/me").await?, 200)?;
    let orgs = list_all(&ctx.with_key(&w.viewer.secret), "/admin/orgs").await?;
    let ids: Vec<String> = orgs.iter().filter_map(|o| field(o, "id").ok()).collect();
    ensure_eq!(
        ids,
        vec![w.a.clone()],
        "GET /admin/orgs as a key lists only its org"
    );
    Ok(())
}

async fn generate_only_key_has_no_admin_access(ctx: &Ctx) -> Result<(), String> {
    let w = build_world(ctx, "genonly").await?;
    let me = ctx.with_key(&w.gen.secret).get("/v1/me").await?;
    ensure_eq!(
        expect_status(&me, 200)?.get("scopes"),
        Some(&json!(["generate"])),
        "scopes"
    );
    let o = format!("/admin/orgs/{}", w.a);
    let i = format!("/admin/instances/{}", w.a1);
    let mut rows: Vec<Row> = [
        "/admin/orgs".to_string(),
        o.clone(),
        format!("{o}/users"),
        format!("{o}/audit"),
        i.clone(),
        format!("{i}/projects"),
        format!("/admin/projects/{}", w.p1),
        format!("{i}/keys"),
        format!("/admin/keys/{}", w.gen.id),
        format!("{i}/provider-keys"),
        format!("{i}/models"),
    ]
    .into_iter()
    .map(|path| get(path, Forbidden))
    .collect();
    rows.push(write(
        Method::POST,
        format!("{i}/projects"),
        node_body(),
        Forbidden,
    ));
    rows.push(write(Method::PATCH, i, json!({"name": "x"}), Forbidden));
    run_rows(ctx, "generate-only key", &w.gen, rows).await
}
