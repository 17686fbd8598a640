//! Rate-limit policies of an instance: requests/min, tokens/min and images/min per provider key and per API
//! key.

use crate::ctx::Ctx;
use crate::nodes;
use envelope::ApiError;
use kit::call::Reply;
use kit::store::nodes::Level;
use kit::store::policies as repo;
use serde_json::json;
use tenancy::access::Need;
use tenancy::inputs::{policy_path, RateLimitInput};
use worker::Request;

pub async fn set(
    ctx: &Ctx<'_>,
    req: &mut Request,
    instance_id: &str,
    scope: &str,
    target: &str,
) -> Reply {
    let scope = policy_path(scope, target)?;
    let instance = nodes::load_for(ctx, Level::Instance, instance_id, Need::Write).await?;
    let input: RateLimitInput = ctx.body(req).await?;
    let policy = repo::set(
        &ctx.writer(),
        &instance.org_id,
        &instance.id,
        scope.as_str(),
        target,
        &input,
    )
    .await?
    .ok_or_else(|| ApiError::not_found("instance"))?;
    ctx.instance_changed(&instance.id).await?;
    ctx.ok(&policy)
}

pub async fn list(ctx: &Ctx<'_>, instance_id: &str) -> Reply {
    let instance = nodes::load_for(ctx, Level::Instance, instance_id, Need::Read).await?;
    let policies = repo::list(&ctx.db, &instance.id).await?;
    ctx.ok(&json!({"object": "list", "data": policies, "next_cursor": null}))
}

pub async fn delete(ctx: &Ctx<'_>, instance_id: &str, scope: &str, target: &str) -> Reply {
    let scope = policy_path(scope, target)?;
    let instance = nodes::load_for(ctx, Level::Instance, instance_id, Need::Write).await?;
    if !repo::delete(
        &ctx.writer(),
        &instance.org_id,
        &instance.id,
        scope.as_str(),
        target,
    )
    .await?
    {
        return Err(ApiError::not_found("rate-limit policy").into());
    }
    ctx.instance_changed(&instance.id).await?;
    ctx.call.no_content()
}
