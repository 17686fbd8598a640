//! The route table of the config worker: `/v1/me` and the admin API.

use crate::ctx::Ctx;
use crate::{
    audit, budgets, images, keys, models, nodes, ops, policies, prometheus, provider_keys, session,
    usage, users,
};
use envelope::ApiError;
use kit::call::Reply;
use kit::settings::Settings;
use kit::store::nodes::Level;
use kit::store::Db;
use kit::{clock, principal, Call};
use worker::{Env, Method, Request};

/// What a route does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum H {
    Me,
    SignIn,
    Session,
    SignOut,
    Requests,
    UsageSeries,
    BudgetStatus,
    ListOrgBudgets,
    SetOrgBudget,
    DeleteOrgBudget,
    ShiftBudgetClock,
    BudgetEvents,
    ListBudgets,
    SetBudget,
    DeleteBudget,
    ListOrgs,
    CreateOrg,
    GetOrg,
    RenameOrg,
    DeleteOrg,
    ListInstances,
    CreateInstance,
    ListUsers,
    CreateUser,
    OrgAudit,
    GetInstance,
    RenameInstance,
    DeleteInstance,
    ListProjects,
    CreateProject,
    ListKeys,
    CreateKey,
    ListProviderKeys,
    SetProviderKey,
    DeleteProviderKey,
    ListPolicies,
    SetPolicy,
    DeletePolicy,
    Usage,
    ListImages,
    DeleteImage,
    ListModels,
    CreateModel,
    GetModel,
    UpdateModel,
    DeleteModel,
    GetProject,
    RenameProject,
    DeleteProject,
    GetUser,
    UpdateUser,
    DeleteUser,
    GetKey,
    DeleteKey,
    RevokeKey,
    RotateKey,
}

/// The one route table: dispatch, 404 and 405 all derive from it. `*` matches one path segment, which is
/// handed to the handler.
const ROUTES: &[(&str, Method, H)] = {
    use Method::{Delete, Get, Patch, Post, Put};
    &[
        ("v1/me", Get, H::Me),
        ("admin/session", Post, H::SignIn),
        ("admin/session", Get, H::Session),
        ("admin/session", Delete, H::SignOut),
        ("v1/budget", Get, H::BudgetStatus),
        ("admin/orgs/*/budgets", Get, H::ListOrgBudgets),
        ("admin/orgs/*/budgets/*", Put, H::SetOrgBudget),
        ("admin/orgs/*/budgets/*", Delete, H::DeleteOrgBudget),
        ("admin/orgs/*/budgets/clock", Post, H::ShiftBudgetClock),
        ("admin/orgs/*/budget-events", Get, H::BudgetEvents),
        ("admin/instances/*/budgets", Get, H::ListBudgets),
        ("admin/instances/*/budgets/*/*/*", Put, H::SetBudget),
        ("admin/instances/*/budgets/*/*/*", Delete, H::DeleteBudget),
        ("admin/orgs", Get, H::ListOrgs),
        ("admin/orgs", Post, H::CreateOrg),
        ("admin/orgs/*", Get, H::GetOrg),
        ("admin/orgs/*", Patch, H::RenameOrg),
        ("admin/orgs/*", Delete, H::DeleteOrg),
        ("admin/orgs/*/instances", Get, H::ListInstances),
        ("admin/orgs/*/instances", Post, H::CreateInstance),
        ("admin/orgs/*/users", Get, H::ListUsers),
        ("admin/orgs/*/users", Post, H::CreateUser),
        ("admin/orgs/*/audit", Get, H::OrgAudit),
        ("admin/instances/*", Get, H::GetInstance),
        ("admin/instances/*", Patch, H::RenameInstance),
        ("admin/instances/*", Delete, H::DeleteInstance),
        ("admin/instances/*/projects", Get, H::ListProjects),
        ("admin/instances/*/projects", Post, H::CreateProject),
        ("admin/instances/*/keys", Get, H::ListKeys),
        ("admin/instances/*/keys", Post, H::CreateKey),
        ("admin/instances/*/provider-keys", Get, H::ListProviderKeys),
        ("admin/instances/*/provider-keys/*", Put, H::SetProviderKey),
        (
            "admin/instances/*/provider-keys/*",
            Delete,
            H::DeleteProviderKey,
        ),
        ("admin/instances/*/rate-limits", Get, H::ListPolicies),
        ("admin/instances/*/rate-limits/*/*", Put, H::SetPolicy),
        ("admin/instances/*/rate-limits/*/*", Delete, H::DeletePolicy),
        ("admin/instances/*/usage", Get, H::Usage),
        ("admin/instances/*/usage/series", Get, H::UsageSeries),
        ("admin/instances/*/requests", Get, H::Requests),
        ("admin/instances/*/images", Get, H::ListImages),
        ("admin/instances/*/images", Delete, H::DeleteImage),
        ("admin/instances/*/models", Get, H::ListModels),
        ("admin/instances/*/models", Post, H::CreateModel),
        ("admin/instances/*/models/*", Get, H::GetModel),
        ("admin/instances/*/models/*", Patch, H::UpdateModel),
        ("admin/instances/*/models/*", Delete, H::DeleteModel),
        ("admin/projects/*", Get, H::GetProject),
        ("admin/projects/*", Patch, H::RenameProject),
        ("admin/projects/*", Delete, H::DeleteProject),
        ("admin/users/*", Get, H::GetUser),
        ("admin/users/*", Patch, H::UpdateUser),
        ("admin/users/*", Delete, H::DeleteUser),
        ("admin/keys/*", Get, H::GetKey),
        ("admin/keys/*", Delete, H::DeleteKey),
        ("admin/keys/*/revoke", Post, H::RevokeKey),
        ("admin/keys/*/rotate", Post, H::RotateKey),
    ]
};

