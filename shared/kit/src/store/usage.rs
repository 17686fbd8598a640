//! Usage queries: totals of the usage events of an instance, grouped by day, model, key, project, status or
//! kind, optionally of one kind only.

use super::{Arg, Db};
use crate::fault::Fault;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Day,
    Model,
    Key,
    Project,
    Status,
    Kind,
}

/// The kinds a usage row may have (the `usage_events.kind` column's CHECK).
pub const KINDS: [&str; 3] = ["text", "embedding", "image"];

/// The kind `text` names, if it is one of [`KINDS`].
pub fn parse_kind(text: &str) -> Option<&'static str> {
    KINDS.into_iter().find(|kind| *kind == text)
}

impl GroupBy {
    pub fn parse(text: &str) -> Option<GroupBy> {
        match text {
            "day" => Some(GroupBy::Day),
            "model" => Some(GroupBy::Model),
            "key" => Some(GroupBy::Key),
            "project" => Some(GroupBy::Project),
            "status" => Some(GroupBy::Status),
            "kind" => Some(GroupBy::Kind),
            _ => None,
        }
    }

    fn expression(self) -> &'static str {
        match self {
            GroupBy::Day => "strftime('%Y-%m-%d', created_at / 1000, 'unixepoch')",
            GroupBy::Model => "model",
            GroupBy::Key => "key_id",
            GroupBy::Project => "COALESCE(project_id, '')",
            GroupBy::Status => "CAST(status AS TEXT)",
            GroupBy::Kind => "kind",
        }
    }
}

/// One group's totals.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UsageRow {
    pub group: String,
    pub requests: u64,
    pub errors: u64,
    pub rate_limited: u64,
    pub cached: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Images stored.
    pub images: u64,
    pub cost_usd: f64,
    pub avg_latency_ms: f64,
    pub avg_overhead_ms: f64,
}

/// The filter of a usage query: an instance, a time range in ms, optionally one project and one kind.
pub struct UsageQuery<'a> {
    pub instance_id: &'a str,
    pub project_id: Option<&'a str>,
    /// One of [`KINDS`], or every kind.
    pub kind: Option<&'static str>,
    pub from_ms: i64,
    pub to_ms: i64,
    pub group_by: GroupBy,
}

pub async fn summarize(db: &Db, q: &UsageQuery<'_>) -> Result<Vec<UsageRow>, Fault> {
    let sql = format!(
        "SELECT {g} AS \"group\", COUNT(*) AS requests, SUM(status >= 400) AS errors, SUM(status = 429) AS rate_limited, \
         SUM(cached) AS cached, SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens, \
         SUM(images) AS images, SUM(cost_usd) AS cost_usd, AVG(latency_ms) AS avg_latency_ms, AVG(overhead_ms) AS avg_overhead_ms \
         FROM usage_events WHERE instance_id = ?1 AND (?2 IS NULL OR project_id = ?2) AND created_at >= ?3 AND created_at < ?4 \
         AND (?5 IS NULL OR kind = ?5) GROUP BY 1 ORDER BY 1 LIMIT 1000",
        g = q.group_by.expression()
    );
    db.all(
        &sql,
        &[
            Arg::Text(q.instance_id),
            Arg::opt_text(q.project_id),
            Arg::Int(q.from_ms),
            Arg::Int(q.to_ms),
            Arg::opt_text(q.kind),
        ],
    )
    .await
}
