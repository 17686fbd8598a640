//! Outbound calls to AI providers: send a built [`HttpRequest`] with a deadline, classify failures, and
//! retry with the pure policy of `providers::retry` (backoff, jitter, Retry-After, bounded total time).

use crate::clock;
use crate::random;
use futures_util::future::{select, Either};
use providers::retry::{next_delay, RetryPolicy};
use providers::upstream::{classify, HttpRequest, UpstreamError};
use std::future::Future;
use std::pin::pin;
use std::time::Duration;
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit, Response};

/// An upstream answer whose status said success; the body is still unread (it may be a stream).
pub struct Answer {
    pub response: Response,
    /// Aborts the request (and its body) when a deadline passes while reading.
    controller: AbortController,
    /// When the attempt's deadline passes (`clock::tick_ms` scale).
    deadline_ms: f64,
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

/// Sends `req`; the deadline covers the response headers, and [`read_body`] keeps it for the body. A stream
/// has no deadline once its headers arrived: it may run as long as it flows. The deadline timer is a
/// `Delay` raced against the fetch, so it is cleared as soon as the fetch settles (no timer outlives its
/// request). A non-2xx status is read and classified here.
pub async fn send(req: &HttpRequest, timeout_ms: u64) -> Result<Answer, UpstreamError> {
    let request = build(req).map_err(|e| UpstreamError::Network {
        detail: e.to_string(),
    })?;
    let controller = AbortController::default();
    let deadline_ms = clock::tick_ms() + timeout_ms as f64;
    let signal = controller.signal();
    let fetcher = Fetch::Request(request);
    let fetch = pin!(fetcher.send_with_signal(&signal));
    let timer = pin!(Delay::from(Duration::from_millis(timeout_ms)));
    let mut response = match select(fetch, timer).await {
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
        return Ok(Answer {
            response,
            controller,
            deadline_ms,
        });
    }
    let retry_after = retry_after_header(response.headers());
    let body = response.bytes().await.unwrap_or_default();
    Err(classify(status, retry_after.as_deref(), &body))
}

/// Retry-After in seconds, preferring the millisecond variant some providers send.
fn retry_after_header(headers: &Headers) -> Option<String> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<f64>().ok())
    {
        return Some(format!("{}", ms / 1000.0));
    }
    headers.get("retry-after").ok().flatten()
}

/// Reads a whole body within what is left of the attempt's deadline.
pub async fn read_body(answer: Answer) -> Result<Vec<u8>, UpstreamError> {
    let Answer {
        mut response,
        controller,
        deadline_ms,
    } = answer;
    let left = (deadline_ms - clock::tick_ms()).max(0.0) as u64;
    let timer = pin!(Delay::from(Duration::from_millis(left)));
    let body = pin!(response.bytes());
    match select(body, timer).await {
        Either::Left((Ok(bytes), _)) => Ok(bytes),
        Either::Left((Err(_), _)) => Err(UpstreamError::Truncated),
        Either::Right(((), _)) => {
            controller.abort();
            Err(UpstreamError::Timeout)
        }
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
