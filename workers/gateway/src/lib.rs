//! The front door: routes the API to the worker that owns it and every other path to the interfaces (the
//! `de-ui` assets worker), through service bindings, so the UIs and the API share one origin. API requests
//! are passed on untouched: the worker that answers assigns (or adopts the caller's) `x-request-id`.

use envelope::ApiError;
use kit::bindings;
use kit::Call;
use worker::{event, Context, Env, Request, Response, Result};

/// Where a path goes.
enum Route {
    /// A worker of the API, by binding name.
    Api(&'static str),
    /// A page of the interfaces.
    Page,
    /// An API path nothing serves.
    Nowhere,
}

fn route(path: &str) -> Route {
    match path {
        "/ready" | "/v1/me" => Route::Api(bindings::CONFIG),
        "/v1/chat/completions" | "/v1/messages" | "/v1/models" | "/generate" => {
            Route::Api(bindings::TEXT_GEN)
        }
        _ if path.starts_with("/admin/") => Route::Api(bindings::CONFIG),
        _ if path.starts_with("/v1/") || path == "/admin" => Route::Nowhere,
        _ => Route::Page,
    }
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let path = req.path();
    if path == "/health" {
        let call = Call::begin(&req);
        return call.finish(call.json(200, &serde_json::json!({"status": "ok"})));
    }
    let call = match route(&path) {
        Route::Api(service) => return env.service(service)?.fetch_request(req).await,
        Route::Page => {
            let call = Call::begin(&req);
            let page = env.service(bindings::UI)?.fetch_request(req).await?;
            if page.status_code() != 404 {
                return Ok(page);
            }
            call
        }
        Route::Nowhere => Call::begin(&req),
    };
    // Neither the API nor a page: the one error envelope, like every other error.
    call.finish(Err(ApiError::route_not_found().into()))
}
