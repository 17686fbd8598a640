//! Model configs of an instance.

use crate::ctx::Ctx;
use crate::nodes;
use envelope::ApiError;
use kit::call::Reply;
use kit::store::models as repo;
use kit::store::nodes::{Level, Node};
use kit::Fault;
use tenancy::access::Need;
use tenancy::inputs::{model_id, ModelConfigPatch, NewModelConfig};
use tenancy::page::Page;
use tenancy::records::ModelConfig;
use worker::Request;

async fn load_for(
    ctx: &Ctx<'_>,
    instance_id: &str,
    id: &str,
    need: Need,
) -> Result<(Node, ModelConfig), Fault> {
    let instance = nodes::load_for(ctx, Level::Instance, instance_id, need).await?;
    model_id("model_id", id)?;
    let model = repo::get(&ctx.db, &instance.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("model"))?;
    Ok((instance, model))
}

pub async fn create(ctx: &Ctx<'_>, req: &mut Request, instance_id: &str) -> Reply {
    let instance = nodes::load_for(ctx, Level::Instance, instance_id, Need::Write).await?;
    let input: NewModelConfig = ctx.body(req).await?;
    let model = input.into_record(&instance.id, ctx.now);
    repo::create(&ctx.writer(), &instance.org_id, &model).await?;
    ctx.instance_changed(&instance.id).await?;
    ctx.created(&model)
}

/// Models ordered by id; the cursor is the last model id of the previous page.
pub async fn list(ctx: &Ctx<'_>, instance_id: &str) -> Reply {
    let instance = nodes::load_for(ctx, Level::Instance, instance_id, Need::Read).await?;
    let page = Page::from_query_with(&ctx.query, |c| model_id("cursor", c).is_ok())?;
    let models = repo::list(&ctx.db, &instance.id, &page).await?;
    ctx.list(models, &page, |m| &m.id)
}

pub async fn get(ctx: &Ctx<'_>, instance_id: &str, id: &str) -> Reply {
    ctx.ok(&load_for(ctx, instance_id, id, Need::Read).await?.1)
}

pub async fn update(ctx: &Ctx<'_>, req: &mut Request, instance_id: &str, id: &str) -> Reply {
    let (instance, current) = load_for(ctx, instance_id, id, Need::Write).await?;
    let patch: ModelConfigPatch = ctx.body(req).await?;
    let model = patch.apply(&current, ctx.now)?;
    repo::replace(&ctx.writer(), &instance.org_id, &model).await?;
    ctx.instance_changed(&instance.id).await?;
    ctx.ok(&model)
}

pub async fn delete(ctx: &Ctx<'_>, instance_id: &str, id: &str) -> Reply {
    let (instance, model) = load_for(ctx, instance_id, id, Need::Write).await?;
    repo::delete(&ctx.writer(), &instance.org_id, &model).await?;
    ctx.instance_changed(&instance.id).await?;
    ctx.call.no_content()
}