/// The segments `*` matched, if `pattern` matches `segments`.
fn matches<'a>(pattern: &str, segments: &[&'a str]) -> Option<Vec<&'a str>> {
    let parts: Vec<&str> = pattern.split('/').collect();
    if parts.len() != segments.len() {
        return None;
    }
    let mut args = Vec::new();
    for (part, segment) in parts.iter().zip(segments) {
        match *part {
            "*" if !segment.is_empty() => args.push(*segment),
            literal if literal == *segment => {}
            _ => return None,
        }
    }
    Some(args)
}

/// The route for `path` and `method`: 404 when no route has the path, 405 when none has the method.
fn find<'a>(segments: &[&'a str], method: &Method) -> Result<(H, Vec<&'a str>), ApiError> {
    let mut known = false;
    for (pattern, m, handler) in ROUTES {
        if let Some(args) = matches(pattern, segments) {
            if m == method {
                return Ok((*handler, args));
            }
            known = true;
        }
    }
    Err(if known {
        ApiError::method_not_allowed()
    } else {
        ApiError::route_not_found()
    })
}

pub async fn handle(req: &mut Request, env: &Env, call: &Call) -> Reply {
    let path = req.path();
    match path.as_str() {
        "/health" => return ops::health(call),
        "/ready" => return ops::ready(env, call).await,
        "/metrics" if req.method() == Method::Get => {
            return prometheus::scrape(req, env, call).await
        }
        _ => {}
    }
    let trimmed = path.trim_start_matches('/').trim_end_matches('/');
    let segments: Vec<&str> = trimmed.split('/').collect();
    // Unknown paths and methods are answered before anyone is authenticated or D1 is touched.
    let (handler, args) = find(&segments, &req.method())?;
    let settings = Settings::load(env)?;
    let now = clock::now_ms();
    if handler == H::SignIn {
        return session::sign_in(req, env, call, &settings, now).await;
    }
    let (actor, session) = principal::authenticate_admin(req, env, &settings, now).await?;
    let query = req.url()?.query().unwrap_or("").to_string();
    let ctx = Ctx {
        env,
        call,
        settings,
        db: Db::from_env(env)?,
        actor,
        session,
        now,
        query,
    };
    dispatch(&ctx, req, handler, &args).await
}

