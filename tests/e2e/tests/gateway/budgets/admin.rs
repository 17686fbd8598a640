//! The budget admin API: bodies and paths are validated naming the field, a budget is the documented
//! object, sets and deletes are audited, another tenant cannot see or touch a budget (404), a project-bound
//! admin key cannot set the instance's or the org's (403), no key can raise its own, and a deleted budget
//! stops refusing at once.

use e2e::check::{expect_error_in, expect_keys};
use e2e::seed::{audit, create_project, expect_no_audit_any, field, request_id};
use e2e::{case, ensure, ensure_eq, expect_error, expect_status, Case, Ctx};
use reqwest::Method;
use serde_json::{json, Value};

use super::{
    budget_path, expect_no_budget_headers, expect_refused, expect_rfc3339, find, list, long_chat,
    org_of, priced_tenant, put_budget, usd_headers, usd_of, MAX_TOKENS,
};
use crate::tenant::{add_key, tenant, Tenant};
use crate::wire::{post, CHAT};

pub fn cases() -> Vec<Case> {
    vec![
        case!(budget_admin_is_validated_audited_and_isolated),
        case!(budgets_go_with_their_scope),
    ]
}

/// The fields of a budget object.
const BUDGET_FIELDS: [&str; 22] = [
    "object",
    "usd_exact",
    "applied",
    "instance_id",
    "project_id",
    "scope",
    "target",
    "period",
    "usd",
    "tokens",
    "soft_percent",
    "period_start",
    "resets_at",
    "spent_usd",
    "spent_tokens",
    "reserved_usd",
    "reserved_tokens",
    "in_flight",
    "remaining_usd",
    "remaining_tokens",
    "created_at",
    "updated_at",
];

fn org_path(org_id: &str, period: &str) -> String {
    format!("/admin/orgs/{org_id}/budgets/{period}")
}

/// Bad bodies and paths are refused naming what is wrong, and create nothing.
async fn bad_budgets_name_the_field(ctx: &Ctx, ins: &str) -> Result<(), String> {
    let path = budget_path(ins, "instance", ins, "monthly");
    let admin = ctx.admin();
    let resp = admin.put(&path, json!({"usd": -1.0})).await?;
    expect_error_in(&resp, &[400, 422])?.message_contains("usd")?;
    let resp = admin
        .put(&path, json!({"usd": 1.0, "colour": "red"}))
        .await?;
    expect_error(&resp, 400, "unknown_field")?.message_contains("colour")?;
    let resp = admin.put(&path, json!({"soft_percent": 80})).await?;
    expect_error_in(&resp, &[400, 422])?;
    let resp = admin
        .put(
            &budget_path(ins, "instance", ins, "yearly"),
            json!({"usd": 1.0}),
        )
        .await?;
    expect_error_in(&resp, &[400, 404])?.message_contains("period")?;
    let resp = admin
        .put(
            &budget_path(ins, "team", ins, "monthly"),
            json!({"usd": 1.0}),
        )
        .await?;
    expect_error_in(&resp, &[400, 404])?;
    ensure_eq!(
        list(&admin, ins).await?,
        Vec::<Value>::new(),
        "budgets after refused writes"
    );
    Ok(())
}

/// A fresh monthly budget is the documented object: its limits as set, nothing spent, all of it left, the
/// month's start and its end (UTC).
fn expect_fresh(budget: &Value, ins: &str) -> Result<(), String> {
    expect_keys(budget, &BUDGET_FIELDS)?;
    for (name, want) in [
        ("scope", json!("instance")),
        ("target", json!(ins)),
        ("period", json!("monthly")),
        ("tokens", Value::Null),
        ("soft_percent", json!(80)),
        ("spent_tokens", json!(0)),
        ("reserved_tokens", json!(0)),
        ("in_flight", json!(0)),
        ("remaining_tokens", Value::Null),
        ("applied", json!(true)),
        ("instance_id", json!(ins)),
        ("project_id", Value::Null),
    ] {
        ensure_eq!(budget.get(name), Some(&want), "{name} of {budget}");
    }
    for (name, want) in [
        ("usd", 10_000_000),
        ("spent_usd", 0),
        ("reserved_usd", 0),
        ("remaining_usd", 10_000_000),
    ] {
        ensure_eq!(usd_of(budget, name)?, want, "{name} (µ$) of {budget}");
    }
    for name in ["period_start", "resets_at"] {
        expect_rfc3339(budget.get(name).and_then(Value::as_str).unwrap_or_default())?;
    }
    Ok(())
}

