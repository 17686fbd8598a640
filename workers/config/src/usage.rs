//! Usage of an instance: requests, errors, tokens, images and cost, grouped by day, model, key, project, status
//! or kind.

use crate::ctx::Ctx;
use crate::nodes;
use envelope::ApiError;
use kit::call::Reply;
use kit::store::nodes::Level;
use kit::store::usage::{parse_kind, summarize, Bucket, GroupBy, RowFilter, UsageQuery};
use kit::Fault;
use serde_json::json;
use tenancy::access::{self, Need};
use tenancy::ids::{self, IdKind};
use tenancy::page::{percent_decode, query_param, Page};

/// Thirty days, the default window when `from` is not given.
const DEFAULT_WINDOW_MS: i64 = 30 * 24 * 3_600 * 1_000;

fn millis(ctx: &Ctx<'_>, name: &str, default: i64) -> Result<i64, Fault> {
    match query_param(&ctx.query, name) {
        None => Ok(default),
        Some(text) => text.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            ApiError::invalid_field(name, "must be milliseconds since the Unix epoch").into()
        }),
    }
}

/// `GET /admin/instances/{id}/usage?group_by=day|model|key|project|status|kind&kind=text|embedding|image&from=ms&to=ms`;
/// a project-bound key sees only its project's usage.
pub async fn summary(ctx: &Ctx<'_>, instance_id: &str) -> Reply {
    let instance = nodes::load_for(ctx, Level::Instance, instance_id, Need::Read).await?;
    let group_by = match query_param(&ctx.query, "group_by") {
        None => GroupBy::Day,
        Some(text) => GroupBy::parse(text).ok_or_else(|| {
            ApiError::invalid_field(
                "group_by",
                "must be day, model, key, project, status or kind",
            )
        })?,
    };
    let kind = query_param(&ctx.query, "kind")
        .map(|text| {
            parse_kind(text)
                .ok_or_else(|| ApiError::invalid_field("kind", "must be text, embedding or image"))
        })
        .transpose()?;
    let to_ms = millis(ctx, "to", ctx.now + 1)?;
    let from_ms = millis(ctx, "from", to_ms - DEFAULT_WINDOW_MS)?;
    if from_ms >= to_ms {
        return Err(ApiError::unprocessable("from", "must be before to").into());
    }
    let query = UsageQuery {
        instance_id: &instance.id,
        project_id: access::project_filter(&ctx.actor),
        kind,
        from_ms,
        to_ms,
        group_by,
    };
    let rows = summarize(&ctx.db, &query).await?;
    let group_name = query_param(&ctx.query, "group_by").unwrap_or("day");
    ctx.ok(&json!({"object": "usage_summary", "instance_id": instance.id, "group_by": group_name, "kind": kind, "from": from_ms, "to": to_ms, "data": rows}))
}

/// `key_id`, `model`, `project_id` and `status` of the request log and series query strings.
struct Narrowing {
    key_id: Option<String>,
    model: Option<String>,
    project_id: Option<String>,
    status: Option<i64>,
}

const MODEL_MAX_CHARS: usize = 200;

fn narrowing(ctx: &Ctx<'_>) -> Result<Narrowing, Fault> {
    let id = |name: &str, kind: IdKind| -> Result<Option<String>, Fault> {
        query_param(&ctx.query, name)
            .map(|text| Ok(ids::parse(kind, text, name)?.to_string()))
            .transpose()
    };
    let model = query_param(&ctx.query, "model")
        .map(percent_decode)
        .map(|m| {
            if m.is_empty() || m.chars().count() > MODEL_MAX_CHARS {
                Err(ApiError::invalid_field(
                    "model",
                    format!("must be a model id of 1-{MODEL_MAX_CHARS} characters"),
                ))
            } else {
                Ok(m)
            }
        })
        .transpose()?;
    let status = query_param(&ctx.query, "status")
        .map(|text| {
            text.parse::<i64>()
                .ok()
                .filter(|s| (100..=599).contains(s))
                .ok_or_else(|| ApiError::invalid_field("status", "must be an HTTP status, 100-599"))
        })
        .transpose()?;
    Ok(Narrowing {
        key_id: id("key_id", IdKind::Key)?,
        model,
        project_id: id("project_id", IdKind::Project)?,
        status,
    })
}