async fn dispatch(ctx: &Ctx<'_>, req: &mut Request, handler: H, args: &[&str]) -> Reply {
    match (handler, args) {
        (H::Me, []) => ctx.ok(&ctx.actor.to_json()),
        (H::Session, []) => session::current(ctx),
        (H::SignOut, []) => session::sign_out(ctx).await,
        (H::BudgetStatus, []) => budgets::status(ctx).await,
        (H::ListOrgBudgets, [org]) => budgets::list_org(ctx, org).await,
        (H::SetOrgBudget, [org, period]) => budgets::set_org(ctx, req, org, period).await,
        (H::DeleteOrgBudget, [org, period]) => budgets::delete_org(ctx, org, period).await,
        (H::ShiftBudgetClock, [org]) => budgets::shift_clock(ctx, req, org).await,
        (H::BudgetEvents, [org]) => budgets::events(ctx, org).await,
        (H::ListBudgets, [ins]) => budgets::list_instance(ctx, ins).await,
        (H::SetBudget, [ins, scope, target, period]) => {
            budgets::set_in_instance(ctx, req, ins, scope, target, period).await
        }
        (H::DeleteBudget, [ins, scope, target, period]) => {
            budgets::delete_in_instance(ctx, ins, scope, target, period).await
        }
        (H::ListOrgs, []) => nodes::list_orgs(ctx).await,
        (H::CreateOrg, []) => nodes::create_org(ctx, req).await,
        (H::GetOrg, [org]) => nodes::get(ctx, Level::Org, org).await,
        (H::RenameOrg, [org]) => nodes::rename(ctx, req, Level::Org, org).await,
        (H::DeleteOrg, [org]) => nodes::delete(ctx, Level::Org, org).await,
        (H::ListInstances, [org]) => nodes::list_children(ctx, Level::Instance, org).await,
        (H::CreateInstance, [org]) => nodes::create_child(ctx, req, Level::Instance, org).await,
        (H::ListUsers, [org]) => users::list(ctx, org).await,
        (H::CreateUser, [org]) => users::create(ctx, req, org).await,
        (H::OrgAudit, [org]) => audit::list(ctx, org).await,
        (H::GetInstance, [ins]) => nodes::get(ctx, Level::Instance, ins).await,
        (H::RenameInstance, [ins]) => nodes::rename(ctx, req, Level::Instance, ins).await,
        (H::DeleteInstance, [ins]) => nodes::delete(ctx, Level::Instance, ins).await,
        (H::ListProjects, [ins]) => nodes::list_children(ctx, Level::Project, ins).await,
        (H::CreateProject, [ins]) => nodes::create_child(ctx, req, Level::Project, ins).await,
        (H::ListKeys, [ins]) => keys::list(ctx, ins).await,
        (H::CreateKey, [ins]) => keys::create(ctx, req, ins).await,
        (H::ListProviderKeys, [ins]) => provider_keys::list(ctx, ins).await,
        (H::SetProviderKey, [ins, name]) => provider_keys::set(ctx, req, ins, name).await,
        (H::DeleteProviderKey, [ins, name]) => provider_keys::delete(ctx, ins, name).await,
        (H::ListPolicies, [ins]) => policies::list(ctx, ins).await,
        (H::SetPolicy, [ins, scope, target]) => policies::set(ctx, req, ins, scope, target).await,
        (H::DeletePolicy, [ins, scope, target]) => policies::delete(ctx, ins, scope, target).await,
        (H::Usage, [ins]) => usage::summary(ctx, ins).await,
        (H::UsageSeries, [ins]) => usage::series(ctx, ins).await,
        (H::Requests, [ins]) => usage::requests(ctx, ins).await,
        (H::ListImages, [ins]) => images::list(ctx, ins).await,
        (H::DeleteImage, [ins]) => images::delete(ctx, ins).await,
        (H::ListModels, [ins]) => models::list(ctx, ins).await,
        (H::CreateModel, [ins]) => models::create(ctx, req, ins).await,
        (H::GetModel, [ins, id]) => models::get(ctx, ins, id).await,
        (H::UpdateModel, [ins, id]) => models::update(ctx, req, ins, id).await,
        (H::DeleteModel, [ins, id]) => models::delete(ctx, ins, id).await,
        (H::GetProject, [prj]) => nodes::get(ctx, Level::Project, prj).await,
        (H::RenameProject, [prj]) => nodes::rename(ctx, req, Level::Project, prj).await,
        (H::DeleteProject, [prj]) => nodes::delete(ctx, Level::Project, prj).await,
        (H::GetUser, [usr]) => users::get(ctx, usr).await,
        (H::UpdateUser, [usr]) => users::update(ctx, req, usr).await,
        (H::DeleteUser, [usr]) => users::delete(ctx, usr).await,
        (H::GetKey, [key]) => keys::get(ctx, key).await,
        (H::DeleteKey, [key]) => keys::delete(ctx, key).await,
        (H::RevokeKey, [key]) => keys::revoke(ctx, key).await,
        (H::RotateKey, [key]) => keys::rotate(ctx, key).await,
        // The table and this match name the same handlers with the same number of segments.
        _ => Err(ApiError::route_not_found().into()),
    }
}
