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

/// The filter of the request log and of a series: an instance, a time range, and what the caller narrowed
/// it to. `scope_project` is the project a project-bound key is held to.
pub struct RowFilter<'a> {
    pub instance_id: &'a str,
    pub scope_project: Option<&'a str>,
    pub project_id: Option<&'a str>,
    pub key_id: Option<&'a str>,
    pub model: Option<&'a str>,
    pub status: Option<i64>,
}

const FILTER_SQL: &str = "instance_id = ?1 AND (?2 IS NULL OR project_id = ?2) AND (?3 IS NULL OR project_id = ?3) \
     AND (?4 IS NULL OR key_id = ?4) AND (?5 IS NULL OR model = ?5) AND (?6 IS NULL OR status = ?6)";

impl RowFilter<'_> {
    fn args(&self) -> Vec<Arg<'_>> {
        vec![
            Arg::Text(self.instance_id),
            Arg::opt_text(self.scope_project),
            Arg::opt_text(self.project_id),
            Arg::opt_text(self.key_id),
            Arg::opt_text(self.model),
            Arg::opt_int(self.status),
        ]
    }
}

/// One request of the log, as its usage row recorded it.
#[derive(Debug, Clone, Deserialize)]
pub struct RequestRow {
    pub id: String,
    pub request_id: String,
    pub created_at: i64,
    pub endpoint: String,
    pub kind: String,
    pub model: String,
    pub provider: Option<String>,
    pub status: i64,
    pub error_code: Option<String>,
    pub key_id: String,
    pub project_id: Option<String>,
    pub stream: i64,
    pub cached: i64,
    pub attempts: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub images: i64,
    pub cost_usd: f64,
    pub latency_ms: f64,
    pub overhead_ms: f64,
}

/// The newest requests first, `limit` of them from before the row `before` (an id), if given.
pub async fn requests(
    db: &Db,
    filter: &RowFilter<'_>,
    before: Option<&str>,
    limit: u32,
) -> Result<Vec<RequestRow>, Fault> {
    let sql = format!(
        "SELECT id, request_id, created_at, endpoint, kind, model, provider, status, error_code, key_id, project_id, \
         stream, cached, attempts, prompt_tokens, completion_tokens, images, cost_usd, latency_ms, overhead_ms \
         FROM usage_events WHERE {FILTER_SQL} AND (?7 IS NULL OR id < ?7) ORDER BY id DESC LIMIT ?8"
    );
    let mut args = filter.args();
    args.push(Arg::opt_text(before));
    args.push(Arg::Int(limit.into()));
    db.all(&sql, &args).await
}

/// The width of a series' buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Minute,
    Hour,
    Day,
}

impl Bucket {
    pub fn parse(text: &str) -> Option<Bucket> {
        match text {
            "minute" => Some(Bucket::Minute),
            "hour" => Some(Bucket::Hour),
            "day" => Some(Bucket::Day),
            _ => None,
        }
    }

    pub fn ms(self) -> i64 {
        match self {
            Bucket::Minute => 60_000,
            Bucket::Hour => 3_600_000,
            Bucket::Day => 86_400_000,
        }
    }
}

/// One bucket of a series: the totals of the usage summary, and latency percentiles (nearest rank).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// The bucket's start (ms, UTC).
    pub t: i64,
    pub requests: u64,
    pub errors: u64,
    pub rate_limited: u64,
    pub cached: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub images: u64,
    pub cost_usd: f64,
    pub latency_p50_ms: f64,
    pub latency_p95_ms: f64,
    pub overhead_p50_ms: f64,
}

/// Buckets with requests in `[from_ms, to_ms)`, oldest first. The percentiles are computed by D1 (window
/// functions), so no row leaves the database.
pub async fn series(
    db: &Db,
    filter: &RowFilter<'_>,
    bucket: Bucket,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<SeriesPoint>, Fault> {
    let width = bucket.ms();
    let rank = |p: u32| format!("(n * {p} + 99) / 100");
    let sql = format!(
        "WITH r AS (SELECT (created_at / {width}) * {width} AS t, status, cached, prompt_tokens, completion_tokens, \
         images, cost_usd, latency_ms, overhead_ms, \
         ROW_NUMBER() OVER (PARTITION BY created_at / {width} ORDER BY latency_ms) AS lr, \
         ROW_NUMBER() OVER (PARTITION BY created_at / {width} ORDER BY overhead_ms) AS orr, \
         COUNT(*) OVER (PARTITION BY created_at / {width}) AS n \
         FROM usage_events WHERE {FILTER_SQL} AND created_at >= ?7 AND created_at < ?8) \
         SELECT t, COUNT(*) AS requests, SUM(status >= 400) AS errors, SUM(status = 429) AS rate_limited, \
         SUM(cached) AS cached, SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens, \
         SUM(images) AS images, SUM(cost_usd) AS cost_usd, \
         MAX(CASE WHEN lr = {p50} THEN latency_ms END) AS latency_p50_ms, \
         MAX(CASE WHEN lr = {p95} THEN latency_ms END) AS latency_p95_ms, \
         MAX(CASE WHEN orr = {p50} THEN overhead_ms END) AS overhead_p50_ms \
         FROM r GROUP BY t ORDER BY t",
        p50 = rank(50),
        p95 = rank(95),
    );
    let mut args = filter.args();
    args.push(Arg::Int(from_ms));
    args.push(Arg::Int(to_ms));
    db.all(&sql, &args).await
}
