//! Outbound calls to AI providers: send a built [`HttpRequest`] with a deadline, classify failures, and
//! retry with the pure policy of `providers::retry` (backoff, jitter, Retry-After, bounded total time).

use crate::clock;
use crate::random;
use crate::raw;
use futures_util::future::{select, Either};
use providers::retry::{next_delay, RetryPolicy};
use providers::upstream::{classify, HttpRequest, UpstreamError};
use std::future::Future;
use std::pin::pin;
use std::time::Duration;
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit, Response};

/// An upstream stream whose status said success; the body is still unread.
pub struct Answer {
    pub response: Response,
}

/// The outcome of an upstream call after retries, with what it cost in time and attempts.
pub struct Attempted<T> {
    pub result: Result<T, UpstreamError>,
    pub attempts: u32,
    /// Wall time spent waiting on the upstream (including backoff sleeps).
    pub upstream_ms: f64,
}

fn build(req: &HttpRequest) -> worker::Result<Request> {
    let headers = Headers::new();
    for (name, value) in &req.headers {
        headers.set(name, value)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::from(req.method.to_string()))
        .with_headers(headers);
    if !req.body.is_empty() {
        let body = worker::js_sys::Uint8Array::from(req.body.as_slice());
        init.with_body(Some(body.into()));
    }
    Request::new_with_init(&req.url, &init)
}

/// Sends a streaming request; the deadline covers the response headers only: a stream has no deadline once
/// its headers arrived, it may run as long as it flows. The deadline timer is a
/// `Delay` raced against the fetch, so it is cleared as soon as the fetch settles (no timer outlives its
/// request). A non-2xx status is read and classified here.
pub async fn send(req: &HttpRequest, timeout_ms: u64) -> Result<Answer, UpstreamError> {
    let request = build(req).map_err(|e| UpstreamError::Network {
        detail: e.to_string(),
    })?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let fetcher = Fetch::Request(request);
    let fetch = pin!(fetcher.send_with_signal(&signal));
    let timer = pin!(Delay::from(Duration::from_millis(timeout_ms)));
    let response = match select(fetch, timer).await {
        Either::Left((Ok(response), _)) => response,
        Either::Left((Err(e), _)) => {
            return Err(UpstreamError::Network {
                detail: e.to_string(),
            })
        }
        Either::Right(((), _)) => {
            controller.abort();
            return Err(UpstreamError::Timeout);
        }
    };
    let status = response.status_code();
    if (200..300).contains(&status) {
        return Ok(Answer { response });
    }
    let retry_after = retry_after_header(response.headers());
    let body = match response.body() {
        worker::ResponseBody::Stream(stream) => {
            error_body(raw::read_stream(Some(stream.clone()), ERROR_BODY_LIMIT).await)
        }
        worker::ResponseBody::Body(bytes) => bytes.clone(),
        worker::ResponseBody::Empty => Vec::new(),
    };
    Err(classify(status, retry_after.as_deref(), &body))
}

/// The most of a whole (non-streamed) upstream answer that is read: far above any chat completion, far
/// below what would exhaust an isolate's 128 MB. A larger body is refused as malformed (502).
pub const BODY_LIMIT: usize = 16 * 1024 * 1024;
/// The most of an error body that is read to classify it; a longer one is classified by its status alone.
pub const ERROR_BODY_LIMIT: usize = 64 * 1024;

fn error_body(read: Result<raw::Bounded, worker::wasm_bindgen::JsValue>) -> Vec<u8> {
    match read {
        Ok(raw::Bounded::Whole(body)) => body,
        Ok(raw::Bounded::TooLarge) | Err(_) => Vec::new(),
    }
}

fn too_large(limit: usize) -> UpstreamError {
    UpstreamError::Malformed {
        detail: format!("the response body exceeds {limit} bytes"),
    }
}

/// Retry-After in seconds, preferring the millisecond variant some providers send.
fn retry_after_header(headers: &Headers) -> Option<String> {
    retry_after_from(|name| headers.get(name).ok().flatten())
}

fn retry_after_from(get: impl Fn(&str) -> Option<String>) -> Option<String> {
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return Some(format!("{}", ms / 1000.0));
    }
    get("retry-after")
}

/// A non-streaming call: the deadline covers the headers and the whole body, as one
/// `AbortSignal.timeout` on the fetch (the host aborts the body read too; no timer of ours to clear). The
/// body is read with `arrayBuffer()` when its length is declared, else counted chunk by chunk; past
/// [`BODY_LIMIT`] it is refused. A non-2xx status is read (at most [`ERROR_BODY_LIMIT`]) and classified here.
pub async fn fetch_whole(req: &HttpRequest, timeout_ms: u64) -> Result<Vec<u8>, UpstreamError> {
    fetch_within(req, timeout_ms, BODY_LIMIT).await
}

/// [`fetch_whole`] with another bound on the body (image answers carry several images inline).
pub async fn fetch_within(
    req: &HttpRequest,
    timeout_ms: u64,
    limit: usize,
) -> Result<Vec<u8>, UpstreamError> {
    let outbound = raw::Outbound {
        method: req.method,
        url: &req.url,
        headers: &req.headers,
        body: &req.body,
    };
    let signal = raw::deadline(timeout_ms);
    let response = match raw::fetch(&outbound, Some(&signal)).await {
        Ok(response) => response,
        Err(_) if signal.aborted() => return Err(UpstreamError::Timeout),
        Err(e) => {
            return Err(UpstreamError::Network {
                detail: raw::describe(&e),
            })
        }
    };
    let status = response.status();
    if !(200..300).contains(&status) {
        let retry_after = retry_after_from(|name| raw::header(&response, name));
        let body = error_body(raw::bytes_limited(&response, ERROR_BODY_LIMIT).await);
        return Err(classify(status, retry_after.as_deref(), &body));
    }
    match raw::bytes_limited(&response, limit).await {
        Ok(raw::Bounded::Whole(body)) => Ok(body),
        Ok(raw::Bounded::TooLarge) => Err(too_large(limit)),
        Err(_) if signal.aborted() => Err(UpstreamError::Timeout),
        Err(_) => Err(UpstreamError::Truncated),
    }
}

/// Runs `attempt` until it succeeds, fails for good, or the policy's budget is spent.
pub async fn with_retries<T, F, Fut>(policy: &RetryPolicy, mut attempt: F) -> Attempted<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, UpstreamError>>,
{
    let started = clock::tick_ms();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let result = attempt().await;
        let elapsed = clock::tick_ms() - started;
        let err = match result {
            Ok(value) => {
                return Attempted {
                    result: Ok(value),
                    attempts,
                    upstream_ms: elapsed,
                }
            }
            Err(err) => err,
        };
        let [byte] = random::bytes::<1>();
        let jitter = f64::from(byte) / 255.0;
        match next_delay(policy, attempts, &err, elapsed.max(0.0) as u64, jitter) {
            Some(delay) => Delay::from(Duration::from_millis(delay)).await,
            None => {
                return Attempted {
                    result: Err(err),
                    attempts,
                    upstream_ms: clock::tick_ms() - started,
                }
            }
        }
    }
}