/// A key of another tenant gets 404 for this instance's and org's budgets, reading or writing; a
/// project-bound admin key of this instance gets 403 setting the instance's or the org's. None of them
/// writes an audit row.
async fn others_cannot_touch_budgets(ctx: &Ctx, t: &Tenant, org: &str) -> Result<(), String> {
    let ins = t.instance_id.as_str();
    let path = budget_path(ins, "instance", ins, "monthly");
    let foreign = tenant(ctx, "budget-foreign").await?;
    let reader = foreign.api(ctx);
    for read in [
        format!("/admin/instances/{ins}/budgets"),
        format!("/admin/orgs/{org}/budgets"),
    ] {
        expect_error_in(&reader.get(&read).await?, &[404])?;
    }
    let writer = add_key(
        ctx,
        &foreign.instance_id,
        json!({"name": "foreign writer", "scopes": ["admin:write"]}),
    )
    .await?;
    let project = field(&create_project(ctx, ins, "budget-admin").await?, "id")?;
    let project_admin = add_key(
        ctx,
        ins,
        json!({"name": "project admin", "scopes": ["admin:write", "generate"], "project_id": project}),
    )
    .await?;
    let body = json!({"usd": 1000.0});
    let attempts = [
        (&writer, Method::PUT, path.clone(), 404),
        (&writer, Method::DELETE, path.clone(), 404),
        (&writer, Method::PUT, org_path(org, "monthly"), 404),
        (&project_admin, Method::PUT, path.clone(), 403),
        (&project_admin, Method::PUT, org_path(org, "monthly"), 403),
    ];
    let mut ids = Vec::new();
    for (key, method, target, status) in attempts {
        let rid = request_id("budget-refused");
        let sent = (method == Method::PUT).then(|| body.clone());
        let resp = ctx
            .with_key(&key.secret)
            .send_with_id(method.clone(), &target, sent, &rid)
            .await?;
        expect_error_in(&resp, &[status])?;
        ids.push(rid);
    }
    expect_no_audit_any(ctx, &ids).await?;
    let budgets = list(&ctx.admin(), ins).await?;
    let budget = find(&budgets, "instance", ins, "monthly")
        .ok_or_else(|| format!("the instance budget is gone: {budgets:?}"))?;
    ensure_eq!(
        usd_of(budget, "usd")?,
        10_000_000,
        "usd (µ$) after refused writes: {budget}"
    );
    Ok(())
}

/// Audit entries with `action` in the org, and whether all were by the platform.
async fn audited(ctx: &Ctx, org: &str, action: &str) -> Result<Vec<Value>, String> {
    let entries: Vec<Value> = audit(ctx, org)
        .await?
        .into_iter()
        .filter(|e| e.get("action").and_then(Value::as_str) == Some(action))
        .collect();
    ensure!(
        entries
            .iter()
            .all(|e| e.get("actor") == Some(&json!("platform"))),
        "{action} entries not by the platform: {entries:?}"
    );
    Ok(entries)
}

fn of_instance(entries: &[Value], ins: &str) -> usize {
    entries
        .iter()
        .filter(|e| e.get("instance_id").and_then(Value::as_str) == Some(ins))
        .count()
}

