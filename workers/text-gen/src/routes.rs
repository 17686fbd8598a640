//! The route table of the text-gen worker: one list from which both the dispatch and the 404/405
//! answers derive.

use crate::{embed, generate, models};
use envelope::ApiError;
use generation::Format;
use kit::call::Reply;
use kit::Call;
use serde_json::json;
use worker::{Context, Env, Method, Request};

/// What a route does.
#[derive(Clone, Copy)]
enum Handler {
    Health,
    Generate(Format),
    Embed,
    Models,
    Forget,
}

const ROUTES: &[(&str, Method, Handler)] = &[
    ("/health", Method::Get, Handler::Health),
    (
        "/v1/chat/completions",
        Method::Post,
        Handler::Generate(Format::OpenAi),
    ),
    (
        "/v1/messages",
        Method::Post,
        Handler::Generate(Format::Anthropic),
    ),
    (
        "/v1/responses",
        Method::Post,
        Handler::Generate(Format::Responses),
    ),
    ("/generate", Method::Post, Handler::Generate(Format::Seed)),
    ("/v1/embeddings", Method::Post, Handler::Embed),
    ("/v1/models", Method::Get, Handler::Models),
    (kit::principal::FORGET_PATH, Method::Post, Handler::Forget),
];

/// The handler for `path` and `method`: 404 when no route has the path, 405 when none has the method.
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
    match find(&req.path(), &req.method())? {
        Handler::Health => call.json(200, &json!({"status": "ok"})),
        Handler::Generate(format) => generate::run(req, env, ctx, call, format).await,
        Handler::Embed => embed::run(req, env, ctx, call).await,
        Handler::Models => models::list(req, env, call).await,
        Handler::Forget => kit::principal::answer_forget(req, env, call).await,
    }
}
