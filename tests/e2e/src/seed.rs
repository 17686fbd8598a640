//! Fresh tenants for each case, created through the admin API (never shared between cases), and
//! readers for lists and the audit log.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::check::expect_status;
use crate::client::{Api, Resp};
use crate::ctx::Ctx;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Milliseconds since the Unix epoch (the API's timestamp unit).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// A slug unique within this run: `<label>-<suffix>`, at most 48 chars of `a-z 0-9 -`.
pub fn unique(label: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let clean: String = label
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
        .take(30)
        .collect();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{clean}-{:05x}{n:x}", nanos & 0xf_ffff)
}

/// A string field of a JSON object.
pub fn field(v: &Value, name: &str) -> Result<String, String> {
    v.get(name)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("no string `{name}` in {v}"))
}

/// The `id` of a created resource, after checking the status.
fn created(resp: &Resp, status: u16) -> Result<Value, String> {
    expect_status(resp, status).cloned()
}

pub async fn create_org(ctx: &Ctx, label: &str) -> Result<Value, String> {
    let slug = unique(label);
    let resp = ctx
        .admin()
        .post(
            "/admin/orgs",
            json!({"name": format!("Org {slug}"), "slug": slug}),
        )
        .await?;
    created(&resp, 201)
}

pub async fn create_instance(ctx: &Ctx, org_id: &str, label: &str) -> Result<Value, String> {
    let slug = unique(label);
    let resp = ctx
        .admin()
        .post(
            &format!("/admin/orgs/{org_id}/instances"),
            json!({"name": format!("Instance {slug}"), "slug": slug}),
        )
        .await?;
    created(&resp, 201)
}

pub async fn create_project(ctx: &Ctx, instance_id: &str, label: &str) -> Result<Value, String> {
    let slug = unique(label);
    let resp = ctx
        .admin()
        .post(
            &format!("/admin/instances/{instance_id}/projects"),
            json!({"name": format!("Project {slug}"), "slug": slug}),
        )
        .await?;
    created(&resp, 201)
}

pub async fn create_user(
    ctx: &Ctx,
    org_id: &str,
    role: &str,
    instance_ids: &[&str],
) -> Result<Value, String> {
    let email = format!("{}@example.test", unique(role));
    let resp = ctx
        .admin()
        .post(
            &format!("/admin/orgs/{org_id}/users"),
            json!({"email": email, "name": format!("User {role}"), "role": role, "instance_ids": instance_ids}),
        )
        .await?;
    created(&resp, 201)
}

/// A created API key: its id, its one-time secret, and the create response body.
#[derive(Clone, Debug)]
pub struct Key {
    pub id: String,
    pub secret: String,
    pub body: Value,
}

/// Creates a key as `api` with `body`; the secret is remembered for the final log check.
pub async fn create_key(
    ctx: &Ctx,
    api: &Api<'_>,
    instance_id: &str,
    body: Value,
) -> Result<Key, String> {
    let resp = api
        .post(&format!("/admin/instances/{instance_id}/keys"), body)
        .await?;
    let body = created(&resp, 201)?;
    let secret = field(&body, "secret")?;
    ctx.remember_secret(&secret);
    Ok(Key {
        id: field(&body, "id")?,
        secret,
        body,
    })
}

/// Creates a key as the platform admin.
pub async fn admin_key(ctx: &Ctx, instance_id: &str, body: Value) -> Result<Key, String> {
    create_key(ctx, &ctx.admin(), instance_id, body).await
}

/// One org with one instance and one project, all fresh.
#[derive(Clone, Debug)]
pub struct Tenant {
    pub org_id: String,
    pub instance_id: String,
    pub project_id: String,
    pub org: Value,
    pub instance: Value,
    pub project: Value,
}

pub async fn seed_tenant(ctx: &Ctx, label: &str) -> Result<Tenant, String> {
    let org = create_org(ctx, label).await?;
    let org_id = field(&org, "id")?;
    let instance = create_instance(ctx, &org_id, label).await?;
    let instance_id = field(&instance, "id")?;
    let project = create_project(ctx, &instance_id, label).await?;
    Ok(Tenant {
        org_id,
        project_id: field(&project, "id")?,
        instance_id,
        org,
        instance,
        project,
    })
}

