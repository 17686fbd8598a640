//! The front door: routes the API to the worker that owns it and every other path to the interfaces (the
//! `de-ui` assets worker), through service bindings, so the UIs and the API share one origin. API requests
//! are passed on untouched, as the runtime's own `Request` (no conversion to workers-rs types on that path):
//! the worker that answers assigns `x-request-id` itself (never the caller's: a tenant's own
//! `x-request-id` reaches it unchanged and is kept apart as the client request id, see `kit::call`), so
//! no id is forwarded from here and an inner worker has no header it must trust.
//!
//! The fetch handler is our own export rather than workers-rs' `#[event(fetch)]`: for an API path it
//! returns the service binding's own promise, so the runtime chains the answer with no Rust future, no
//! wasm-bindgen task queue and no conversion in between (the hop then costs what it costs in JavaScript).
//! Every other path runs the async handler below, as `#[event(fetch)]` would.

use envelope::ApiError;
use kit::bindings;
use kit::raw;
use kit::Call;
use worker::js_sys::Promise;
use worker::wasm_bindgen::{self, prelude::wasm_bindgen, JsValue};
use worker::wasm_bindgen_futures::future_to_promise;
use worker::worker_sys::web_sys;
use worker::{Env, Request, Result};

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
        "/ready" | "/metrics" | "/v1/me" | "/v1/budget" => Route::Api(bindings::CONFIG),
        "/v1/chat/completions"
        | "/v1/messages"
        | "/v1/responses"
        | "/v1/embeddings"
        | "/v1/models"
        | "/generate" => Route::Api(bindings::TEXT_GEN),
        "/v1/images/generations" => Route::Api(bindings::IMAGE_GEN),
        _ if path.starts_with("/images/") => Route::Api(bindings::IMAGE_GEN),
        _ if path.starts_with("/admin/") => Route::Api(bindings::CONFIG),
        _ if path.starts_with("/v1/") || path == "/admin" => Route::Nowhere,
        _ => Route::Page,
    }
}

/// The runtime's entry point for HTTP requests (what `#[event(fetch)]` would export, see the module note).
#[wasm_bindgen]
pub fn fetch(req: web_sys::Request, env: Env, _ctx: JsValue) -> Promise {
    let url = req.url();
    let route = route(envelope::url::path(&url));
    if let Route::Api(service) = route {
        if let Ok(answer) = raw::pass_promise(&env, service, &req) {
            return answer;
        }
    }
    future_to_promise(async move {
        // `Clone::clone`: another handle on the same JS object (the inherent `clone()` would copy the body).
        let call = Call::begin(&Request::from(Clone::clone(&req)));
        let answer = match other(route, &req, &env, &call).await {
            Ok(response) => Ok(response),
            // Logged once with the request id; the caller gets the 500 envelope.
            Err(e) => call.finish(Err(e.into())).map(web_sys::Response::from),
        };
        answer.map(JsValue::from).map_err(JsValue::from)
    })
}

/// Pages, the front door's own health probe, paths nothing serves, and an API path whose binding failed.
async fn other(
    route: Route,
    req: &web_sys::Request,
    env: &Env,
    call: &Call,
) -> Result<web_sys::Response> {
    let reply = match route {
        Route::Api(service) => return raw::pass(env, service, req).await,
        Route::Health => call.json(200, &serde_json::json!({"status": "ok"})),
        Route::Page => {
            let page = raw::pass(env, bindings::UI, req).await?;
            if page.status() != 404 {
                return Ok(page);
            }
            // Neither the API nor a page: the one error envelope, like every other error.
            Err(ApiError::route_not_found().into())
        }
        Route::Nowhere => Err(ApiError::route_not_found().into()),
    };
    Ok(call.finish(reply)?.into())
}
