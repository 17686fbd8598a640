//! What the generation path reads and writes: model routes (model config + provider key), rate-limit
//! policies, and usage events.

use super::{Arg, Db};
use crate::fault::Fault;
use limits::Limit;
use serde::Deserialize;
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
    provider: Provider,
    sealed_key: String,
    base_url: Option<String>,
}

async fn provider_key(db: &Db, instance_id: &str, name: &str) -> Result<Option<KeyRow>, Fault> {
    db.one(
        "SELECT provider, sealed_key, base_url FROM provider_keys WHERE instance_id = ?1 AND name = ?2",
        &[Arg::Text(instance_id), Arg::Text(name)],
    )
    .await
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

/// Resolves a model id of the instance, or `provider_key_name/upstream_model`. `None` when neither exists.
pub async fn resolve(db: &Db, instance_id: &str, model: &str) -> Result<Option<Route>, Fault> {
    if let Some(config) = super::models::get(db, instance_id, model).await? {
        let key_name = config
            .provider_key
            .clone()
            .unwrap_or_else(|| default_key_name(config.provider).to_string());
        let key = provider_key(db, instance_id, &key_name).await?;
        return Ok(Some(Route {
            model: model.to_string(),
            provider: config.provider,
            upstream_model: config.upstream_model.clone(),
            base_url: config
                .base_url
                .clone()
                .or_else(|| key.as_ref().and_then(|k| k.base_url.clone())),
            sealed_key: key.map(|k| k.sealed_key),
            provider_key: key_name,
            config: Some(config),
        }));
    }
    let Some((key_name, upstream_model)) = model.split_once('/') else {
        return Ok(None);
    };
    let Some(key) = provider_key(db, instance_id, key_name).await? else {
        return Ok(None);
    };
    Ok(Some(Route {
        model: model.to_string(),
        provider_key: key_name.to_string(),
        provider: key.provider,
        upstream_model: upstream_model.to_string(),
        base_url: key.base_url,
        sealed_key: Some(key.sealed_key),
        config: None,
    }))
}

#[derive(Deserialize)]
struct PolicyRow {
    scope: String,
    target: String,
    requests_per_minute: Option<u64>,
    tokens_per_minute: Option<u64>,
}

/// The limits that apply to one key calling one provider key: a specific policy wins over the `*` one.
/// `None` in a slot means no policy at all for that scope.
pub async fn limits_for(
    db: &Db,
    instance_id: &str,
    key_id: &str,
    provider_key: &str,
) -> Result<(Option<Limit>, Option<Limit>), Fault> {
    let rows: Vec<PolicyRow> = db
        .all(
            "SELECT scope, target, requests_per_minute, tokens_per_minute FROM rate_limit_policies \
             WHERE instance_id = ?1 AND ((scope = 'key' AND target IN (?2, '*')) OR (scope = 'provider' AND target IN (?3, '*')))",
            &[Arg::Text(instance_id), Arg::Text(key_id), Arg::Text(provider_key)],
        )
        .await?;
    let pick = |scope: &str, specific: &str| {
        let of_scope = || rows.iter().filter(move |r| r.scope == scope);
        of_scope()
            .find(|r| r.target == specific)
            .or_else(|| of_scope().find(|r| r.target == "*"))
            .map(|r| Limit {
                requests_per_minute: r.requests_per_minute,
                tokens_per_minute: r.tokens_per_minute,
            })
    };
    Ok((pick("key", key_id), pick("provider", provider_key)))
}

/// One request's usage, written after the response.
#[derive(Debug, Clone, Default)]
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

pub async fn record_usage(db: &Db, e: &UsageEvent) -> Result<(), Fault> {
    db.stmt(
        "INSERT OR REPLACE INTO usage_events (request_id, org_id, instance_id, project_id, key_id, endpoint, model, provider, \
         upstream_model, status, error_code, stream, cached, attempts, prompt_tokens, completion_tokens, cost_usd, latency_ms, \
         upstream_ms, overhead_ms, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
        &[
            Arg::Text(&e.request_id),
            Arg::Text(&e.org_id),
            Arg::Text(&e.instance_id),
            Arg::opt_text(e.project_id.as_deref()),
            Arg::Text(&e.key_id),
            Arg::Text(e.endpoint),
            Arg::Text(&e.model),
            Arg::opt_text(e.provider.as_deref()),
            Arg::opt_text(e.upstream_model.as_deref()),
            Arg::Int(i64::from(e.status)),
            Arg::opt_text(e.error_code.as_deref()),
            Arg::Int(i64::from(e.stream)),
            Arg::Int(i64::from(e.cached)),
            Arg::Int(i64::from(e.attempts)),
            Arg::Int(i64::try_from(e.prompt_tokens).unwrap_or(i64::MAX)),
            Arg::Int(i64::try_from(e.completion_tokens).unwrap_or(i64::MAX)),
            Arg::Real(e.cost_usd),
            Arg::Real(e.latency_ms),
            Arg::Real(e.upstream_ms),
            Arg::Real(e.overhead_ms),
            Arg::Int(e.created_at),
        ],
    )?
    .run()
    .await?;
    Ok(())
}
