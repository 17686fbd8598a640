//! The front door: routes the API to the worker that owns it and every other path to the interfaces (the
//! `de-ui` assets worker), through service bindings, so the UIs and the API share one origin. API requests
//! are passed on untouched, as the runtime's own `Request` (no conversion to workers-rs types on that path):
//! the worker that answers assigns (or adopts the caller's) `x-request-id`.

use envelope::ApiError;
use kit::bindings;
use kit::raw;
use kit::Call;
use worker::worker_sys::web_sys;
use worker::{event, Context, Env, Request, Result};

/// Where a path goes.
enum Route {
    /// A worker of the API, by binding name.
    Api(&'static str),
    /// A page of the interfaces.
    Page,
    /// An API path nothing serves.
    Nowhere,
    /// The front door's own liveness probe.
    Health,
}

fn route(path: &str) -> Route {
    match path {
        "/health" => Route::Health,
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
async fn fetch(raw: web_sys::Request, env: Env, _ctx: Context) -> Result<web_sys::Response> {
    let url = raw.url();
    let call = match route(envelope::url::path(&url)) {
        Route::Api(service) => return raw::pass(&env, service, &raw).await,
        Route::Health => {
            let call = Call::begin(&Request::from(raw));
            return Ok(call
                .finish(call.json(200, &serde_json::json!({"status": "ok"})))?
                .into());
        }
        Route::Page => {
            let page = raw::pass(&env, bindings::UI, &raw).await?;
            if page.status() != 404 {
                return Ok(page);
            }
            Call::begin(&Request::from(raw))
        }
        Route::Nowhere => Call::begin(&Request::from(raw)),
    };
    // Neither the API nor a page: the one error envelope, like every other error.
    Ok(call.finish(Err(ApiError::route_not_found().into()))?.into())
}
