//! Privilege escalation through the config API (docs/api.md, "API keys"): a key never hands out more than
//! it holds — no key of a user ranked above it (service keys count below an org admin), none by rotating
//! such a key, no scope, model, expiry or project beyond its own — and only owners create, demote or
//! delete owners. Every refusal is checked as a client sees it (status and `error.code`) and wrote nothing:
//! the key list is unchanged and the refused requests left no audit row.

use e2e::check::no_secret_fields;
use e2e::client::Api;
use e2e::seed::{
    admin_key, create_key, create_project, create_user, expect_no_audit_any, field, list_all,
    now_ms, request_id, seed_tenant, unique, Key, Tenant,
};
use e2e::{case, ensure, ensure_eq, expect_error, expect_status, Case, Ctx};
use reqwest::Method;
use serde_json::{json, Value};

pub fn cases() -> Vec<Case> {
    vec![
        case!(key_cannot_mint_a_key_of_a_higher_role),
        case!(key_cannot_rotate_a_key_beyond_its_own),
        case!(key_cannot_widen_scopes_models_expiry_or_project),
        case!(only_owners_create_demote_or_delete_owners),
    ]
}

const ROLE: &str = "role_forbids";
const EXCEEDS: &str = "exceeds_creator";
const SCOPE: &str = "insufficient_scope";

/// A refused request: who sends it, what, and the status and code a client must see.
struct Refusal<'a> {
    what: &'static str,
    api: &'a Api<'a>,
    method: Method,
    path: String,
    body: Option<Value>,
    status: u16,
    code: &'static str,
}

/// Sends every refusal (tagged with a fresh request id), checks its envelope and that the body carries
/// no `secret`, then checks that none of them wrote an audit row. Reports every mismatch at once.
async fn run_refusals<'a>(
    ctx: &Ctx,
    refusals: impl IntoIterator<Item = Refusal<'a>>,
) -> Result<(), String> {
    let mut findings = Vec::new();
    let mut rids = Vec::new();
    for r in refusals {
        let rid = request_id("escalate");
        let resp = r.api.send_with_id(r.method, &r.path, r.body, &rid).await?;
        rids.push(rid);
        let verdict =
            expect_error(&resp, r.status, r.code).and_then(|_| no_secret_fields(&resp.body));
        if let Err(e) = verdict {
            findings.push(format!("{}: {e}", r.what));
        }
    }
    ensure!(
        findings.is_empty(),
        "{} refusals failed:\n    {}",
        findings.len(),
        findings.join("\n    ")
    );
    expect_no_audit_any(ctx, &rids).await
}

/// The ids of the instance's keys, as the platform lists them.
async fn key_ids(ctx: &Ctx, instance_id: &str) -> Result<Vec<String>, String> {
    let keys = list_all(
        &ctx.admin(),
        &format!("/admin/instances/{instance_id}/keys"),
    )
    .await?;
    Ok(keys.iter().filter_map(|k| field(k, "id").ok()).collect())
}

/// A user of the tenant's org with `role` and access to its instance.
async fn user(ctx: &Ctx, t: &Tenant, role: &str) -> Result<String, String> {
    field(
        &create_user(ctx, &t.org_id, role, &[t.instance_id.as_str()]).await?,
        "id",
    )
}

/// A key the platform issues in the tenant's instance: `scopes`, for `user_id` (or a service key).
async fn key_of(
    ctx: &Ctx,
    t: &Tenant,
    name: &str,
    scopes: &[&str],
    user_id: Option<&str>,
) -> Result<Key, String> {
    let body = json!({"name": name, "scopes": scopes, "user_id": user_id});
    admin_key(ctx, &t.instance_id, body).await
}

