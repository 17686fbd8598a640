//! The config worker: the admin API (orgs, instances, projects, users, API keys, provider keys, model
//! configs, audit log), `GET /v1/me`, and the ops endpoints. Routes, reads the env, calls the kit and the
//! pure crates; the SQL lives in `kit::store`, the rules in `tenancy`.

mod audit;
mod budgets;
mod ctx;
mod images;
mod keys;
mod models;
mod nodes;
mod ops;
mod policies;
mod prometheus;
mod provider_keys;
mod routes;
mod session;
mod usage;
mod users;

use kit::Call;
use worker::{event, Context, Env, Request, Response, Result};

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let call = Call::begin(&req);
    let result = routes::handle(&mut req, &env, &call).await;
    call.finish(result)
}
