//! Rate-limit policies of an instance (read by the generation path through `gateway::snapshot`).

use super::audit::{Event, Writer};
use super::{last_rows, Arg, Db};
use crate::fault::Fault;
use serde_json::json;
use tenancy::inputs::RateLimitInput;
use tenancy::records::RateLimitPolicy;

const COLUMNS: &str =
    "instance_id, scope, target, requests_per_minute, tokens_per_minute, images_per_minute, \
     created_at, updated_at";

/// Sets or replaces the policy `scope/target`.
pub async fn set(
    w: &Writer<'_>,
    org_id: &str,
    instance_id: &str,
    scope: &str,
    target: &str,
    input: &RateLimitInput,
) -> Result<Option<RateLimitPolicy>, Fault> {
    let int = |n: Option<u64>| n.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    let rpm = int(input.requests_per_minute);
    let tpm = int(input.tokens_per_minute);
    let ipm = int(input.images_per_minute);
    let upsert = w.db.stmt(
        &format!(
            "INSERT INTO rate_limit_policies ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) ON CONFLICT (instance_id, scope, target) \
             DO UPDATE SET requests_per_minute = excluded.requests_per_minute, tokens_per_minute = excluded.tokens_per_minute, \
             images_per_minute = excluded.images_per_minute, updated_at = excluded.updated_at"
        ),
        &[
            Arg::Text(instance_id),
            Arg::Text(scope),
            Arg::Text(target),
            Arg::opt_int(rpm),
            Arg::opt_int(tpm),
            Arg::opt_int(ipm),
            Arg::Int(w.now),
        ],
    )?;
    let detail = json!({
        "scope": scope,
        "target": target,
        "requests_per_minute": rpm,
        "tokens_per_minute": tpm,
        "images_per_minute": ipm,
    });
    let target_id = format!("{scope}/{target}");
    let audit = w.audit(&event(
        org_id,
        instance_id,
        &target_id,
        "rate_limit.set",
        detail,
    ))?;
    let read = w.db.stmt(
        &format!("SELECT {COLUMNS} FROM rate_limit_policies WHERE instance_id = ?1 AND scope = ?2 AND target = ?3"),
        &[Arg::Text(instance_id), Arg::Text(scope), Arg::Text(target)],
    )?;
    let results = w.db.batch(vec![upsert, audit, read]).await?;
    Ok(last_rows::<RateLimitPolicy>(&results)?.into_iter().next())
}

/// Every policy of an instance (a handful: capped, not paged).
pub async fn list(db: &Db, instance_id: &str) -> Result<Vec<RateLimitPolicy>, Fault> {
    db.all(
        &format!("SELECT {COLUMNS} FROM rate_limit_policies WHERE instance_id = ?1 ORDER BY scope, target LIMIT 1000"),
        &[Arg::Text(instance_id)],
    )
    .await
}

/// Deletes the policy; false when there was none.
pub async fn delete(
    w: &Writer<'_>,
    org_id: &str,
    instance_id: &str,
    scope: &str,
    target: &str,
) -> Result<bool, Fault> {
    let args = [Arg::Text(instance_id), Arg::Text(scope), Arg::Text(target)];
    let found: Option<serde_json::Value> =
        w.db.one("SELECT 1 AS ok FROM rate_limit_policies WHERE instance_id = ?1 AND scope = ?2 AND target = ?3", &args).await?;
    if found.is_none() {
        return Ok(false);
    }
    let target_id = format!("{scope}/{target}");
    let audit = w.audit(&event(
        org_id,
        instance_id,
        &target_id,
        "rate_limit.delete",
        json!({}),
    ))?;
    let delete = w.db.stmt(
        "DELETE FROM rate_limit_policies WHERE instance_id = ?1 AND scope = ?2 AND target = ?3",
        &args,
    )?;
    w.db.batch(vec![audit, delete]).await?;
    Ok(true)
}

fn event<'a>(
    org_id: &'a str,
    instance_id: &'a str,
    target_id: &'a str,
    action: &'static str,
    detail: serde_json::Value,
) -> Event<'a> {
    Event {
        org_id,
        instance_id: Some(instance_id),
        action,
        target_type: "rate_limit_policy",
        target_id,
        detail,
    }
}
