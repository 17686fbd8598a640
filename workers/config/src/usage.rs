//! Usage of an instance: requests, errors, tokens, images and cost, grouped by day, model, key, project, status
//! or kind.

use crate::ctx::Ctx;
use crate::nodes;
use envelope::ApiError;
use kit::call::Reply;
use kit::store::nodes::Level;
use kit::store::usage::{parse_kind, summarize, GroupBy, UsageQuery};
use kit::Fault;
use serde_json::json;
use tenancy::access::{self, Need};
use tenancy::page::query_param;

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
