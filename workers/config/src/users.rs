//! Users of an org: roles and instance access.

use crate::ctx::Ctx;
use crate::nodes;
use envelope::ApiError;
use kit::call::Reply;
use kit::store::keys::{hashes_under, Owner};
use kit::store::nodes::Level;
use kit::store::users as repo;
use kit::{principal, Fault};
use tenancy::access::{self, Need, Target, UserChange};
use tenancy::ids::{self, IdKind};
use tenancy::inputs::{NewUser, UserPatch};
use tenancy::records::User;
use worker::Request;

async fn load_for(ctx: &Ctx<'_>, id: &str, need: Need) -> Result<User, Fault> {
    let id = ids::parse(IdKind::User, id, "id")?;
    let user = repo::get(&ctx.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    ctx.authorize(need, &Target::org(&user.org_id))?;
    Ok(user)
}

pub async fn create(ctx: &Ctx<'_>, req: &mut Request, org_id: &str) -> Reply {
    let org = nodes::load_for(ctx, Level::Org, org_id, Need::Write).await?;
    let input: NewUser = ctx.body(req).await?;
    access::check_user_change(&ctx.actor, UserChange::Create(input.role))?;
    repo::check_instances(&ctx.db, &org.id, &input.instance_ids).await?;
    let user = repo::create(&ctx.writer(), &org.id, &input).await?;
    ctx.created(&user)
}

pub async fn list(ctx: &Ctx<'_>, org_id: &str) -> Reply {
    let org = nodes::load_for(ctx, Level::Org, org_id, Need::Read).await?;
    let page = ctx.page(IdKind::User)?;
    let users = repo::list(&ctx.db, &org.id, &page).await?;
    ctx.list(users, &page, |u| &u.id)
}

pub async fn get(ctx: &Ctx<'_>, id: &str) -> Reply {
    let user = load_for(ctx, id, Need::Read).await?;
    ctx.ok(&user)
}

/// Changes name, role or instance access. Only owners (and the platform) create, promote, demote or delete
/// owners. The user's keys pick up the change on their next request: their cached principals are dropped,
/// and a key is resolved with its user's current role (capping its scopes) and instance access.
pub async fn update(ctx: &Ctx<'_>, req: &mut Request, id: &str) -> Reply {
    let user = load_for(ctx, id, Need::Write).await?;
    let patch: UserPatch = ctx.body(req).await?;
    let change = UserChange::Update {
        from: user.role,
        to: patch.role,
    };
    access::check_user_change(&ctx.actor, change)?;
    if let Some(instance_ids) = &patch.instance_ids {
        repo::check_instances(&ctx.db, &user.org_id, instance_ids).await?;
    }
    let updated = repo::update(&ctx.writer(), &user, &patch)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    principal::forget(
        ctx.env,
        &hashes_under(&ctx.db, Owner::User, &user.id).await?,
    )
    .await?;
    ctx.ok(&updated)
}

/// Deletes the user and their keys.
pub async fn delete(ctx: &Ctx<'_>, id: &str) -> Reply {
    let user = load_for(ctx, id, Need::Write).await?;
    access::check_user_change(&ctx.actor, UserChange::Delete(user.role))?;
    let hashes = hashes_under(&ctx.db, Owner::User, &user.id).await?;
    repo::delete(&ctx.writer(), &user).await?;
    principal::forget(ctx.env, &hashes).await?;
    ctx.call.no_content()
}
