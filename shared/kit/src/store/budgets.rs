//! Budget definitions (the running spend is in the org's ledger, see `crate::budget`) and the spend of a
//! scope rebuilt from the usage rows.

use super::audit::{Event, Writer};
use super::{Arg, Db};
use crate::fault::Fault;
use budget::{Budget, Cost, Period};
use serde::Deserialize;
use serde_json::json;

/// Where a budget sits: its scope id (`org:…`, `instance:…`, `project:…`, `key:…`) and the nodes it
/// belongs to.
pub struct Place<'a> {
    pub scope: &'a str,
    pub org_id: &'a str,
    pub instance_id: Option<&'a str>,
    /// The project of a project budget, or of a key budget's key.
    pub project_id: Option<&'a str>,
}

/// One stored budget.
#[derive(Deserialize, Clone, Debug)]
pub struct Row {
    pub scope: String,
    pub period: String,
    pub org_id: String,
    pub instance_id: Option<String>,
    pub project_id: Option<String>,
    pub usd_micros: Option<i64>,
    pub tokens: Option<i64>,
    pub soft_percent: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Row {
    /// The budget as the ledger holds it (`None` for a row it cannot be: never written by this API).
    pub fn budget(&self) -> Option<Budget> {
        let period = Period::parse(&self.period)?;
        let unsigned = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok());
        Some(Budget {
            period,
            usd_micros: unsigned(self.usd_micros),
            tokens: unsigned(self.tokens),
            soft_percent: self.soft_percent.and_then(|p| u8::try_from(p).ok()),
        })
    }
}

const COLUMNS: &str =
    "scope, period, org_id, instance_id, project_id, usd_micros, tokens, soft_percent, \
                       created_at, updated_at";

fn int(v: Option<u64>) -> Option<i64> {
    v.map(|v| i64::try_from(v).unwrap_or(i64::MAX))
}

/// Sets or replaces the budget of `place` for its period (with its audit row, in one batch); whether
/// it is new (a new budget is seeded from the usage rows).
pub async fn set(w: &Writer<'_>, place: &Place<'_>, budget: &Budget) -> Result<bool, Fault> {
    let period = budget.period.as_str();
    let existed: Option<serde_json::Value> =
        w.db.one(
            "SELECT 1 AS ok FROM budgets WHERE scope = ?1 AND period = ?2",
            &[Arg::Text(place.scope), Arg::Text(period)],
        )
        .await?;
    let upsert = w.db.stmt(
        &format!(
            "INSERT INTO budgets ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) ON CONFLICT (scope, period) \
             DO UPDATE SET usd_micros = excluded.usd_micros, tokens = excluded.tokens, \
             soft_percent = excluded.soft_percent, updated_at = excluded.updated_at"
        ),
        &[
            Arg::Text(place.scope),
            Arg::Text(period),
            Arg::Text(place.org_id),
            Arg::opt_text(place.instance_id),
            Arg::opt_text(place.project_id),
            Arg::opt_int(int(budget.usd_micros)),
            Arg::opt_int(int(budget.tokens)),
            Arg::opt_int(budget.soft_percent.map(i64::from)),
            Arg::Int(w.now),
        ],
    )?;
    let detail = json!({
        "scope": place.scope,
        "period": period,
        "usd": budget.usd_micros.map(budget::micros_to_usd),
        "tokens": budget.tokens,
        "soft_percent": budget.soft_percent,
    });
    let audit = w.audit(&event(place, "budget.set", detail))?;
    w.db.batch(vec![upsert, audit]).await?;
    Ok(existed.is_none())
}

/// Deletes the budget of `place` for `period` (with its audit row); false when there was none.
pub async fn delete(w: &Writer<'_>, place: &Place<'_>, period: Period) -> Result<bool, Fault> {
    let args = [Arg::Text(place.scope), Arg::Text(period.as_str())];
    let found: Option<serde_json::Value> =
        w.db.one(
            "SELECT 1 AS ok FROM budgets WHERE scope = ?1 AND period = ?2",
            &args,
        )
        .await?;
    if found.is_none() {
        return Ok(false);
    }
    let audit = w.audit(&event(
        place,
        "budget.delete",
        json!({"scope": place.scope, "period": period.as_str()}),
    ))?;
    let delete = w.db.stmt(
        "DELETE FROM budgets WHERE scope = ?1 AND period = ?2",
        &args,
    )?;
    w.db.batch(vec![audit, delete]).await?;
    Ok(true)
}