fn filter<'a>(ctx: &'a Ctx<'_>, instance_id: &'a str, n: &'a Narrowing) -> RowFilter<'a> {
    RowFilter {
        instance_id,
        scope_project: access::project_filter(&ctx.actor),
        project_id: n.project_id.as_deref(),
        key_id: n.key_id.as_deref(),
        model: n.model.as_deref(),
        status: n.status,
    }
}

/// A usage row id as a cursor: what the platform writes (`use_…`), or an old row's request id.
fn is_row_id(text: &str) -> bool {
    (1..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// A request of the log: its object, and the row id its page's cursor is made of.
struct Entry {
    id: String,
    body: serde_json::Value,
}

impl serde::Serialize for Entry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.body.serialize(s)
    }
}

/// `GET /admin/instances/{id}/requests?key_id=&model=&status=&project_id=&limit=&cursor=`: the request log,
/// newest first, from the usage rows (a project-bound key sees only its project's).
pub async fn requests(ctx: &Ctx<'_>, instance_id: &str) -> Reply {
    let instance = nodes::load_for(ctx, Level::Instance, instance_id, Need::Read).await?;
    let page = Page::from_query_with(&ctx.query, is_row_id)?;
    let n = narrowing(ctx)?;
    let rows = kit::store::usage::requests(
        &ctx.db,
        &filter(ctx, &instance.id, &n),
        page.cursor.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let items: Vec<Entry> = rows
        .into_iter()
        .map(|r| {
            let body = json!({
                "object": "request", "request_id": r.request_id, "created_at": r.created_at,
                "endpoint": r.endpoint, "kind": r.kind, "model": r.model, "provider": r.provider,
                "status": r.status, "error_code": r.error_code, "key_id": r.key_id,
                "project_id": r.project_id, "stream": r.stream != 0, "cached": r.cached != 0,
                "attempts": r.attempts, "prompt_tokens": r.prompt_tokens,
                "completion_tokens": r.completion_tokens, "images": r.images,
                "cost_usd": r.cost_usd, "latency_ms": r.latency_ms, "overhead_ms": r.overhead_ms,
            });
            Entry { id: r.id, body }
        })
        .collect();
    ctx.list(items, &page, |e| e.id.as_str())
}

/// At most this many buckets in one series.
const MAX_BUCKETS: i64 = 1_500;

/// `GET /admin/instances/{id}/usage/series?bucket=minute|hour|day&from=&to=&model=&key_id=&project_id=&status=`:
/// the usage summary's totals per time bucket, with latency p50/p95 and overhead p50, for the dashboard.
pub async fn series(ctx: &Ctx<'_>, instance_id: &str) -> Reply {
    let instance = nodes::load_for(ctx, Level::Instance, instance_id, Need::Read).await?;
    let bucket = match query_param(&ctx.query, "bucket") {
        None => Bucket::Hour,
        Some(text) => Bucket::parse(text)
            .ok_or_else(|| ApiError::invalid_field("bucket", "must be minute, hour or day"))?,
    };
    let to_ms = millis(ctx, "to", ctx.now + 1)?;
    let from_ms = millis(ctx, "from", to_ms - 60 * bucket.ms())?;
    if from_ms >= to_ms {
        return Err(ApiError::unprocessable("from", "must be before to").into());
    }
    if (to_ms - from_ms) / bucket.ms() > MAX_BUCKETS {
        return Err(ApiError::unprocessable(
            "from",
            format!("the range spans more than {MAX_BUCKETS} buckets: use a wider bucket"),
        )
        .into());
    }
    let n = narrowing(ctx)?;
    let points = kit::store::usage::series(
        &ctx.db,
        &filter(ctx, &instance.id, &n),
        bucket,
        from_ms,
        to_ms,
    )
    .await?;
    let bucket_name = query_param(&ctx.query, "bucket").unwrap_or("hour");
    ctx.ok(
        &json!({"object": "usage_series", "instance_id": instance.id, "bucket": bucket_name,
                   "from": from_ms, "to": to_ms, "data": points}),
    )
}
