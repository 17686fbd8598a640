//! The route table of the text-gen worker.

use crate::job::{self, Format};
use crate::models;
use envelope::ApiError;
use kit::call::Reply;
use kit::Call;
use serde_json::json;
use worker::{Context, Env, Method, Request};

/// The config worker's notice that cached principals or instance snapshots changed.
async fn forget(req: &mut Request, env: &Env, call: &Call) -> Reply {
    let settings = kit::settings::Settings::load(env)?;
    let auth = req.headers().get("authorization")?;
    let token = keys::bearer_token(auth.as_deref(), None).unwrap_or("");
    if !keys::token_matches(token, &settings.admin_token) {
        return Err(ApiError::route_not_found().into());
    }
    let notice: kit::principal::Forget = kit::call::read_json(req, 1024 * 1024).await?;
    kit::principal::forget_here(&notice.key_hashes, &notice.instance_ids);
    call.no_content()
}

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
        (kit::principal::FORGET_PATH, Method::Post) => forget(req, env, call).await,
        ("/v1/chat/completions" | "/v1/messages" | "/generate" | "/v1/models", _) => {
            Err(ApiError::method_not_allowed().into())
        }
        _ => Err(ApiError::route_not_found().into()),
    }
}