/// Rank: owner > admin > member > viewer, and a service key counts below an admin. An org admin's
/// `admin:write` key cannot issue a key of an owner, a service key none of an owner or an admin: 403
/// `role_forbids` (the role rule of the grant check; `exceeds_creator` is for models and expiry), and no
/// key is written. Keys of the creator's rank or below are issued (positive control).
async fn key_cannot_mint_a_key_of_a_higher_role(ctx: &Ctx) -> Result<(), String> {
    let t = seed_tenant(ctx, "mint-up").await?;
    let (owner, admin_user, member) = (
        user(ctx, &t, "owner").await?,
        user(ctx, &t, "admin").await?,
        user(ctx, &t, "member").await?,
    );
    let as_admin_key = key_of(ctx, &t, "org admin", &["admin:write"], Some(&admin_user)).await?;
    let service = key_of(ctx, &t, "service", &["admin:write"], None).await?;
    let (as_admin, as_service) = (
        ctx.with_key(&as_admin_key.secret),
        ctx.with_key(&service.secret),
    );
    let path = format!("/admin/instances/{}/keys", t.instance_id);
    // Scopes both creators hold, so the user's role is the only thing out of reach.
    let body = |user_id: &str| json!({"name": "up", "scopes": ["admin:read"], "user_id": user_id});
    let before = key_ids(ctx, &t.instance_id).await?;
    let rows = [
        ("org admin key → owner's key", &as_admin, &owner),
        ("service key → owner's key", &as_service, &owner),
        ("service key → admin's key", &as_service, &admin_user),
    ];
    let refusals = rows.map(|(what, api, user_id)| Refusal {
        what,
        api,
        method: Method::POST,
        path: path.clone(),
        body: Some(body(user_id)),
        status: 403,
        code: ROLE,
    });
    run_refusals(ctx, refusals).await?;
    ensure_eq!(
        key_ids(ctx, &t.instance_id).await?,
        before,
        "keys after the refusals"
    );

    // Positive control: the same creators issue keys at or below their rank.
    for (api, user_id) in [
        (&as_admin, &admin_user),
        (&as_admin, &member),
        (&as_service, &member),
    ] {
        let key = create_key(ctx, api, &t.instance_id, body(user_id)).await?;
        ensure_eq!(
            key.body.get("user_id"),
            Some(&json!(user_id)),
            "user_id of an allowed key"
        );
    }
    ensure_eq!(
        key_ids(ctx, &t.instance_id).await?.len(),
        before.len() + 3,
        "keys after the allowed creates"
    );
    Ok(())
}

/// Rotating hands a key out again, so the caller must be allowed to issue it: an org admin's key cannot
/// rotate an owner's key, a service key cannot rotate an admin's, a key with a model allow-list cannot
/// rotate a key for every model, an expiring key cannot rotate one that never expires. Each is refused
/// with no secret in the body and the target keeps working with its old secret, never rotated. A key
/// within reach is rotated (positive control): new secret, old one refused.
async fn key_cannot_rotate_a_key_beyond_its_own(ctx: &Ctx) -> Result<(), String> {
    let t = seed_tenant(ctx, "rotate-up").await?;
    let (owner, admin_user, member) = (
        user(ctx, &t, "owner").await?,
        user(ctx, &t, "admin").await?,
        user(ctx, &t, "member").await?,
    );
    // The creators hold every scope, so a refusal is never for want of one.
    let every = ["generate", "admin:write"];
    let as_admin_key = key_of(ctx, &t, "org admin", &every, Some(&admin_user)).await?;
    let service = key_of(ctx, &t, "service", &every, None).await?;
    // Each narrower in one respect only, so each refusal has one cause.
    let listed = admin_key(
        ctx,
        &t.instance_id,
        json!({"name": "listed", "scopes": every, "models": ["m1"]}),
    )
    .await?;
    let expiring = admin_key(
        ctx,
        &t.instance_id,
        json!({"name": "expiring", "scopes": every, "expires_at": now_ms() + 3_600_000}),
    )
    .await?;
    let owners = key_of(ctx, &t, "owner's", &["generate"], Some(&owner)).await?;
    let admins = key_of(ctx, &t, "admin's", &["generate"], Some(&admin_user)).await?;
    let members = key_of(ctx, &t, "member's", &["generate"], Some(&member)).await?;
    // A service key for every model, never expiring: within the org admin's reach, beyond the other two.
    let plain = key_of(ctx, &t, "plain", &["admin:read"], None).await?;
    let (as_admin, as_service, as_listed, as_expiring) = (
        ctx.with_key(&as_admin_key.secret),
        ctx.with_key(&service.secret),
        ctx.with_key(&listed.secret),
        ctx.with_key(&expiring.secret),
    );
    let rows = [
        ("org admin key → owner's key", &as_admin, &owners, ROLE),
        ("service key → owner's key", &as_service, &owners, ROLE),
        ("service key → admin's key", &as_service, &admins, ROLE),
        (
            "allow-listed key → all-models key",
            &as_listed,
            &plain,
            EXCEEDS,
        ),
        ("expiring key → endless key", &as_expiring, &plain, EXCEEDS),
    ];
    let refusals = rows.map(|(what, api, key, code)| Refusal {
        what,
        api,
        method: Method::POST,
        path: format!("/admin/keys/{}/rotate", key.id),
        body: Some(json!({})),
        status: 403,
        code,
    });
    run_refusals(ctx, refusals).await?;
    for target in [&owners, &admins, &plain] {
        let got = ctx
            .admin()
            .get(&format!("/admin/keys/{}", target.id))
            .await?;
        let body = expect_status(&got, 200)?;
        ensure_eq!(
            body.get("last_rotated_at"),
            Some(&Value::Null),
            "last_rotated_at of {} after refused rotations",
            target.id
        );
        ensure_eq!(
            body.get("prefix"),
            target.body.get("prefix"),
            "prefix of {} after refused rotations",
            target.id
        );
        expect_status(&ctx.with_key(&target.secret).get("/v1/me").await?, 200)?;
    }

    // Positive control: keys within reach are rotated.
    for (api, target) in [
        (&as_admin, &members),
        (&as_admin, &plain),
        (&as_service, &members),
    ] {
        let resp = api
            .post(&format!("/admin/keys/{}/rotate", target.id), json!({}))
            .await?;
        let secret = field(expect_status(&resp, 200)?, "secret")?;
        ctx.remember_secret(&secret);
        let me = ctx.with_key(&secret).get("/v1/me").await?;
        ensure_eq!(
            expect_status(&me, 200)?.get("key_id"),
            Some(&json!(target.id)),
            "key_id with the rotated secret"
        );
    }
    expect_error(
        &ctx.with_key(&members.secret).get("/v1/me").await?,
        401,
        "invalid_api_key",
    )?;
    Ok(())
}