/// Every item of a paginated list (following `next_cursor`, at most 50 pages).
pub async fn list_all(api: &Api<'_>, path: &str) -> Result<Vec<Value>, String> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit=200&cursor={c}"),
            None => format!("{path}{sep}limit=200"),
        };
        let resp = api.get(&url).await?;
        expect_status(&resp, 200)?;
        items.extend(resp.data()?.iter().cloned());
        match resp.body.get("next_cursor").and_then(Value::as_str) {
            Some(next) => cursor = Some(next.to_string()),
            None => return Ok(items),
        }
    }
    Err(format!("{path}: more than 50 pages"))
}

/// The org's audit entries, oldest first, as the platform admin sees them.
pub async fn audit(ctx: &Ctx, org_id: &str) -> Result<Vec<Value>, String> {
    list_all(&ctx.admin(), &format!("/admin/orgs/{org_id}/audit")).await
}

/// The `action` of each audit entry.
pub fn actions(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .filter_map(|e| e.get("action").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

/// The audit entry with `action` and `target_id`, if any.
pub fn find_audit<'a>(entries: &'a [Value], action: &str, target_id: &str) -> Option<&'a Value> {
    entries.iter().find(|e| {
        e.get("action").and_then(Value::as_str) == Some(action)
            && e.get("target_id").and_then(Value::as_str) == Some(target_id)
    })
}

/// Checks that the org's audit has an `action` entry for `target_id` by `actor`.
pub async fn expect_audit(
    ctx: &Ctx,
    org_id: &str,
    action: &str,
    target_id: &str,
    actor: &str,
) -> Result<(), String> {
    let entries = audit(ctx, org_id).await?;
    let entry = find_audit(&entries, action, target_id).ok_or_else(|| {
        format!(
            "no audit entry {action} for {target_id}; actions: {:?}",
            actions(&entries)
        )
    })?;
    let got = entry
        .get("actor")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if got != actor {
        return Err(format!(
            "audit {action}: actor {got:?}, expected {actor:?}: {entry}"
        ));
    }
    Ok(())
}

/// A fresh request id for a request whose side effects are checked afterwards.
pub fn request_id(label: &str) -> String {
    unique(label)
}

/// Our request ids (what audit rows carry) of the requests sent with `x-request-id: client_id`; an
/// error when no response echoed it (a check on "no rows" must not pass for want of an id).
fn ours_for(ctx: &Ctx, client_id: &str) -> Result<Vec<String>, String> {
    let ours = ctx.ours_for(client_id);
    if ours.is_empty() {
        return Err(format!(
            "no response echoed x-client-request-id {client_id:?}, so its audit rows cannot be found"
        ));
    }
    Ok(ours)
}

fn sql_list(ids: &[String]) -> String {
    ids.iter()
        .map(|id| format!("'{}'", id.replace('\'', "")))
        .collect::<Vec<_>>()
        .join(",")
}

/// Number of audit rows (any org) written by the request(s) sent with `x-request-id: request_id`,
/// read from D1 (by our request ids, which the responses carried).
pub async fn audit_rows_for(ctx: &Ctx, request_id: &str) -> Result<usize, String> {
    let ours = ours_for(ctx, request_id)?;
    let rows = ctx
        .sql(&format!(
            "SELECT count(*) AS n FROM audit_log WHERE request_id IN ({})",
            sql_list(&ours)
        ))
        .await?;
    rows.first()
        .and_then(|r| r.get("n"))
        .and_then(Value::as_u64)
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
        .ok_or_else(|| format!("no count in {rows:?}"))
}

/// The request with `request_id` wrote no audit row (so, by the same-batch rule, nothing at all).
pub async fn expect_no_audit(ctx: &Ctx, request_id: &str) -> Result<(), String> {
    match audit_rows_for(ctx, request_id).await? {
        0 => Ok(()),
        n => Err(format!(
            "the failed request {request_id} wrote {n} audit rows"
        )),
    }
}

/// None of the requests sent with these ids wrote an audit row (one D1 read).
pub async fn expect_no_audit_any(ctx: &Ctx, request_ids: &[String]) -> Result<(), String> {
    if request_ids.is_empty() {
        return Ok(());
    }
    let mut ours = Vec::new();
    for id in request_ids {
        ours.extend(ours_for(ctx, id)?);
    }
    let rows = ctx
        .sql(&format!(
            "SELECT request_id, action FROM audit_log WHERE request_id IN ({})",
            sql_list(&ours)
        ))
        .await?;
    if rows.is_empty() {
        Ok(())
    } else {
        Err(format!("refused requests wrote audit rows: {rows:?}"))
    }
}
