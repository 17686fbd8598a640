//! Tenant isolation matrix: every key of instance A1 × every resource of another instance (A2) and of
//! another org (B) × every verb is refused (403/404, never 2xx), and nothing there changes.

use e2e::check::expect_error_in;
use e2e::seed::{
    admin_key, create_instance, create_org, create_project, create_user, field, list_all, unique,
    Key,
};
use e2e::{case, ensure, expect_status, Case, Ctx};
use reqwest::Method;
use serde_json::{json, Value};

pub fn cases() -> Vec<Case> {
    vec![case!(foreign_instances_and_orgs_are_unreachable)]
}

/// Org A (instances A1, A2; projects P1, P2 in A1, PA2 in A2) and org B (B1, PB), with keys of A1.
pub struct World {
    pub a: String,
    pub a1: String,
    pub a2: String,
    pub p1: String,
    pub p2: String,
    pub pa2: String,
    pub b: String,
    pub b1: String,
    pub pb: String,
    pub ub: String,
    /// A key of P2 (in A1), of A2 and of B1, by id.
    pub key_p2: String,
    pub key_a2: String,
    pub key_b1: String,
    /// The A1 keys under test.
    pub inst: Key,
    pub proj: Key,
    pub viewer: Key,
    pub gen: Key,
    pub owner: Key,
}

/// A model and a provider key in the instance, so those resources exist to be probed.
async fn furnish(ctx: &Ctx, instance: &str) -> Result<(), String> {
    let admin = ctx.admin();
    let secret = format!("sk-e2e-{}", unique("iso"));
    ctx.remember_secret(&secret);
    let resp = admin
        .put(
            &format!("/admin/instances/{instance}/provider-keys/openai"),
            json!({"api_key": secret}),
        )
        .await?;
    expect_status(&resp, 200)?;
    let policy = json!({"requests_per_minute": 100, "tokens_per_minute": 10_000});
    let path = format!("/admin/instances/{instance}/rate-limits/provider/openai");
    expect_status(&admin.put(&path, policy).await?, 200)?;
    let model = json!({"id": "iso", "provider": "openai", "upstream_model": "gpt-4o"});
    expect_status(
        &admin
            .post(&format!("/admin/instances/{instance}/models"), model)
            .await?,
        201,
    )?;
    Ok(())
}

pub async fn build_world(ctx: &Ctx, label: &str) -> Result<World, String> {
    let id = |v: Value| field(&v, "id");
    let a = id(create_org(ctx, &format!("{label}-a")).await?)?;
    let a1 = id(create_instance(ctx, &a, "a1").await?)?;
    let a2 = id(create_instance(ctx, &a, "a2").await?)?;
    let p1 = id(create_project(ctx, &a1, "p1").await?)?;
    let p2 = id(create_project(ctx, &a1, "p2").await?)?;
    let pa2 = id(create_project(ctx, &a2, "pa2").await?)?;
    let b = id(create_org(ctx, &format!("{label}-b")).await?)?;
    let b1 = id(create_instance(ctx, &b, "b1").await?)?;
    let pb = id(create_project(ctx, &b1, "pb").await?)?;
    let ub = id(create_user(ctx, &b, "owner", &[]).await?)?;
    for instance in [&a1, &a2, &b1] {
        furnish(ctx, instance).await?;
    }
    let viewer_user = id(create_user(ctx, &a, "viewer", &[a1.as_str()]).await?)?;
    let owner_user = id(create_user(ctx, &a, "owner", &[]).await?)?;
    let key_p2 = admin_key(ctx, &a1, json!({"name": "p2", "project_id": p2}))
        .await?
        .id;
    let key_a2 = admin_key(ctx, &a2, json!({"name": "a2", "scopes": ["admin:write"]}))
        .await?
        .id;
    let key_b1 = admin_key(ctx, &b1, json!({"name": "b1", "scopes": ["admin:write"]}))
        .await?
        .id;
    Ok(World {
        inst: admin_key(ctx, &a1, json!({"name": "inst", "scopes": ["admin:write"]})).await?,
        proj: admin_key(
            ctx,
            &a1,
            json!({"name": "proj", "scopes": ["admin:write"], "project_id": p1}),
        )
        .await?,
        viewer: admin_key(
            ctx,
            &a1,
            json!({"name": "viewer", "scopes": ["admin:read"], "user_id": viewer_user}),
        )
        .await?,
        gen: admin_key(ctx, &a1, json!({"name": "gen", "scopes": ["generate"]})).await?,
        owner: admin_key(
            ctx,
            &a1,
            json!({"name": "owner", "scopes": ["admin:write"], "user_id": owner_user}),
        )
        .await?,
        a,
        a1,
        a2,
        p1,
        p2,
        pa2,
        b,
        b1,
        pb,
        ub,
        key_p2,
        key_a2,
        key_b1,
    })
}

