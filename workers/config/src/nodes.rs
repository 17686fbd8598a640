//! Orgs, instances and projects: create, read, list, rename, delete.

use crate::ctx::Ctx;
use envelope::ApiError;
use kit::call::Reply;
use kit::store::keys::{hashes_under, Owner};
use kit::store::nodes::{self, Level, Node, Parent};
use kit::{principal, Fault};
use tenancy::access::{self, Need, Target};
use tenancy::ids::{self, IdKind};
use tenancy::inputs::{InstancePatch, NewInstance, NewOrg, NewProject, OrgPatch, ProjectPatch};
use tenancy::principal::Actor;
use tenancy::records::{Instance, Org, Project};
use worker::Request;

fn kind(level: Level) -> IdKind {
    match level {
        Level::Org => IdKind::Org,
        Level::Instance => IdKind::Instance,
        Level::Project => IdKind::Project,
    }
}

fn noun(level: Level) -> &'static str {
    match level {
        Level::Org => "organization",
        Level::Instance => "instance",
        Level::Project => "project",
    }
}

/// Where a node sits, for authorization.
pub fn target(level: Level, node: &Node) -> Target<'_> {
    match level {
        Level::Org => Target::org(&node.id),
        Level::Instance => Target::instance(&node.org_id, &node.id),
        Level::Project => Target::project(
            &node.org_id,
            node.instance_id.as_deref().unwrap_or(""),
            &node.id,
        ),
    }
}

/// Loads a node named in the path: 400 for a malformed id, 404 when absent.
pub async fn load(ctx: &Ctx<'_>, level: Level, id: &str) -> Result<Node, Fault> {
    let id = ids::parse(kind(level), id, "id")?;
    nodes::get(&ctx.db, level, id)
        .await?
        .ok_or_else(|| ApiError::not_found(noun(level)).into())
}

/// Loads and authorizes in one step; a node of another tenant reads as 404.
pub async fn load_for(ctx: &Ctx<'_>, level: Level, id: &str, need: Need) -> Result<Node, Fault> {
    let node = load(ctx, level, id).await?;
    ctx.authorize(need, &target(level, &node))?;
    Ok(node)
}

fn render(ctx: &Ctx<'_>, level: Level, node: Node, status: u16) -> Reply {
    match level {
        Level::Org => ctx.call.json(status, &Org::from(node)),
        Level::Instance => ctx.call.json(status, &Instance::from(node)),
        Level::Project => ctx.call.json(status, &Project::from(node)),
    }
}

pub async fn get(ctx: &Ctx<'_>, level: Level, id: &str) -> Reply {
    let node = load_for(ctx, level, id, Need::Read).await?;
    render(ctx, level, node, 200)
}

/// Only the platform admin creates organizations.
pub async fn create_org(ctx: &Ctx<'_>, req: &mut Request) -> Reply {
    if !matches!(ctx.actor, Actor::Platform) {
        return Err(ApiError::forbidden(
            "forbidden",
            "only the platform admin creates organizations",
        )
        .into());
    }
    let input: NewOrg = ctx.body(req).await?;
    let parent = Parent {
        org_id: None,
        instance_id: None,
    };
    let node = nodes::create(&ctx.writer(), Level::Org, &parent, &input.name, &input.slug).await?;
    render(ctx, Level::Org, node, 201)
}

/// The platform admin sees every org; a key sees its own.
pub async fn list_orgs(ctx: &Ctx<'_>) -> Reply {
    let page = ctx.page(IdKind::Org)?;
    let only = match &ctx.actor {
        Actor::Platform => None,
        Actor::Key(key) => {
            ctx.authorize(Need::Read, &Target::org(&key.org_id))?;
            Some(key.org_id.as_str())
        }
    };
    let rows = nodes::list(&ctx.db, Level::Org, only, &page).await?;
    ctx.list(rows.into_iter().map(Org::from).collect(), &page, |o| &o.id)
}