/// Every budget of an org (a few per scope: capped, not paged).
pub async fn list_org(db: &Db, org_id: &str) -> Result<Vec<Row>, Fault> {
    db.all(
        &format!(
            "SELECT {COLUMNS} FROM budgets WHERE org_id = ?1 ORDER BY scope, period LIMIT 1000"
        ),
        &[Arg::Text(org_id)],
    )
    .await
}

/// Every budget in an instance (its own, its projects', its keys'), optionally only one project's.
pub async fn list_instance(
    db: &Db,
    instance_id: &str,
    project_id: Option<&str>,
) -> Result<Vec<Row>, Fault> {
    match project_id {
        Some(project) => db
            .all(
                &format!("SELECT {COLUMNS} FROM budgets WHERE instance_id = ?1 AND project_id = ?2 ORDER BY scope, period LIMIT 1000"),
                &[Arg::Text(instance_id), Arg::Text(project)],
            )
            .await,
        None => db
            .all(
                &format!("SELECT {COLUMNS} FROM budgets WHERE instance_id = ?1 ORDER BY scope, period LIMIT 1000"),
                &[Arg::Text(instance_id)],
            )
            .await,
    }
}

/// The budgets of the given scopes.
pub async fn of_scopes(db: &Db, scopes: &[String]) -> Result<Vec<Row>, Fault> {
    if scopes.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (1..=scopes.len()).map(|i| format!("?{i}")).collect();
    let args: Vec<Arg> = scopes.iter().map(|s| Arg::Text(s)).collect();
    db.all(
        &format!(
            "SELECT {COLUMNS} FROM budgets WHERE scope IN ({}) ORDER BY scope, period LIMIT 1000",
            marks.join(", ")
        ),
        &args,
    )
    .await
}

#[derive(Deserialize)]
struct IdRow {
    id: String,
}

/// The ids of an org's instances (whose snapshots an org budget changes).
pub async fn instance_ids(db: &Db, org_id: &str) -> Result<Vec<String>, Fault> {
    let rows: Vec<IdRow> = db
        .all(
            "SELECT id FROM instances WHERE org_id = ?1 LIMIT 10000",
            &[Arg::Text(org_id)],
        )
        .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

#[derive(Deserialize)]
struct SpendRow {
    micros: Option<i64>,
    tokens: Option<i64>,
}

/// What `scope` spent since `since_ms`, from the usage rows: each row's cost rounded to the
/// micro-dollar as its settlement is (`generation::spend::actual`), and its tokens.
pub async fn spent_since(db: &Db, scope: &str, since_ms: u64) -> Result<Cost, Fault> {
    let Some((kind, id)) = scope.split_once(':') else {
        return Err(Fault::Data(format!("not a budget scope: {scope}")));
    };
    let column = match kind {
        "org" => "org_id",
        "instance" => "instance_id",
        "project" => "project_id",
        "key" => "key_id",
        _ => return Err(Fault::Data(format!("not a budget scope: {scope}"))),
    };
    let since = i64::try_from(since_ms).unwrap_or(i64::MAX);
    let row: Option<SpendRow> = db
        .one(
            &format!(
                "SELECT SUM(CAST(ROUND(cost_usd * 1000000) AS INTEGER)) AS micros, \
                 SUM(prompt_tokens + completion_tokens) AS tokens FROM usage_events \
                 WHERE {column} = ?1 AND created_at >= ?2"
            ),
            &[Arg::Text(id), Arg::Int(since)],
        )
        .await?;
    let unsigned = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0);
    Ok(row.map_or(Cost::ZERO, |r| {
        Cost::new(unsigned(r.micros), unsigned(r.tokens))
    }))
}

/// A budget event as the admin API lists it.
#[derive(Deserialize, serde::Serialize, Debug)]
pub struct EventRow {
    pub id: String,
    pub scope: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub period: Option<String>,
    pub period_start_ms: Option<i64>,
    pub dimension: Option<String>,
    pub threshold: Option<i64>,
    pub used: Option<i64>,
    pub request_id: Option<String>,
    pub at_ms: i64,
}

/// The org's latest budget events, newest first.
pub async fn events(db: &Db, org_id: &str, limit: u32) -> Result<Vec<EventRow>, Fault> {
    db.all(
        "SELECT id, scope, type, period, period_start_ms, dimension, threshold, used, request_id, at_ms \
         FROM budget_events WHERE org_id = ?1 ORDER BY at_ms DESC, id DESC LIMIT ?2",
        &[Arg::Text(org_id), Arg::Int(i64::from(limit))],
    )
    .await
}

fn event<'a>(place: &Place<'a>, action: &'static str, detail: serde_json::Value) -> Event<'a> {
    Event {
        org_id: place.org_id,
        instance_id: place.instance_id,
        action,
        target_type: "budget",
        target_id: place.scope,
        detail,
    }
}
