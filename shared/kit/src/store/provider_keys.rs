//! Provider keys of an instance, sealed with AES-256-GCM (see the `vault` crate); only a masked hint is
//! ever read back out for display.

use super::audit::{Event, Writer};
use super::{last_rows, Arg, Db};
use crate::fault::Fault;
use serde::Deserialize;
use serde_json::json;
use tenancy::inputs::{url_host, Provider};
use tenancy::records::ProviderKeyRecord;

const COLUMNS: &str = "name, provider, hint, base_url, created_at, updated_at";

#[derive(Deserialize)]
struct Row {
    name: String,
    provider: Provider,
    hint: String,
    base_url: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl From<Row> for ProviderKeyRecord {
    fn from(r: Row) -> ProviderKeyRecord {
        ProviderKeyRecord {
            name: r.name,
            provider: r.provider,
            configured: true,
            hint: r.hint,
            base_url: r.base_url,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// The wire name of a provider ("openai", "openai_compatible", …).
pub fn provider_name(provider: Provider) -> Result<String, Fault> {
    match serde_json::to_value(provider)? {
        serde_json::Value::String(s) => Ok(s),
        other => Err(Fault::Data(format!("provider serialised as {other}"))),
    }
}

/// What gets stored: the sealed value and its display hint (never the plaintext).
pub struct Sealed<'a> {
    pub name: &'a str,
    pub provider: Provider,
    pub sealed_key: &'a str,
    pub hint: &'a str,
    pub base_url: Option<&'a str>,
}

/// Sets or replaces the provider key `name` of an instance. Audit entries name the upstream by host only
/// (a URL's path or query may carry more than an address); replacing a key with another `base_url` also
/// writes `provider_key.base_url_change` with the old and the new host.
pub async fn set(
    w: &Writer<'_>,
    org_id: &str,
    instance_id: &str,
    key: &Sealed<'_>,
) -> Result<Option<ProviderKeyRecord>, Fault> {
    let provider = provider_name(key.provider)?;
    let upsert = w.db.stmt(
        "INSERT INTO provider_keys (instance_id, name, provider, sealed_key, hint, base_url, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?7, ?6, ?6) ON CONFLICT (instance_id, name) DO UPDATE SET provider = excluded.provider, \
         sealed_key = excluded.sealed_key, hint = excluded.hint, base_url = excluded.base_url, updated_at = excluded.updated_at",
        &[
            Arg::Text(instance_id),
            Arg::Text(key.name),
            Arg::Text(&provider),
            Arg::Text(key.sealed_key),
            Arg::Text(key.hint),
            Arg::Int(w.now),
            Arg::opt_text(key.base_url),
        ],
    )?;
    let new_host = key.base_url.and_then(url_host);
    let detail = json!({"provider": provider, "hint": key.hint, "base_url_host": new_host});
    let mut batch = vec![
        upsert,
        w.audit(&event(
            org_id,
            instance_id,
            key.name,
            "provider_key.set",
            detail,
        ))?,
    ];
    if let Some(old) = current_base_url(w.db, instance_id, key.name).await? {
        if old.as_deref() != key.base_url {
            let detail =
                json!({"old_host": old.as_deref().and_then(url_host), "new_host": new_host});
            let change = event(
                org_id,
                instance_id,
                key.name,
                "provider_key.base_url_change",
                detail,
            );
            batch.push(w.audit(&change)?);
        }
    }
    batch.push(w.db.stmt(
        &format!("SELECT {COLUMNS} FROM provider_keys WHERE instance_id = ?1 AND name = ?2"),
        &[Arg::Text(instance_id), Arg::Text(key.name)],
    )?);
    let results = w.db.batch(batch).await?;
    Ok(last_rows::<Row>(&results)?
        .into_iter()
        .next()
        .map(ProviderKeyRecord::from))
}

/// The stored key's `base_url`: `None` when there is no such key, `Some(None)` when it has none.
async fn current_base_url(
    db: &Db,
    instance_id: &str,
    name: &str,
) -> Result<Option<Option<String>>, Fault> {
    #[derive(Deserialize)]
    struct B {
        base_url: Option<String>,
    }
    let row: Option<B> = db
        .one(
            "SELECT base_url FROM provider_keys WHERE instance_id = ?1 AND name = ?2",
            &[Arg::Text(instance_id), Arg::Text(name)],
        )
        .await?;
    Ok(row.map(|r| r.base_url))
}

/// Every provider key of an instance (an instance has a handful: no paging needed beyond a cap).
pub async fn list(db: &Db, instance_id: &str) -> Result<Vec<ProviderKeyRecord>, Fault> {
    let rows: Vec<Row> = db
        .all(&format!("SELECT {COLUMNS} FROM provider_keys WHERE instance_id = ?1 ORDER BY name LIMIT 500"), &[Arg::Text(instance_id)])
        .await?;
    Ok(rows.into_iter().map(ProviderKeyRecord::from).collect())
}

/// Deletes the key; false when there was none.
pub async fn delete(
    w: &Writer<'_>,
    org_id: &str,
    instance_id: &str,
    name: &str,
) -> Result<bool, Fault> {
    let found: Option<serde_json::Value> =
        w.db.one(
            "SELECT 1 AS ok FROM provider_keys WHERE instance_id = ?1 AND name = ?2",
            &[Arg::Text(instance_id), Arg::Text(name)],
        )
        .await?;
    if found.is_none() {
        return Ok(false);
    }
    let audit = w.audit(&event(
        org_id,
        instance_id,
        name,
        "provider_key.delete",
        json!({}),
    ))?;
    let delete = w.db.stmt(
        "DELETE FROM provider_keys WHERE instance_id = ?1 AND name = ?2",
        &[Arg::Text(instance_id), Arg::Text(name)],
    )?;
    w.db.batch(vec![audit, delete]).await?;
    Ok(true)
}

fn event<'a>(
    org_id: &'a str,
    instance_id: &'a str,
    name: &'a str,
    action: &'static str,
    detail: serde_json::Value,
) -> Event<'a> {
    Event {
        org_id,
        instance_id: Some(instance_id),
        action,
        target_type: "provider_key",
        target_id: name,
        detail,
    }
}