/// The level a node of `level` is created and listed under.
fn parent_of(level: Level) -> Level {
    if level == Level::Project {
        Level::Instance
    } else {
        Level::Org
    }
}

/// Creates an instance in an org or a project in an instance.
pub async fn create_child(
    ctx: &Ctx<'_>,
    req: &mut Request,
    level: Level,
    parent_id: &str,
) -> Reply {
    let parent = load_for(ctx, parent_of(level), parent_id, Need::Write).await?;
    let (name, slug, place) = match level {
        Level::Project => {
            let input: NewProject = ctx.body(req).await?;
            (
                input.name,
                input.slug,
                Parent {
                    org_id: Some(&parent.org_id),
                    instance_id: Some(&parent.id),
                },
            )
        }
        _ => {
            let input: NewInstance = ctx.body(req).await?;
            (
                input.name,
                input.slug,
                Parent {
                    org_id: Some(&parent.id),
                    instance_id: None,
                },
            )
        }
    };
    let node = nodes::create(&ctx.writer(), level, &place, &name, &slug).await?;
    render(ctx, level, node, 201)
}

/// Instances of an org (a key that does not manage the org sees only its own), or projects of an
/// instance (a project-bound key sees only its own).
pub async fn list_children(ctx: &Ctx<'_>, level: Level, parent_id: &str) -> Reply {
    let parent = load_for(ctx, parent_of(level), parent_id, Need::Read).await?;
    let page = ctx.page(kind(level))?;
    let only = match level {
        Level::Instance => access::instance_filter(&ctx.actor),
        _ => access::project_filter(&ctx.actor),
    };
    let rows = nodes::list(&ctx.db, level, Some(&parent.id), &page).await?;
    let rows: Vec<Node> = rows
        .into_iter()
        .filter(|n| only.is_none_or(|id| id == n.id))
        .collect();
    match level {
        Level::Instance => ctx.list(rows.into_iter().map(Instance::from).collect(), &page, |i| {
            &i.id
        }),
        _ => ctx.list(rows.into_iter().map(Project::from).collect(), &page, |p| {
            &p.id
        }),
    }
}

pub async fn rename(ctx: &Ctx<'_>, req: &mut Request, level: Level, id: &str) -> Reply {
    let node = load_for(ctx, level, id, Need::Write).await?;
    let name = match level {
        Level::Org => ctx.body::<OrgPatch>(req).await?.name,
        Level::Instance => ctx.body::<InstancePatch>(req).await?.name,
        Level::Project => ctx.body::<ProjectPatch>(req).await?.name,
    };
    let node = nodes::rename(&ctx.writer(), level, &node, name.as_deref())
        .await?
        .ok_or_else(|| ApiError::not_found(noun(level)))?;
    render(ctx, level, node, 200)
}

/// Deletes a node and everything under it. Deleting needs write access one level up: an org by the
/// platform admin, an instance by whoever manages its org, a project by whoever manages its instance.
pub async fn delete(ctx: &Ctx<'_>, level: Level, id: &str) -> Reply {
    let node = load_for(ctx, level, id, Need::Read).await?;
    match level {
        Level::Org if !matches!(ctx.actor, Actor::Platform) => {
            return Err(ApiError::forbidden(
                "forbidden",
                "only the platform admin deletes organizations",
            )
            .into());
        }
        Level::Instance => ctx.authorize(Need::Write, &Target::org(&node.org_id))?,
        Level::Project => ctx.authorize(
            Need::Write,
            &Target::instance(&node.org_id, node.instance_id.as_deref().unwrap_or("")),
        )?,
        Level::Org => {}
    }
    let owner = match level {
        Level::Org => Owner::Org,
        Level::Instance => Owner::Instance,
        Level::Project => Owner::Project,
    };
    let hashes = hashes_under(&ctx.db, owner, &node.id).await?;
    nodes::delete(&ctx.writer(), level, &node).await?;
    principal::forget(ctx.env, &hashes).await?;
    ctx.call.no_content()
}
