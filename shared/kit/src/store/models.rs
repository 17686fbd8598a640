//! Model configs of an instance: the catalog text and image generation resolve model names against.

use super::audit::{Event, Writer};
use super::{json_column, Arg, Db};
use crate::fault::Fault;
use serde::Deserialize;
use serde_json::json;
use tenancy::inputs::Provider;
use tenancy::page::Page;
use tenancy::records::ModelConfig;
use worker::D1PreparedStatement;

pub(crate) const COLUMNS: &str = "instance_id, id, provider, upstream_model, provider_key, base_url, capabilities, \
     input_price_per_mtok, output_price_per_mtok, price_per_image, max_output_tokens, fallbacks, enabled, \
     created_at, updated_at, image_prices";

#[derive(Deserialize)]
pub(crate) struct Row {
    instance_id: String,
    id: String,
    provider: Provider,
    upstream_model: String,
    provider_key: Option<String>,
    capabilities: String,
    input_price_per_mtok: Option<f64>,
    output_price_per_mtok: Option<f64>,
    price_per_image: Option<f64>,
    /// JSON object, or NULL.
    image_prices: Option<String>,
    max_output_tokens: Option<u32>,
    fallbacks: String,
    enabled: i64,
    created_at: i64,
    updated_at: i64,
}

impl From<Row> for ModelConfig {
    fn from(r: Row) -> ModelConfig {
        ModelConfig {
            instance_id: r.instance_id,
            id: r.id,
            provider: r.provider,
            upstream_model: r.upstream_model,
            provider_key: r.provider_key,
            // A value stored before base URLs moved to provider keys is ignored (and cleared on update):
            // a model is served where its provider key says, so the key's secret goes nowhere else.
            base_url: None,
            capabilities: json_column(&r.capabilities),
            input_price_per_mtok: r.input_price_per_mtok,
            output_price_per_mtok: r.output_price_per_mtok,
            price_per_image: r.price_per_image,
            image_prices: r.image_prices.as_deref().and_then(json_column),
            max_output_tokens: r.max_output_tokens,
            fallbacks: json_column(&r.fallbacks),
            enabled: r.enabled != 0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Model configs from their rows.
pub(crate) fn from_rows(rows: Vec<Row>) -> Vec<ModelConfig> {
    rows.into_iter().map(ModelConfig::from).collect()
}

fn write_stmt(db: &Db, sql: &str, m: &ModelConfig) -> Result<D1PreparedStatement, Fault> {
    let provider = super::provider_keys::provider_name(m.provider)?;
    let capabilities = serde_json::to_string(&m.capabilities)?;
    let fallbacks = serde_json::to_string(&m.fallbacks)?;
    let image_prices = m
        .image_prices
        .as_ref()
        .map(serde_json::to_string)
        .transpose()?;
    db.stmt(
        sql,
        &[
            Arg::Text(&m.instance_id),
            Arg::Text(&m.id),
            Arg::Text(&provider),
            Arg::Text(&m.upstream_model),
            Arg::opt_text(m.provider_key.as_deref()),
            Arg::opt_text(m.base_url.as_deref()),
            Arg::Text(&capabilities),
            Arg::opt_real(m.input_price_per_mtok),
            Arg::opt_real(m.output_price_per_mtok),
            Arg::opt_real(m.price_per_image),
            Arg::opt_int(m.max_output_tokens.map(i64::from)),
            Arg::Text(&fallbacks),
            Arg::Int(i64::from(m.enabled)),
            Arg::Int(m.created_at),
            Arg::Int(m.updated_at),
            Arg::opt_text(image_prices.as_deref()),
        ],
    )
}

pub async fn create(w: &Writer<'_>, org_id: &str, model: &ModelConfig) -> Result<(), Fault> {
    let insert = write_stmt(
        w.db,
        &format!("INSERT INTO model_configs ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"),
        model,
    )?;
    let detail = json!({"provider": model.provider, "upstream_model": model.upstream_model});
    let audit = w.audit(&event(org_id, model, "model.create", detail))?;
    w.db.batch(vec![insert, audit]).await?;
    Ok(())
}

/// Stores `model` (the patched record) over the row with the same instance and id.
pub async fn replace(w: &Writer<'_>, org_id: &str, model: &ModelConfig) -> Result<(), Fault> {
    let update = write_stmt(
        w.db,
        "UPDATE model_configs SET provider = ?3, upstream_model = ?4, provider_key = ?5, base_url = ?6, capabilities = ?7, \
         input_price_per_mtok = ?8, output_price_per_mtok = ?9, price_per_image = ?10, max_output_tokens = ?11, \
         fallbacks = ?12, enabled = ?13, updated_at = ?15, image_prices = ?16 WHERE instance_id = ?1 AND id = ?2 AND ?14 IS NOT NULL",
        model,
    )?;
    let audit = w.audit(&event(
        org_id,
        model,
        "model.update",
        json!({"upstream_model": model.upstream_model}),
    ))?;
    w.db.batch(vec![update, audit]).await?;
    Ok(())
}

pub async fn get(db: &Db, instance_id: &str, id: &str) -> Result<Option<ModelConfig>, Fault> {
    let row: Option<Row> = db
        .one(
            &format!("SELECT {COLUMNS} FROM model_configs WHERE instance_id = ?1 AND id = ?2"),
            &[Arg::Text(instance_id), Arg::Text(id)],
        )
        .await?;
    Ok(row.map(ModelConfig::from))
}

/// Models of an instance ordered by id; the cursor is the last model id seen.
pub async fn list(db: &Db, instance_id: &str, page: &Page) -> Result<Vec<ModelConfig>, Fault> {
    let rows: Vec<Row> = db
        .all(
            &format!("SELECT {COLUMNS} FROM model_configs WHERE instance_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"),
            &[Arg::Text(instance_id), Arg::Text(page.cursor.as_deref().unwrap_or("")), Arg::Int(page.fetch_limit().into())],
        )
        .await?;
    Ok(rows.into_iter().map(ModelConfig::from).collect())
}

pub async fn delete(w: &Writer<'_>, org_id: &str, model: &ModelConfig) -> Result<(), Fault> {
    let audit = w.audit(&event(org_id, model, "model.delete", json!({})))?;
    let delete = w.db.stmt(
        "DELETE FROM model_configs WHERE instance_id = ?1 AND id = ?2",
        &[Arg::Text(&model.instance_id), Arg::Text(&model.id)],
    )?;
    w.db.batch(vec![audit, delete]).await?;
    Ok(())
}

fn event<'a>(
    org_id: &'a str,
    m: &'a ModelConfig,
    action: &'static str,
    detail: serde_json::Value,
) -> Event<'a> {
    Event {
        org_id,
        instance_id: Some(&m.instance_id),
        action,
        target_type: "model",
        target_id: &m.id,
        detail,
    }
}
