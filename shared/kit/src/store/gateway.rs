//! What the generation path reads and writes: model routes (model config + provider key), rate-limit
//! policies, and usage events.

use super::{Arg, Db};
use crate::fault::Fault;
use crate::memo::Memo;
use limits::Limit;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::rc::Rc;
use tenancy::inputs::Provider;
use tenancy::records::ModelConfig;

/// Where a model name leads: the upstream, its credentials (still sealed) and, for configured models,
/// the model config (prices, limits, fallbacks).
#[derive(Debug, Clone)]
pub struct Route {
    /// The name the caller used.
    pub model: String,
    pub provider_key: String,
    pub provider: Provider,
    pub upstream_model: String,
    pub base_url: Option<String>,
    pub sealed_key: Option<String>,
    pub config: Option<ModelConfig>,
}

#[derive(Deserialize)]
struct KeyRow {
    name: String,
    provider: Provider,
    sealed_key: String,
    base_url: Option<String>,
}

#[derive(Deserialize)]
struct PolicyRow {
    scope: String,
    target: String,
    requests_per_minute: Option<u64>,
    tokens_per_minute: Option<u64>,
}

/// What the generation path needs to know about an instance: its models, provider keys (sealed) and
/// rate-limit policies, read in one D1 round trip and kept in the isolate (see [`crate::memo`]).
pub struct Snapshot {
    models: HashMap<String, ModelConfig>,
    keys: HashMap<String, KeyRow>,
    policies: Vec<PolicyRow>,
}

thread_local! {
    static SNAPSHOTS: Memo<Snapshot> = Memo::default();
}

/// The instance's snapshot, from this isolate's cache or D1.
pub async fn snapshot(env: &worker::Env, instance_id: &str) -> Result<Rc<Snapshot>, Fault> {
    if let Some(hit) = SNAPSHOTS.with(|m| m.get(instance_id)) {
        return Ok(hit);
    }
    let snapshot = Rc::new(load(&Db::from_env(env)?, instance_id).await?);
    SNAPSHOTS.with(|m| m.put(instance_id, snapshot.clone()));
    Ok(snapshot)
}

/// Drops cached snapshots after a change to those instances' models, provider keys or policies.
pub fn forget(instance_ids: &[String]) {
    SNAPSHOTS.with(|m| instance_ids.iter().for_each(|id| m.remove(id)));
}

async fn load(db: &Db, instance_id: &str) -> Result<Snapshot, Fault> {
    let arg = [Arg::Text(instance_id)];
    let results = db
        .batch(vec![
            db.stmt(&format!("SELECT {} FROM model_configs WHERE instance_id = ?1 LIMIT 10000", super::models::COLUMNS), &arg)?,
            db.stmt("SELECT name, provider, sealed_key, base_url FROM provider_keys WHERE instance_id = ?1", &arg)?,
            db.stmt(
                "SELECT scope, target, requests_per_minute, tokens_per_minute FROM rate_limit_policies WHERE instance_id = ?1",
                &arg,
            )?,
        ])
        .await?;
    let [models, keys, policies] = results.as_slice() else {
        return Err(Fault::Data(
            "snapshot batch returned an unexpected number of results".into(),
        ));
    };
    let models = super::models::from_rows(models.results()?);
    Ok(Snapshot {
        models: models.into_iter().map(|m| (m.id.clone(), m)).collect(),
        keys: keys
            .results::<KeyRow>()?
            .into_iter()
            .map(|k| (k.name.clone(), k))
            .collect(),
        policies: policies.results::<PolicyRow>()?,
    })
}

/// The provider key a model uses by default: the one named like its provider.
fn default_key_name(provider: Provider) -> &'static str {
    match provider {
        Provider::Openai => "openai",
        Provider::Anthropic => "anthropic",
        Provider::OpenaiCompatible => "openai_compatible",
        Provider::Ideogram => "ideogram",
    }
}

impl Snapshot {
    /// Resolves a model id of the instance, or `provider_key_name/upstream_model`. `None` when neither exists.
    pub fn route(&self, model: &str) -> Option<Route> {
        if let Some(config) = self.models.get(model) {
            let key_name = config
                .provider_key
                .clone()
                .unwrap_or_else(|| default_key_name(config.provider).to_string());
            let key = self.keys.get(&key_name);
            return Some(Route {
                model: model.to_string(),
                provider: config.provider,
                upstream_model: config.upstream_model.clone(),
                // Only the provider key's: its secret must go nowhere else (a model's own base_url is ignored).
                base_url: key.and_then(|k| k.base_url.clone()),
                sealed_key: key.map(|k| k.sealed_key.clone()),
                provider_key: key_name,
                config: Some(config.clone()),
            });
        }
        let (key_name, upstream_model) = model.split_once('/')?;
        let key = self.keys.get(key_name)?;
        Some(Route {
            model: model.to_string(),
            provider_key: key_name.to_string(),
            provider: key.provider,
            upstream_model: upstream_model.to_string(),
            base_url: key.base_url.clone(),
            sealed_key: Some(key.sealed_key.clone()),
            config: None,
        })
    }

    /// The limits that apply to one key calling one provider key: a specific policy wins over the `*` one.
    /// `None` in a slot means no policy at all for that scope.
    pub fn limits_for(&self, key_id: &str, provider_key: &str) -> (Option<Limit>, Option<Limit>) {
        let pick = |scope: &str, specific: &str| {
            let of_scope = || self.policies.iter().filter(move |r| r.scope == scope);
            of_scope()
                .find(|r| r.target == specific)
                .or_else(|| of_scope().find(|r| r.target == "*"))
                .map(|r| Limit {
                    requests_per_minute: r.requests_per_minute,
                    tokens_per_minute: r.tokens_per_minute,
                })
        };
        (pick("key", key_id), pick("provider", provider_key))
    }
}

/// One request's usage, written after the response. Its JSON field names are the `usage_events` columns
/// ([`USAGE_COLUMNS`]): rows travel to D1 as one JSON array (see [`record_usage`]).
#[derive(Debug, Clone, Default, Serialize)]
pub struct UsageEvent {
    pub request_id: String,
    pub org_id: String,
    pub instance_id: String,
    pub project_id: Option<String>,
    pub key_id: String,
    pub endpoint: &'static str,
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
    pub cost_usd: f64,
    pub latency_ms: f64,
    pub upstream_ms: f64,
    pub overhead_ms: f64,
    pub created_at: i64,
}

/// The `usage_events` columns, in [`UsageEvent`]'s field order.
pub const USAGE_COLUMNS: [&str; 21] = [
    "request_id",
    "org_id",
    "instance_id",
    "project_id",
    "key_id",
    "endpoint",
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
    "cost_usd",
    "latency_ms",
    "upstream_ms",
    "overhead_ms",
    "created_at",
];

/// Rows per INSERT: their JSON stays far below D1's limits on a bound value (2 MB).
const USAGE_ROWS_PER_STATEMENT: usize = 200;

/// Writes usage rows in one D1 batch (all or none). Each statement carries up to
/// [`USAGE_ROWS_PER_STATEMENT`] rows as ONE bound JSON array that SQLite unpacks (`json_each`): one prepared
/// statement and one value to bind instead of 21 per row, which is most of what a write costs here.
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
        "INSERT OR REPLACE INTO usage_events ({}) SELECT {} FROM json_each(?1)",
        USAGE_COLUMNS.join(", "),
        values.join(", ")
    )
}
