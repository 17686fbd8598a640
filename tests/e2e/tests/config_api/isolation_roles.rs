//! What a writing key may do inside its own tenant: a project key (its project only), an owner
//! user's key (its org), a service key (its instance).

use e2e::seed::{field, list_all};
use e2e::{case, ensure_eq, expect_status, Case, Ctx};
use reqwest::Method;
use serde_json::json;

use crate::access::Want::{Allowed, Denied, Forbidden, NotFound};
use crate::access::{delete, get, model_body, node_body, provider_body, run_rows, write};
use crate::isolation::build_world;

pub fn cases() -> Vec<Case> {
    vec![
        case!(project_key_reaches_its_project_only),
        case!(owner_key_manages_its_org),
        case!(service_key_manages_its_instance),
    ]
}

async fn project_key_reaches_its_project_only(ctx: &Ctx) -> Result<(), String> {
    let w = build_world(ctx, "projkey").await?;
    let i = format!("/admin/instances/{}", w.a1);
    let p1 = format!("/admin/projects/{}", w.p1);
    let p2 = format!("/admin/projects/{}", w.p2);
    let rows = vec![
        get(p1.clone(), Allowed),
        write(
            Method::PATCH,
            p1,
            json!({"name": "renamed by its key"}),
            Allowed,
        ),
        get(i.clone(), Allowed),
        get(format!("{i}/keys?project_id={}", w.p1), Allowed),
        get(format!("/admin/keys/{}", w.proj.id), Allowed),
        write(
            Method::POST,
            format!("{i}/keys"),
            json!({"name": "sub", "scopes": ["admin:read"], "project_id": w.p1}),
            Allowed,
        ),
        // The sibling project does not exist for this key.
        get(p2.clone(), NotFound),
        write(Method::PATCH, p2.clone(), json!({"name": "x"}), NotFound),
        get(format!("/admin/keys/{}", w.key_p2), NotFound),
        get(format!("{i}/keys?project_id={}", w.p2), Denied),
        write(
            Method::POST,
            format!("{i}/keys"),
            json!({"name": "x", "project_id": w.p2}),
            Denied,
        ),
        write(
            Method::POST,
            format!("/admin/keys/{}/revoke", w.key_p2),
            json!({}),
            NotFound,
        ),
        delete(p2.clone(), NotFound),
        // Instance-level writes need a key without a project binding.
        write(Method::PATCH, i.clone(), json!({"name": "x"}), Forbidden),
        write(Method::POST, format!("{i}/projects"), node_body(), Denied),
        write(
            Method::POST,
            format!("{i}/keys"),
            json!({"name": "instance-wide"}),
            Denied,
        ),
        write(
            Method::PUT,
            format!("{i}/provider-keys/openai"),
            provider_body(ctx),
            Forbidden,
        ),
        write(Method::POST, format!("{i}/models"), model_body(), Forbidden),
        write(
            Method::PATCH,
            format!("/admin/orgs/{}", w.a),
            json!({"name": "x"}),
            Denied,
        ),
    ];
    run_rows(ctx, "project key", &w.proj, rows).await?;
    // The sibling is intact.
    expect_status(&ctx.admin().get(&p2).await?, 200)?;
    Ok(())
}

async fn owner_key_manages_its_org(ctx: &Ctx) -> Result<(), String> {
    let w = build_world(ctx, "owner").await?;
    let o = format!("/admin/orgs/{}", w.a);
    let user = json!({"email": format!("{}@example.test", e2e::seed::unique("o")), "name": "o", "role": "member"});
    let rows = vec![
        get(o.clone(), Allowed),
        write(
            Method::PATCH,
            o.clone(),
            json!({"name": "Renamed by owner"}),
            Allowed,
        ),
        get(format!("{o}/users"), Allowed),
        write(Method::POST, format!("{o}/users"), user, Allowed),
        get(format!("{o}/instances"), Allowed),
        write(Method::POST, format!("{o}/instances"), node_body(), Allowed),
        write(
            Method::PATCH,
            format!("/admin/instances/{}", w.a1),
            json!({"name": "x"}),
            Allowed,
        ),
        get(format!("/admin/orgs/{}", w.b), NotFound),
    ];
    run_rows(ctx, "owner key", &w.owner, rows).await?;
    let orgs = list_all(&ctx.with_key(&w.owner.secret), "/admin/orgs").await?;
    let ids: Vec<String> = orgs.iter().filter_map(|o| field(o, "id").ok()).collect();
    ensure_eq!(
        ids,
        vec![w.a.clone()],
        "GET /admin/orgs as a key lists only its org"
    );
    Ok(())
}

async fn service_key_manages_its_instance(ctx: &Ctx) -> Result<(), String> {
    let w = build_world(ctx, "service").await?;
    let i = format!("/admin/instances/{}", w.a1);
    let p2 = format!("/admin/projects/{}", w.p2);
    let rows = vec![
        get(i.clone(), Allowed),
        write(
            Method::PATCH,
            i.clone(),
            json!({"name": "Renamed by service key"}),
            Allowed,
        ),
        write(Method::POST, format!("{i}/projects"), node_body(), Allowed),
        get(p2.clone(), Allowed),
        write(Method::PATCH, p2, json!({"name": "y"}), Allowed),
        write(
            Method::PUT,
            format!("{i}/provider-keys/anthropic"),
            provider_body(ctx),
            Allowed,
        ),
        write(Method::POST, format!("{i}/models"), model_body(), Allowed),
        write(
            Method::PATCH,
            format!("{i}/models/iso"),
            json!({"enabled": false}),
            Allowed,
        ),
        write(
            Method::POST,
            format!("/admin/keys/{}/revoke", w.key_p2),
            json!({}),
            Allowed,
        ),
    ];
    run_rows(ctx, "service key", &w.inst, rows).await
}