/// A service key with `admin:write`, two models and an expiry cannot issue a key with a scope it lacks (403
/// `insufficient_scope`), a wider model list or every model, a later expiry or none (403
/// `exceeds_creator`). A project-bound key cannot issue a key of a sibling project (404 `not_found`: the
/// sibling is out of its reach) or of the whole instance (403 `forbidden`). Nothing is written; keys
/// within the bounds are issued (positive control).
async fn key_cannot_widen_scopes_models_expiry_or_project(ctx: &Ctx) -> Result<(), String> {
    let t = seed_tenant(ctx, "widen").await?;
    let sibling = field(&create_project(ctx, &t.instance_id, "sibling").await?, "id")?;
    let limit = now_ms() + 3_600_000;
    let narrow = admin_key(
        ctx,
        &t.instance_id,
        json!({"name": "narrow", "scopes": ["admin:write"], "models": ["m1", "m2"],
               "expires_at": limit}),
    )
    .await?;
    let bound = admin_key(
        ctx,
        &t.instance_id,
        json!({"name": "bound", "scopes": ["admin:write"], "project_id": t.project_id}),
    )
    .await?;
    let (as_narrow, as_bound) = (ctx.with_key(&narrow.secret), ctx.with_key(&bound.secret));
    let path = format!("/admin/instances/{}/keys", t.instance_id);
    // Each body is within the narrow key's bounds except in the one field its row names.
    let within = |patch: Value| {
        let mut body = json!({"name": "wider", "scopes": ["admin:read"], "models": ["m1"],
                              "expires_at": limit - 60_000});
        if let (Some(obj), Some(patch)) = (body.as_object_mut(), patch.as_object()) {
            // `null` is what omitting the field means.
            obj.extend(patch.clone());
        }
        body
    };
    let post = |what, api, body, status, code| Refusal {
        what,
        api,
        method: Method::POST,
        path: path.clone(),
        body: Some(body),
        status,
        code,
    };
    let later = limit + 60_000;
    let wider = [
        ("a scope it lacks", json!({"scopes": ["generate"]}), SCOPE),
        ("a model it lacks", json!({"models": ["m1", "m3"]}), EXCEEDS),
        ("every model", json!({"models": null}), EXCEEDS),
        ("a later expiry", json!({"expires_at": later}), EXCEEDS),
        ("no expiry", json!({"expires_at": null}), EXCEEDS),
    ];
    let mut refusals: Vec<Refusal> = wider
        .into_iter()
        .map(|(what, patch, code)| post(what, &as_narrow, within(patch), 403, code))
        .collect();
    let elsewhere = [
        (
            "a sibling project",
            Some(sibling.as_str()),
            404,
            "not_found",
        ),
        ("the whole instance", None, 403, "forbidden"),
    ];
    refusals.extend(elsewhere.map(|(what, project_id, status, code)| {
        let body = json!({"name": "x", "scopes": ["admin:read"], "project_id": project_id});
        post(what, &as_bound, body, status, code)
    }));
    let before = key_ids(ctx, &t.instance_id).await?;
    run_refusals(ctx, refusals).await?;
    ensure_eq!(
        key_ids(ctx, &t.instance_id).await?,
        before,
        "keys after the refusals"
    );

    // Positive control: at the bounds (its expiry exactly, a subset of its models, its project).
    let key = create_key(
        ctx,
        &as_narrow,
        &t.instance_id,
        within(json!({"models": ["m2"], "expires_at": limit})),
    )
    .await?;
    ensure_eq!(
        key.body.get("allowed_models"),
        Some(&json!(["m2"])),
        "allowed_models of the narrowed key"
    );
    ensure_eq!(
        key.body.get("expires_at"),
        Some(&json!(limit)),
        "expires_at of the narrowed key"
    );
    let key = create_key(
        ctx,
        &as_bound,
        &t.instance_id,
        json!({"name": "sub", "scopes": ["admin:read"], "project_id": t.project_id}),
    )
    .await?;
    ensure_eq!(
        key.body.get("project_id"),
        Some(&json!(t.project_id)),
        "project_id of the bound key's key"
    );
    Ok(())
}

