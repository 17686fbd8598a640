//! An instance's stored images (R2): listed page by page, newest day last (keys sort by project, then
//! date), and deleted one by one. A project-bound key sees and deletes only its project's images; the
//! keys of other instances are never listed, and a key naming another instance is refused like a
//! missing one.

use crate::ctx::Ctx;
use crate::nodes;
use envelope::{ApiError, ErrorKind};
use kit::call::Reply;
use kit::store::audit::Event;
use kit::store::nodes::Level;
use providers::images::parse_object_key;
use serde_json::json;
use tenancy::access::{self, Need};
use tenancy::ids::{self, IdKind};
use tenancy::page::{percent_decode, query_param};

const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 100;

/// `GET /admin/instances/{id}/images?project_id=&limit=&cursor=`.
pub async fn list(ctx: &Ctx<'_>, instance_id: &str) -> Reply {
    let instance = nodes::load_for(ctx, Level::Instance, instance_id, Need::Read).await?;
    let limit = match query_param(&ctx.query, "limit") {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::invalid_field("limit", format_args!("must be 1 to {MAX_LIMIT}"))
            })?,
    };
    let asked = match query_param(&ctx.query, "project_id") {
        Some(p) => Some(ids::parse(IdKind::Project, p, "project_id")?),
        None => None,
    };
    let project = match (access::project_filter(&ctx.actor), asked) {
        (Some(own), Some(asked)) if own != asked => {
            return Err(ApiError::forbidden(
                "forbidden",
                "project_id: this key may only list its own project's images",
            )
            .with_param("project_id")
            .into())
        }
        (Some(own), _) => Some(own),
        (None, asked) => asked,
    };
    let prefix = match project {
        Some(project) => format!("{}/{project}/", instance.id),
        None => format!("{}/", instance.id),
    };
    let cursor = query_param(&ctx.query, "cursor").map(percent_decode);
    let cursor = cursor.as_deref();
    let bucket = kit::images::bucket(ctx.env)?;
    let page = kit::images::list(&bucket, &prefix, cursor, limit)
        .await
        .map_err(|e| match cursor {
            // R2 refuses a cursor it did not issue.
            Some(_) => {
                ApiError::invalid_field("cursor", "is not a cursor this listing issued").into()
            }
            None => e,
        })?;
    ctx.ok(&json!({"object": "list", "data": page.entries, "next_cursor": page.next_cursor}))
}

/// `DELETE /admin/instances/{id}/images?key=…`: removes the object (its URL stops working at once
/// here; caches that already hold it keep their copy until they drop it).
pub async fn delete(ctx: &Ctx<'_>, instance_id: &str) -> Reply {
    let instance = nodes::load_for(ctx, Level::Instance, instance_id, Need::Write).await?;
    let key = query_param(&ctx.query, "key")
        .ok_or_else(|| ApiError::invalid_field("key", "is required: the stored image's key"))?;
    let key = percent_decode(key);
    let parts = parse_object_key(&key).ok_or_else(|| {
        ApiError::invalid_field("key", "is not the key of a stored image ({instance}/{project or _}/{yyyy}/{mm}/{dd}/img_….{ext})")
    })?;
    let own_project = access::project_filter(&ctx.actor);
    let reachable = parts.instance_id == instance.id
        && own_project.is_none_or(|own| parts.project_id == Some(own));
    let bucket = kit::images::bucket(ctx.env)?;
    if !reachable || kit::images::head(&bucket, &key).await?.is_none() {
        return Err(ApiError::new(
            ErrorKind::NotFound,
            "image_not_found",
            "no image has this key",
        )
        .with_param("key")
        .into());
    }
    kit::images::delete(&bucket, &key).await?;
    let writer = ctx.writer();
    let event = Event {
        org_id: &instance.org_id,
        instance_id: Some(&instance.id),
        action: "image.delete",
        target_type: "image",
        target_id: &key,
        detail: json!({}),
    };
    ctx.db.batch(vec![writer.audit(&event)?]).await?;
    ctx.call.no_content()
}