/// One probe request.
#[derive(Clone)]
pub struct Probe {
    pub method: Method,
    pub path: String,
    pub body: Option<Value>,
}

fn probe(method: Method, path: String, body: Option<Value>) -> Probe {
    Probe { method, path, body }
}

/// Every verb on every resource of `instance` (with its project, key, model and provider key).
/// Reads first, then writes, then deletes, so a wrongly allowed delete cannot hide other findings.
fn instance_probes(ins: &str, prj: &str, key: &str) -> Vec<Probe> {
    let i = format!("/admin/instances/{ins}");
    let secret = format!("sk-e2e-never-stored-{}", unique("x"));
    let model = json!({"id": "intruder", "provider": "openai", "upstream_model": "gpt-4o"});
    vec![
        probe(Method::GET, i.clone(), None),
        probe(Method::GET, format!("{i}/projects"), None),
        probe(Method::GET, format!("/admin/projects/{prj}"), None),
        probe(Method::GET, format!("{i}/keys"), None),
        probe(Method::GET, format!("{i}/keys?project_id={prj}"), None),
        probe(Method::GET, format!("/admin/keys/{key}"), None),
        probe(Method::GET, format!("{i}/provider-keys"), None),
        probe(Method::GET, format!("{i}/models"), None),
        probe(Method::GET, format!("{i}/models/iso"), None),
        probe(Method::GET, format!("{i}/rate-limits"), None),
        probe(Method::GET, format!("{i}/usage"), None),
        probe(Method::PATCH, i.clone(), Some(json!({"name": "pwned"}))),
        probe(
            Method::POST,
            format!("{i}/projects"),
            Some(json!({"name": "x", "slug": unique("x")})),
        ),
        probe(
            Method::PATCH,
            format!("/admin/projects/{prj}"),
            Some(json!({"name": "pwned"})),
        ),
        probe(
            Method::POST,
            format!("{i}/keys"),
            Some(json!({"name": "x", "scopes": ["generate"]})),
        ),
        probe(
            Method::POST,
            format!("/admin/keys/{key}/revoke"),
            Some(json!({})),
        ),
        probe(
            Method::POST,
            format!("/admin/keys/{key}/rotate"),
            Some(json!({})),
        ),
        probe(
            Method::PUT,
            format!("{i}/provider-keys/openai"),
            Some(json!({"api_key": secret})),
        ),
        probe(Method::POST, format!("{i}/models"), Some(model)),
        probe(
            Method::PATCH,
            format!("{i}/models/iso"),
            Some(json!({"enabled": false})),
        ),
        probe(Method::DELETE, format!("{i}/models/iso"), None),
        probe(Method::DELETE, format!("{i}/provider-keys/openai"), None),
        probe(Method::DELETE, format!("/admin/keys/{key}"), None),
        probe(Method::DELETE, format!("/admin/projects/{prj}"), None),
        probe(Method::DELETE, i, None),
    ]
}

