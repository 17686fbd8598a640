//! The route table of the config worker.

use crate::ctx::Ctx;
use crate::{audit, keys, models, nodes, ops, policies, provider_keys, usage, users};
use envelope::ApiError;
use kit::call::Reply;
use kit::settings::Settings;
use kit::store::nodes::Level;
use kit::store::Db;
use kit::{clock, principal, Call};
use worker::{Env, Method, Request};

pub async fn handle(req: &mut Request, env: &Env, call: &Call) -> Reply {
    let path = req.path();
    match path.as_str() {
        "/health" => return ops::health(call),
        "/ready" => return ops::ready(env, call).await,
        _ => {}
    }
    let admin = path.strip_prefix("/admin/");
    if admin.is_none() && path != "/v1/me" {
        return Err(ApiError::route_not_found().into());
    }
    let settings = Settings::load(env)?;
    let now = clock::now_ms();
    let actor = principal::authenticate(req, env, &settings, now).await?;
    let query = req.url()?.query().unwrap_or("").to_string();
    let ctx = Ctx {
        env,
        call,
        settings,
        db: Db::from_env(env)?,
        actor,
        now,
        query,
    };
    match admin {
        None => match req.method() {
            Method::Get => ctx.ok(&ctx.actor.to_json()),
            _ => Err(ApiError::method_not_allowed().into()),
        },
        Some(rest) => {
            let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
            admin_route(&ctx, req, &segments).await
        }
    }
}

async fn admin_route(ctx: &Ctx<'_>, req: &mut Request, segments: &[&str]) -> Reply {
    use Method::{Delete, Get, Patch, Post, Put};
    let method = req.method();
    match (segments, method) {
        (["orgs"], Get) => nodes::list_orgs(ctx).await,
        (["orgs"], Post) => nodes::create_org(ctx, req).await,
        (["orgs", org], Get) => nodes::get(ctx, Level::Org, org).await,
        (["orgs", org], Patch) => nodes::rename(ctx, req, Level::Org, org).await,
        (["orgs", org], Delete) => nodes::delete(ctx, Level::Org, org).await,
        (["orgs", org, "instances"], Get) => nodes::list_children(ctx, Level::Instance, org).await,
        (["orgs", org, "instances"], Post) => {
            nodes::create_child(ctx, req, Level::Instance, org).await
        }
        (["orgs", org, "users"], Get) => users::list(ctx, org).await,
        (["orgs", org, "users"], Post) => users::create(ctx, req, org).await,
        (["orgs", org, "audit"], Get) => audit::list(ctx, org).await,
        (["instances", ins], Get) => nodes::get(ctx, Level::Instance, ins).await,
        (["instances", ins], Patch) => nodes::rename(ctx, req, Level::Instance, ins).await,
        (["instances", ins], Delete) => nodes::delete(ctx, Level::Instance, ins).await,
        (["instances", ins, "projects"], Get) => {
            nodes::list_children(ctx, Level::Project, ins).await
        }
        (["instances", ins, "projects"], Post) => {
            nodes::create_child(ctx, req, Level::Project, ins).await
        }
        (["instances", ins, "keys"], Get) => keys::list(ctx, ins).await,
        (["instances", ins, "keys"], Post) => keys::create(ctx, req, ins).await,
        (["instances", ins, "provider-keys"], Get) => provider_keys::list(ctx, ins).await,
        (["instances", ins, "provider-keys", name], Put) => {
            provider_keys::set(ctx, req, ins, name).await
        }
        (["instances", ins, "provider-keys", name], Delete) => {
            provider_keys::delete(ctx, ins, name).await
        }
        (["instances", ins, "rate-limits"], Get) => policies::list(ctx, ins).await,
        (["instances", ins, "rate-limits", scope, target], Put) => {
            policies::set(ctx, req, ins, scope, target).await
        }
        (["instances", ins, "rate-limits", scope, target], Delete) => {
            policies::delete(ctx, ins, scope, target).await
        }
        (["instances", ins, "usage"], Get) => usage::summary(ctx, ins).await,
        (["instances", ins, "models"], Get) => models::list(ctx, ins).await,
        (["instances", ins, "models"], Post) => models::create(ctx, req, ins).await,
        (["instances", ins, "models", id], Get) => models::get(ctx, ins, id).await,
        (["instances", ins, "models", id], Patch) => models::update(ctx, req, ins, id).await,
        (["instances", ins, "models", id], Delete) => models::delete(ctx, ins, id).await,
        (["projects", prj], Get) => nodes::get(ctx, Level::Project, prj).await,
        (["projects", prj], Patch) => nodes::rename(ctx, req, Level::Project, prj).await,
        (["projects", prj], Delete) => nodes::delete(ctx, Level::Project, prj).await,
        (["users", usr], Get) => users::get(ctx, usr).await,
        (["users", usr], Patch) => users::update(ctx, req, usr).await,
        (["users", usr], Delete) => users::delete(ctx, usr).await,
        (["keys", key], Get) => keys::get(ctx, key).await,
        (["keys", key], Delete) => keys::delete(ctx, key).await,
        (["keys", key, "revoke"], Post) => keys::revoke(ctx, key).await,
        (["keys", key, "rotate"], Post) => keys::rotate(ctx, key).await,
        (segments, _) if known_path(segments) => Err(ApiError::method_not_allowed().into()),
        _ => Err(ApiError::route_not_found().into()),
    }
}

/// Whether some method serves this path (so the answer is 405, not 404).
fn known_path(segments: &[&str]) -> bool {
    matches!(
        segments,
        ["orgs"]
            | ["orgs", _]
            | ["orgs", _, "instances" | "users" | "audit"]
            | ["instances", _]
            | [
                "instances",
                _,
                "projects" | "keys" | "provider-keys" | "models"
            ]
            | ["instances", _, "provider-keys" | "models", _]
            | ["projects", _]
            | ["users", _]
            | ["keys", _]
            | ["keys", _, "revoke" | "rotate"]
    )
}
