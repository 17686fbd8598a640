//! The route table of the text-gen worker.

use crate::job::{self, Format};
use crate::models;
use envelope::ApiError;
use kit::call::Reply;
use kit::Call;
use serde_json::json;
use worker::{Context, Env, Method, Request};

pub async fn handle(req: &mut Request, env: &Env, ctx: &Context, call: &Call) -> Reply {
    let path = req.path();
    let method = req.method();
    match (path.as_str(), method) {
        ("/health", Method::Get) => call.json(200, &json!({"status": "ok"})),
        ("/v1/chat/completions", Method::Post) => {
            job::run(req, env, ctx, call, Format::OpenAi).await
        }
        ("/v1/messages", Method::Post) => job::run(req, env, ctx, call, Format::Anthropic).await,
        ("/generate", Method::Post) => job::run(req, env, ctx, call, Format::Seed).await,
        ("/v1/models", Method::Get) => models::list(req, env, call).await,
        ("/v1/chat/completions" | "/v1/messages" | "/generate" | "/v1/models", _) => {
            Err(ApiError::method_not_allowed().into())
        }
        _ => Err(ApiError::route_not_found().into()),
    }
}
