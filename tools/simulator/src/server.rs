//! The HTTP/1.1 server: accept loop, per-connection hyper service (keep-alive), routing, and the
//! optional one-line-per-request log.

use std::convert::Infallible;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::json;
use tokio::net::TcpListener;

use crate::anthropic::Anthropic;
use crate::attempts::Attempts;
use crate::body::SimBody;
use crate::errors::{ApiError, Shape};
use crate::openai::OpenAi;
use crate::{chat, clock, embeddings, images, respond};

const ATTEMPTS_PATH: &str = "/_sim/attempts/";
const REQUESTS_PATH: &str = "/_sim/requests/";
/// Pause after a failed accept (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Deploy-time knobs of the simulator process.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// Print one line per request (method, path, status, latency) to stdout.
    pub log: bool,
}

struct Shared {
    attempts: Attempts,
    settings: Settings,
    /// `host:port` we listen on, for image URLs when a request has no Host header.
    host: String,
}

/// Serves HTTP on `listener` until the task is dropped. Fails only if the listener has no address.
pub async fn serve(listener: TcpListener, settings: Settings) -> io::Result<()> {
    let shared = Arc::new(Shared {
        attempts: Attempts::default(),
        settings,
        host: listener.local_addr()?.to_string(),
    });
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        // Small SSE frames must leave at once, not wait for Nagle; failure only costs latency.
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, Infallible>(dispatch(request, &shared).await) }
            });
            // A connection error (client gone, a deliberately aborted body) ends only this
            // connection, and is the expected outcome of a cut fault: nothing to report.
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn dispatch(request: Request<Incoming>, shared: &Shared) -> Response<SimBody> {
    if !shared.settings.log {
        return handle(request, shared).await;
    }
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = handle(request, shared).await;
    println!(
        "{method} {path} {} {}us",
        response.status().as_u16(),
        started.elapsed().as_micros()
    );
    response
}

#[derive(Debug, PartialEq, Eq)]
enum Route {
    ChatCompletions,
    Messages,
    Embeddings,
    ImageGenerations,
    IdeogramGenerate,
    IdeogramV3Generate,
    Health,
    Attempts(String),
    Image(String),
    LastRequest(String),
    Reset,
    NotFound,
}

fn route(method: &Method, path: &str) -> Route {
    match (method, path) {
        (&Method::POST, "/v1/chat/completions") => Route::ChatCompletions,
        (&Method::POST, "/v1/messages") => Route::Messages,
        (&Method::POST, "/v1/embeddings") => Route::Embeddings,
        (&Method::POST, "/v1/images/generations") => Route::ImageGenerations,
        (&Method::POST, "/generate") => Route::IdeogramGenerate,
        (&Method::POST, "/v1/ideogram-v3/generate") => Route::IdeogramV3Generate,
        (&Method::GET, "/health") => Route::Health,
        (&Method::POST, "/_sim/reset") => Route::Reset,
        (&Method::GET, _) => {
            if let Some(key) = path.strip_prefix(ATTEMPTS_PATH) {
                Route::Attempts(key.to_string())
            } else if let Some(key) = path.strip_prefix(REQUESTS_PATH) {
                Route::LastRequest(key.to_string())
            } else if let Some(name) = path.strip_prefix(images::IMAGE_PATH) {
                Route::Image(name.to_string())
            } else {
                Route::NotFound
            }
        }
        _ => Route::NotFound,
    }
}

async fn handle(request: Request<Incoming>, shared: &Shared) -> Response<SimBody> {
    let attempts = &shared.attempts;
    match route(request.method(), request.uri().path()) {
        Route::ChatCompletions => chat::handle::<OpenAi>(request, attempts).await,
        Route::Messages => chat::handle::<Anthropic>(request, attempts).await,
        Route::Embeddings => embeddings::handle(request, attempts).await,
        Route::ImageGenerations => images::generate_openai(request, attempts, &shared.host).await,
        Route::IdeogramGenerate => images::generate_ideogram(request, attempts, &shared.host).await,
        Route::IdeogramV3Generate => {
            images::generate_ideogram_v3(request, attempts, &shared.host).await
        }
        Route::Health => respond::json(StatusCode::OK, &json!({ "status": "ok" })),
        Route::Attempts(key) => {
            respond::json(StatusCode::OK, &json!({ "attempts": attempts.count(&key) }))
        }
        Route::LastRequest(key) => match attempts.last(&key) {
            Some(body) => respond::json(StatusCode::OK, &json!({ "last": body })),
            None => not_found(),
        },
        Route::Image(name) => images::serve(&name, request.uri().query(), clock::unix_millis())
            .unwrap_or_else(not_found),
        Route::Reset => {
            attempts.reset();
            respond::json(StatusCode::OK, &json!({ "reset": true }))
        }
        Route::NotFound => not_found(),
    }
}

fn not_found() -> Response<SimBody> {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "No such route on the provider simulator.",
    )
    .render(Shape::OpenAi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_method_and_path() {
        assert_eq!(route(&Method::POST, "/v1/messages"), Route::Messages);
        assert_eq!(route(&Method::GET, "/v1/messages"), Route::NotFound);
        assert_eq!(
            route(&Method::GET, "/_sim/attempts/k1"),
            Route::Attempts("k1".into())
        );
        assert_eq!(
            route(&Method::GET, "/_sim/images/ab.png"),
            Route::Image("ab.png".into())
        );
        assert_eq!(
            route(&Method::POST, "/v1/ideogram-v3/generate"),
            Route::IdeogramV3Generate
        );
        assert_eq!(route(&Method::GET, "/nope"), Route::NotFound);
    }
}
