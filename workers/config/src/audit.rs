//! The audit log of an org, optionally narrowed to one instance.

use crate::ctx::Ctx;
use crate::nodes;
use kit::call::Reply;
use kit::store::audit as repo;
use kit::store::nodes::Level;
use tenancy::access::{self, Need, Target};
use tenancy::ids::{self, IdKind};
use tenancy::page::query_param;

/// A key that does not manage the org reads only its own instance's entries.
pub async fn list(ctx: &Ctx<'_>, org_id: &str) -> Reply {
    let org = nodes::load_for(ctx, Level::Org, org_id, Need::Read).await?;
    let page = ctx.page(IdKind::Audit)?;
    let asked = match query_param(&ctx.query, "instance_id") {
        Some(i) => Some(ids::parse(IdKind::Instance, i, "instance_id")?),
        None => None,
    };
    let instance = asked.or(access::instance_filter(&ctx.actor));
    if let Some(instance) = instance {
        ctx.authorize(Need::Read, &Target::instance(&org.id, instance))?;
    }
    let entries = repo::list(&ctx.db, &org.id, instance, &page).await?;
    ctx.list(entries, &page, |e| &e.id)
}
