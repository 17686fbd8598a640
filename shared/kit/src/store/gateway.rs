//! What the generation path reads and writes: an instance's [`Catalog`] (model configs, provider keys,
//! rate-limit policies) and usage events.

use super::{Arg, Db};
use crate::fault::Fault;
use crate::memo::Memo;
use generation::catalog::{Catalog, Policy, ProviderKeyEntry};
use serde::Serialize;
use std::rc::Rc;

thread_local! {
    static SNAPSHOTS: Memo<Catalog> = Memo::default();
}

/// The instance's catalog, from this isolate's cache or D1 (one round trip).
pub async fn snapshot(env: &worker::Env, instance_id: &str) -> Result<Rc<Catalog>, Fault> {
    if let Some(hit) = SNAPSHOTS.with(|m| m.get(instance_id)) {
        return Ok(hit);
    }
    // A load that raced a config change's notice is used once but not cached (see `crate::memo`).
    let started = crate::clock::tick_ms();
    let snapshot = Rc::new(load(&Db::from_env(env)?, instance_id).await?);
    SNAPSHOTS.with(|m| m.put_fresh(instance_id, snapshot.clone(), started));
    Ok(snapshot)
}

/// Drops cached snapshots after a change to those instances' models, provider keys or policies.
pub fn forget(instance_ids: &[String]) {
    SNAPSHOTS.with(|m| instance_ids.iter().for_each(|id| m.remove(id)));
}

async fn load(db: &Db, instance_id: &str) -> Result<Catalog, Fault> {
    let arg = [Arg::Text(instance_id)];
    let results = db
        .batch(vec![
            db.stmt(&format!("SELECT {} FROM model_configs WHERE instance_id = ?1 LIMIT 10000", super::models::COLUMNS), &arg)?,
            db.stmt("SELECT name, provider, sealed_key, base_url, updated_at FROM provider_keys WHERE instance_id = ?1", &arg)?,
            db.stmt(
                "SELECT scope, target, requests_per_minute, tokens_per_minute, images_per_minute FROM rate_limit_policies \
                 WHERE instance_id = ?1",
                &arg,
            )?,
            db.stmt(
                "SELECT DISTINCT scope FROM budgets WHERE instance_id = ?1                  OR scope = 'org:' || (SELECT org_id FROM instances WHERE id = ?1)",
                &arg,
            )?,
        ])
        .await?;
    let [models, keys, policies, budgets] = results.as_slice() else {
        return Err(Fault::Data(
            "snapshot batch returned an unexpected number of results".into(),
        ));
    };
    Ok(Catalog::new(
        super::models::from_rows(models.results()?),
        keys.results::<ProviderKeyEntry>()?,
        policies.results::<Policy>()?,
    )
    .with_budget_scopes(
        budgets
            .results::<BudgetScope>()?
            .into_iter()
            .map(|b| b.scope),
    ))
}

#[derive(serde::Deserialize)]
struct BudgetScope {
    scope: String,
}

/// One request's usage, written after the response. Its JSON field names are the `usage_events` columns
/// ([`USAGE_COLUMNS`]): rows travel to D1 as one JSON array (see [`record_usage`]).
#[derive(Debug, Clone, Default, Serialize)]
pub struct UsageEvent {
    /// The row's own id, from [`new_usage_id`]: never anything a caller chose.
    pub id: String,
    /// Ours ([`crate::Call::request_id`]), the `x-request-id` the caller got back.
    pub request_id: String,
    /// What the caller sent as `x-request-id`, if anything ([`crate::Call::client_request_id`]).
    pub client_request_id: Option<String>,
    pub org_id: String,
    pub instance_id: String,
    pub project_id: Option<String>,
    pub key_id: String,
    pub endpoint: &'static str,
    /// What was asked for: `text` (chat, messages, responses, generate), `embedding` or `image` (the
    /// column's CHECK refuses anything else, an empty string included).
    pub kind: &'static str,
    pub model: String,
    pub provider: Option<String>,
    pub upstream_model: Option<String>,
    pub status: u16,
    pub error_code: Option<String>,
    pub stream: bool,
    pub cached: bool,
    pub attempts: u32,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Images stored for the caller (0 unless `kind` is `image`).
    pub images: u32,
    pub cost_usd: f64,
    pub latency_ms: f64,
    pub upstream_ms: f64,
    pub overhead_ms: f64,
    pub created_at: i64,
}

/// The `usage_events` columns, in [`UsageEvent`]'s field order.
pub const USAGE_COLUMNS: [&str; 25] = [
    "id",
    "request_id",
    "client_request_id",
    "org_id",
    "instance_id",
    "project_id",
    "key_id",
    "endpoint",
    "kind",
    "model",
    "provider",
    "upstream_model",
    "status",
    "error_code",
    "stream",
    "cached",
    "attempts",
    "prompt_tokens",
    "completion_tokens",
    "images",
    "cost_usd",
    "latency_ms",
    "upstream_ms",
    "overhead_ms",
    "created_at",
];

/// A new usage row id: `use_` + the time-ordered 26-char body of `tenancy::ids` (ULID layout).
pub fn new_usage_id(now_ms: i64) -> String {
    // tenancy has no usage id kind; the body is the same whatever the prefix.
    let id = tenancy::ids::new_id(
        tenancy::ids::IdKind::Audit,
        now_ms.max(0) as u64,
        &crate::random::bytes::<10>(),
    );
    let body = id
        .strip_prefix(tenancy::ids::IdKind::Audit.prefix())
        .unwrap_or(&id);
    format!("use_{body}")
}

/// Rows per INSERT: their JSON stays far below D1's limits on a bound value (2 MB).
const USAGE_ROWS_PER_STATEMENT: usize = 200;

/// Writes usage rows in one D1 batch (all or none). Plain inserts: a row is never replaced. A row whose
/// `id` already exists is skipped (`ON CONFLICT (id) DO NOTHING`): ids are ours and unique, so that only
/// happens when a retried batch had in fact been written, which makes [`record_usage`] safe to retry. Each statement carries up to
/// [`USAGE_ROWS_PER_STATEMENT`] rows as ONE bound JSON array that SQLite unpacks (`json_each`): one prepared
/// statement and one value to bind instead of one per column and row, which is most of what a write costs here.
/// JSON `true`/`false` become 1/0, `null` NULL, numbers keep their integer or real type.
pub async fn record_usage(db: &Db, events: &[UsageEvent]) -> Result<(), Fault> {
    if events.is_empty() {
        return Ok(());
    }
    let sql = usage_insert_sql();
    let statements = events
        .chunks(USAGE_ROWS_PER_STATEMENT)
        .map(|rows| db.stmt(&sql, &[Arg::Text(&serde_json::to_string(rows)?)]))
        .collect::<Result<Vec<_>, _>>()?;
    db.batch(statements).await?;
    Ok(())
}

fn usage_insert_sql() -> String {
    let values: Vec<String> = USAGE_COLUMNS
        .iter()
        .map(|c| format!("json_extract(value, '$.{c}')"))
        .collect();
    format!(
        // `WHERE true`: SQLite's parser needs it between a SELECT and an upsert clause.
        "INSERT INTO usage_events ({}) SELECT {} FROM json_each(?1) WHERE true ON CONFLICT (id) DO NOTHING",
        USAGE_COLUMNS.join(", "),
        values.join(", ")
    )
}