/// Every verb on org B's record, instances, users and audit.
fn org_probes(org: &str, user: &str) -> Vec<Probe> {
    let o = format!("/admin/orgs/{org}");
    let new_user =
        json!({"email": format!("{}@example.test", unique("x")), "name": "x", "role": "owner"});
    vec![
        probe(Method::GET, o.clone(), None),
        probe(Method::GET, format!("{o}/instances"), None),
        probe(Method::GET, format!("{o}/users"), None),
        probe(Method::GET, format!("/admin/users/{user}"), None),
        probe(Method::GET, format!("{o}/audit"), None),
        probe(Method::PATCH, o.clone(), Some(json!({"name": "pwned"}))),
        probe(
            Method::POST,
            format!("{o}/instances"),
            Some(json!({"name": "x", "slug": unique("x")})),
        ),
        probe(Method::POST, format!("{o}/users"), Some(new_user)),
        probe(
            Method::PATCH,
            format!("/admin/users/{user}"),
            Some(json!({"role": "viewer"})),
        ),
        probe(Method::DELETE, format!("/admin/users/{user}"), None),
        probe(Method::DELETE, o, None),
    ]
}

/// Everything of A2 and B as the platform admin sees it.
async fn snapshot(ctx: &Ctx, w: &World) -> Result<Vec<(String, Value)>, String> {
    let admin = ctx.admin();
    let mut paths = vec![
        format!("/admin/orgs/{}", w.b),
        format!("/admin/users/{}", w.ub),
        format!("/admin/projects/{}", w.pb),
        format!("/admin/projects/{}", w.pa2),
        format!("/admin/keys/{}", w.key_a2),
        format!("/admin/keys/{}", w.key_b1),
        format!("/admin/keys/{}", w.key_p2),
    ];
    for ins in [&w.a2, &w.b1] {
        paths.push(format!("/admin/instances/{ins}"));
        paths.push(format!("/admin/instances/{ins}/models/iso"));
    }
    let mut snap = Vec::new();
    for path in paths {
        let resp = admin.get(&path).await?;
        snap.push((path, expect_status(&resp, 200)?.clone()));
    }
    let mut lists = vec![
        format!("/admin/orgs/{}/instances", w.b),
        format!("/admin/orgs/{}/users", w.b),
        format!("/admin/orgs/{}/audit", w.b),
        format!("/admin/orgs/{}/audit?instance_id={}", w.a, w.a2),
    ];
    for ins in [&w.a2, &w.b1] {
        for what in ["projects", "keys", "provider-keys", "models", "rate-limits"] {
            lists.push(format!("/admin/instances/{ins}/{what}"));
        }
    }
    for path in lists {
        let items = list_all(&admin, &path).await?;
        snap.push((path, Value::Array(items)));
    }
    Ok(snap)
}

async fn foreign_instances_and_orgs_are_unreachable(ctx: &Ctx) -> Result<(), String> {
    let w = build_world(ctx, "iso").await?;
    let before = snapshot(ctx, &w).await?;
    // (name, key, has admin:read): keys that may read are told 404 (existence is not revealed).
    let actors = [
        ("instance key", &w.inst, true),
        ("project key", &w.proj, true),
        ("viewer key", &w.viewer, true),
        ("generate-only key", &w.gen, false),
        ("owner key", &w.owner, true),
    ];
    let mut findings = Vec::new();
    let mut count = 0;
    for (name, key, reads) in actors {
        let api = ctx.with_key(&key.secret);
        let probes = [
            instance_probes(&w.a2, &w.pa2, &w.key_a2),
            instance_probes(&w.b1, &w.pb, &w.key_b1),
            org_probes(&w.b, &w.ub),
        ]
        .concat();
        for p in probes {
            count += 1;
            let resp = api.send(p.method.clone(), &p.path, p.body).await?;
            let strict = reads && p.method == Method::GET;
            let allowed: &[u16] = if strict { &[404] } else { &[403, 404] };
            if let Err(e) = expect_error_in(&resp, allowed) {
                findings.push(format!("{name}: {e}"));
            }
        }
    }
    let after = snapshot(ctx, &w).await?;
    for ((path, old), (_, new)) in before.iter().zip(after.iter()) {
        if old != new {
            findings.push(format!("{path} changed: {old} -> {new}"));
        }
    }
    ensure!(
        findings.is_empty(),
        "{} of {count} probes failed:\n    {}",
        findings.len(),
        findings
            .iter()
            .take(25)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n    ")
    );
    Ok(())
}
