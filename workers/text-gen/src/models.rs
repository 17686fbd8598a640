//! `GET /v1/models`: the models this key may use, in OpenAI's list shape.

use envelope::ApiError;
use kit::call::Reply;
use kit::settings::Settings;
use kit::store::Db;
use kit::{clock, principal, Call};
use serde_json::json;
use tenancy::page::Page;
use tenancy::principal::Actor;
use worker::{Env, Request};

pub async fn list(req: &Request, env: &Env, call: &Call) -> Reply {
    let settings = Settings::load(env)?;
    let Actor::Key(key) = principal::authenticate(req, env, &settings, clock::now_ms()).await?
    else {
        return Err(ApiError::forbidden("forbidden", "use an API key to list its models").into());
    };
    let db = Db::from_env(env)?;
    let page = Page {
        limit: tenancy::page::MAX_LIMIT,
        cursor: None,
    };
    let models = kit::store::models::list(&db, &key.instance_id, &page).await?;
    let data: Vec<_> = models
        .iter()
        .filter(|m| m.enabled && key.may_use_model(&m.id))
        .map(|m| json!({"id": m.id, "object": "model", "created": m.created_at / 1000, "owned_by": m.provider}))
        .collect();
    call.json(200, &json!({"object": "list", "data": data}))
}