/// Only owners (and the platform) create, promote to, demote or delete owners: an org admin's
/// `admin:write` key gets 403 `role_forbids` for each, and the owner is left as it was. The same admin key
/// still manages non-owners, and an owner's key does all of it (positive controls).
async fn only_owners_create_demote_or_delete_owners(ctx: &Ctx) -> Result<(), String> {
    let t = seed_tenant(ctx, "owners").await?;
    let owner = user(ctx, &t, "owner").await?;
    let target = user(ctx, &t, "owner").await?;
    let admin_user = user(ctx, &t, "admin").await?;
    let member = user(ctx, &t, "member").await?;
    let owner_key = key_of(ctx, &t, "owner", &["admin:write"], Some(&owner)).await?;
    let admins_key = key_of(ctx, &t, "org admin", &["admin:write"], Some(&admin_user)).await?;
    let (as_owner, as_admin) = (
        ctx.with_key(&owner_key.secret),
        ctx.with_key(&admins_key.secret),
    );
    let users = format!("/admin/orgs/{}/users", t.org_id);
    let target_path = format!("/admin/users/{target}");
    let member_path = format!("/admin/users/{member}");
    let new_user = |role: &str| {
        let email = format!("{}@example.test", unique(role));
        json!({"email": email, "name": "New", "role": role})
    };
    let (to_admin, to_owner) = (json!({"role": "admin"}), json!({"role": "owner"}));
    let rows = [
        (
            "create an owner",
            Method::POST,
            &users,
            Some(new_user("owner")),
        ),
        (
            "demote an owner",
            Method::PATCH,
            &target_path,
            Some(to_admin),
        ),
        (
            "promote to owner",
            Method::PATCH,
            &member_path,
            Some(to_owner),
        ),
        ("delete an owner", Method::DELETE, &target_path, None),
    ];
    let refusals = rows.map(|(what, method, path, body)| Refusal {
        what,
        api: &as_admin,
        method,
        path: path.clone(),
        body,
        status: 403,
        code: ROLE,
    });
    let before = list_all(&ctx.admin(), &users).await?;
    run_refusals(ctx, refusals).await?;
    ensure_eq!(
        list_all(&ctx.admin(), &users).await?,
        before,
        "users after the refusals"
    );

    // Positive controls: the admin key manages non-owners; the owner key manages owners.
    let resp = as_admin.post(&users, new_user("admin")).await?;
    expect_status(&resp, 201)?;
    let resp = as_admin
        .patch(&member_path, json!({"role": "viewer"}))
        .await?;
    ensure_eq!(
        expect_status(&resp, 200)?.get("role"),
        Some(&json!("viewer")),
        "role after the admin key's PATCH"
    );
    let created = as_owner.post(&users, new_user("owner")).await?;
    ensure_eq!(
        expect_status(&created, 201)?.get("role"),
        Some(&json!("owner")),
        "role of the owner the owner key created"
    );
    let resp = as_owner
        .patch(&target_path, json!({"role": "admin"}))
        .await?;
    ensure_eq!(
        expect_status(&resp, 200)?.get("role"),
        Some(&json!("admin")),
        "role after the owner key's demotion"
    );
    let second = field(&created.body, "id")?;
    expect_status(
        &as_owner.delete(&format!("/admin/users/{second}")).await?,
        204,
    )?;
    expect_error(
        &ctx.admin().get(&format!("/admin/users/{second}")).await?,
        404,
        "not_found",
    )?;
    Ok(())
}