/// Validation; a fresh instance budget and an org budget (listed with every budget of the org); others kept
/// out; a key's own budget of $0.015 that the key cannot raise (403, nothing written) and that admits one
/// $0.01 request and refuses the next; `budget.set` audited for the instance, the key and the org. Then all
/// three are deleted (204, `budget.delete` audited): the key's next request passes without budget headers,
/// and nothing is listed any more.
async fn budget_admin_is_validated_audited_and_isolated(ctx: &Ctx) -> Result<(), String> {
    let t = priced_tenant(ctx, "budget-admin").await?;
    let ins = t.instance_id.as_str();
    let org = org_of(ctx, &t).await?;
    bad_budgets_name_the_field(ctx, ins).await?;
    let created = put_budget(
        ctx,
        ins,
        "instance",
        ins,
        "monthly",
        json!({"usd": 10.0, "soft_percent": 80}),
    )
    .await?;
    expect_fresh(&created, ins)?;
    let resp = ctx
        .admin()
        .put(&org_path(&org, "monthly"), json!({"usd": 100.0}))
        .await?;
    ensure!(
        matches!(resp.status, 200 | 201),
        "setting the org budget: {}",
        resp.describe()
    );
    let resp = ctx
        .admin()
        .get(&format!("/admin/orgs/{org}/budgets"))
        .await?;
    expect_status(&resp, 200)?;
    let in_org = resp.data()?.clone();
    ensure!(
        find(&in_org, "org", &org, "monthly").is_some()
            && find(&in_org, "instance", ins, "monthly").is_some(),
        "the org's budgets list both its own and its instance's: {in_org:?}"
    );
    others_cannot_touch_budgets(ctx, &t, &org).await?;

    let own = add_key(
        ctx,
        ins,
        json!({"name": "own budget", "scopes": ["admin:write", "generate"]}),
    )
    .await?;
    let own_path = budget_path(ins, "key", &own.id, "monthly");
    put_budget(ctx, ins, "key", &own.id, "monthly", json!({"usd": 0.015})).await?;
    let rid = request_id("budget-raise");
    let resp = ctx
        .with_key(&own.secret)
        .send_with_id(Method::PUT, &own_path, Some(json!({"usd": 1000.0})), &rid)
        .await?;
    expect_error_in(&resp, &[403])?;
    expect_no_audit_any(ctx, &[rid]).await?;
    let api = ctx.with_key(&own.secret);
    let body = long_chat("my own budget", MAX_TOKENS);
    let first = post(&api, CHAT, &body, &[]).await?;
    let key_scope = format!("key:{}", own.id);
    usd_headers(&first, &key_scope, 15_000, true)?;
    let second = post(&api, CHAT, &body, &[]).await?;
    expect_refused(&second, "monthly", &key_scope)?;

    let sets = audited(ctx, &org, "budget.set").await?;
    ensure!(
        of_instance(&sets, ins) >= 2 && sets.len() >= 3,
        "budget.set entries for the instance, the key and the org: {sets:?}"
    );
    for path in [
        budget_path(ins, "instance", ins, "monthly"),
        own_path,
        org_path(&org, "monthly"),
    ] {
        let resp = ctx.admin().delete(&path).await?;
        ensure_eq!(resp.status, 204, "DELETE {path}: {}", resp.describe());
    }
    let deletes = audited(ctx, &org, "budget.delete").await?;
    ensure!(
        of_instance(&deletes, ins) >= 2 && deletes.len() >= 3,
        "budget.delete entries for the instance, the key and the org: {deletes:?}"
    );
    let after = post(&api, CHAT, &body, &[]).await?;
    ensure_eq!(
        after.status,
        200,
        "a request once the budgets are deleted: {}",
        after.describe()
    );
    expect_no_budget_headers(&after)?;
    ensure_eq!(
        list(&ctx.admin(), ins).await?,
        Vec::<Value>::new(),
        "the instance's budgets after the deletes"
    );
    let resp = ctx
        .admin()
        .get(&format!("/admin/orgs/{org}/budgets"))
        .await?;
    ensure_eq!(
        expect_status(&resp, 200)?.get("data"),
        Some(&json!([])),
        "the org's budgets after the deletes"
    );
    let status = api.get("/v1/budget").await?;
    ensure_eq!(
        expect_status(&status, 200)?.get("data"),
        Some(&json!([])),
        "GET /v1/budget after the deletes"
    );
    Ok(())
}

/// A budget names its scope by id, outside the schema's cascades: deleting an API key takes the key's budgets
/// with it, deleting a project takes the project's and those of its keys, and the instance's own stays.
async fn budgets_go_with_their_scope(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "budget-scope-delete").await?;
    let ins = t.instance_id.as_str();
    let project = field(&create_project(ctx, ins, "budget-gone").await?, "id")?;
    let key = add_key(
        ctx,
        ins,
        json!({"name": "budgeted", "scopes": ["generate"], "project_id": project}),
    )
    .await?;
    let other = add_key(ctx, ins, json!({"name": "kept", "scopes": ["generate"]})).await?;
    for (scope, target) in [
        ("instance", ins),
        ("project", project.as_str()),
        ("key", key.id.as_str()),
        ("key", other.id.as_str()),
    ] {
        put_budget(ctx, ins, scope, target, "total", json!({"usd": 5.0})).await?;
    }
    let admin = ctx.admin();
    let resp = admin.delete(&format!("/admin/keys/{}", other.id)).await?;
    ensure_eq!(resp.status, 204, "deleting a key: {}", resp.describe());
    let after_key = list(&admin, ins).await?;
    ensure!(
        find(&after_key, "key", &other.id, "total").is_none()
            && find(&after_key, "key", &key.id, "total").is_some(),
        "only the deleted key's budget is gone: {after_key:?}"
    );
    let resp = admin.delete(&format!("/admin/projects/{project}")).await?;
    ensure_eq!(resp.status, 204, "deleting a project: {}", resp.describe());
    let after_project = list(&admin, ins).await?;
    ensure_eq!(
        after_project.len(),
        1,
        "the project's and its key's budgets are gone: {after_project:?}"
    );
    ensure!(
        find(&after_project, "instance", ins, "total").is_some(),
        "the instance's budget stays: {after_project:?}"
    );
    Ok(())
}
