//! Outbound calls to AI providers: send a built [`HttpRequest`] with a deadline, classify failures, and
//! retry with the pure policy of `providers::retry` (backoff, jitter, Retry-After, bounded total time).

use crate::clock;
use crate::random;
use providers::retry::{next_delay, RetryPolicy};
use providers::upstream::{classify, HttpRequest, UpstreamError};
use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit, Response};

/// An upstream answer whose status said success; the body is still unread (it may be a stream).
pub struct Answer {
    pub response: Response,
    /// While armed, the attempt's deadline may still abort the body.
    deadline: Rc<Cell<bool>>,
}

impl Answer {
    /// Lifts the deadline: a stream that has started answering may run as long as it flows.
    pub fn disarm(&self) {
        self.deadline.set(false);
    }
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

/// Sends `req`; the deadline covers the response headers (and, through the abort signal, the body).
/// A non-2xx status is read and classified here.
pub async fn send(req: &HttpRequest, timeout_ms: u64) -> Result<Answer, UpstreamError> {
    let request = build(req).map_err(|e| UpstreamError::Network {
        detail: e.to_string(),
    })?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let armed = Rc::new(Cell::new(true));
    let deadline = armed.clone();
    // Abort when the deadline passes, unless the caller disarmed it (a flowing stream).
    worker::wasm_bindgen_futures::spawn_local(async move {
        Delay::from(Duration::from_millis(timeout_ms)).await;
        if armed.get() {
            controller.abort();
        }
    });
    let mut response = match Fetch::Request(request).send_with_signal(&signal).await {
        Ok(r) => r,
        Err(_) if signal.aborted() => return Err(UpstreamError::Timeout),
        Err(e) => {
            return Err(UpstreamError::Network {
                detail: e.to_string(),
            })
        }
    };
    let status = response.status_code();
    if (200..300).contains(&status) {
        return Ok(Answer { response, deadline });
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

/// Reads a whole body, mapping an abort (deadline) to a timeout.
pub async fn read_body(answer: &mut Answer) -> Result<Vec<u8>, UpstreamError> {
    answer.response.bytes().await.map_err(|e| {
        let text = e.to_string();
        if text.contains("abort") || text.contains("Abort") {
            UpstreamError::Timeout
        } else {
            UpstreamError::Truncated
        }
    })
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
