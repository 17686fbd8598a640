//! The route table of the image-gen worker: one list from which both the dispatch and the 404/405
//! answers derive. Stored images live under one prefix.

use crate::{generate, serve};
use envelope::ApiError;
use kit::call::Reply;
use kit::Call;
use serde_json::json;
use worker::{Context, Env, Method, Request};

#[derive(Clone, Copy)]
enum Handler {
    Health,
    Generate(generate::Shape),
    Forget,
}

const ROUTES: &[(&str, Method, Handler)] = &[
    ("/health", Method::Get, Handler::Health),
    (
        "/v1/images/generations",
        Method::Post,
        Handler::Generate(generate::Shape::OpenAi),
    ),
    (
        "/generate",
        Method::Post,
        Handler::Generate(generate::Shape::Seed),
    ),
    (kit::principal::FORGET_PATH, Method::Post, Handler::Forget),
];

/// Where stored images are served (`GET /images/{key}`).
pub const IMAGES_PREFIX: &str = "/images/";

fn find(path: &str, method: &Method) -> Result<Handler, ApiError> {
    let mut known = false;
    for (p, m, handler) in ROUTES {
        if *p == path {
            if m == method {
                return Ok(*handler);
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

pub async fn handle(req: &mut Request, env: &Env, ctx: &Context, call: &Call) -> Reply {
    let path = req.path();
    if let Some(key) = path.strip_prefix(IMAGES_PREFIX) {
        return match req.method() {
            Method::Get => serve::image(req, env, key, true).await,
            Method::Head => serve::image(req, env, key, false).await,
            _ => Err(ApiError::method_not_allowed().into()),
        };
    }
    match find(&path, &req.method())? {
        Handler::Health => call.json(200, &json!({"status": "ok"})),
        Handler::Generate(shape) => generate::run(req, env, ctx, call, shape).await,
        Handler::Forget => kit::principal::answer_forget(req, env, call).await,
    }
}
