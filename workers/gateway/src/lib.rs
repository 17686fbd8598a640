//! The front door. Static interfaces are served by the assets binding before this runs; everything else
//! is routed here to the worker that owns it, through service bindings (one origin for UIs and API).

use kit::bindings;
use kit::call::REQUEST_ID_HEADER;
use kit::{Call, Fault};
use worker::{event, Context, Env, Request, Response, Result};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let call = Call::begin(&req);
    let path = req.path();
    if path == "/health" {
        return call.finish(call.json(200, &serde_json::json!({"status": "ok"})));
    }
    let result = forward(req, &env, &call, route(&path)).await;
    // Downstream workers stamp their own responses; only our own errors need the envelope here.
    match result {
        Ok(response) => Ok(response),
        Err(fault) => call.finish(Err(fault)),
    }
}

/// Which service owns a path.
fn route(path: &str) -> Option<&'static str> {
    match path {
        "/ready" | "/v1/me" => Some(bindings::CONFIG),
        "/v1/chat/completions" | "/v1/messages" | "/v1/models" | "/generate" => {
            Some(bindings::TEXT_GEN)
        }
        _ if path.starts_with("/admin/") => Some(bindings::CONFIG),
        _ => None,
    }
}

async fn forward(
    req: Request,
    env: &Env,
    call: &Call,
    service: Option<&'static str>,
) -> std::result::Result<Response, Fault> {
    let Some(service) = service else {
        return Err(envelope::ApiError::route_not_found().into());
    };
    // The downstream worker adopts our request id, so one id follows the request through every hop.
    // Incoming headers are immutable; clone_mut moves the body into a request we may change.
    let mut req = req.clone_mut()?;
    req.headers_mut()?
        .set(REQUEST_ID_HEADER, &call.request_id)?;
    Ok(env.service(service)?.fetch_request(req).await?)
}
