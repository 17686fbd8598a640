//! One request's context: its id, its start time, reading a bounded JSON body, and rendering the reply —
//! success or the one error envelope — with `x-request-id` on every response.
//!
//! The request id is always ours (server-generated): it keys usage rows and audit rows, so a caller must
//! not be able to choose it (two callers sending the same id would collide). A caller's own sane
//! `x-request-id` is kept as [`Call::client_request_id`]: recorded next to ours and echoed back as
//! `x-client-request-id`. The front door passes requests on untouched, so the worker that answers sees
//! the caller's header here and assigns the id itself.

use crate::clock;
use crate::fault::Fault;
use crate::random;
use crate::raw;
use envelope::ApiError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{Env, Request, Response};

pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// Where the caller's own `x-request-id` is echoed.
pub const CLIENT_REQUEST_ID_HEADER: &str = "x-client-request-id";

/// The result type of every handler.
pub type Reply = Result<Response, Fault>;

pub struct Call {
    /// Ours, always generated here.
    pub request_id: String,
    /// The caller's `x-request-id`, verbatim when sane (see `envelope::request_id::accept`), else `None`.
    pub client_request_id: Option<String>,
    pub started_ms: f64,
}

impl Call {
    /// Makes the request id; keeps a sane caller-supplied `x-request-id` apart as the client's.
    pub fn begin(req: &Request) -> Call {
        let given = req.headers().get(REQUEST_ID_HEADER).ok().flatten();
        Call {
            request_id: envelope::request_id::generate(&random::bytes::<12>()),
            client_request_id: envelope::request_id::accept(given.as_deref()),
            started_ms: clock::tick_ms(),
        }
    }

    /// Renders the handler's result. Internal causes are logged once, here, and never sent. Errs only if
    /// not even the error response can be built (the runtime then answers 500).
    pub fn finish(&self, result: Reply) -> worker::Result<Response> {
        let response = match result {
            Ok(response) => Ok(response),
            Err(fault) => {
                if fault.is_internal() {
                    worker::console_error!(
                        "request_id={} internal error: {}",
                        self.request_id,
                        fault
                    );
                }
                self.error(&fault.client_error())
            }
        };
        response.and_then(|r| self.stamp(r))
    }

    /// Sets the request id, unless the response already carries one: the answer of another of our workers
    /// passed on by [`forward`] keeps the id its usage row was recorded under.
    fn stamp(&self, mut response: Response) -> worker::Result<Response> {
        let headers = response.headers_mut();
        if headers.has(REQUEST_ID_HEADER)? {
            return Ok(response);
        }
        headers.set(REQUEST_ID_HEADER, &self.request_id)?;
        if let Some(theirs) = &self.client_request_id {
            headers.set(CLIENT_REQUEST_ID_HEADER, theirs)?;
        }
        Ok(response)
    }

    fn error(&self, error: &ApiError) -> worker::Result<Response> {
        error_response(error, &self.request_id)
    }

    pub fn json<T: Serialize>(&self, status: u16, body: &T) -> Reply {
        Ok(raw_json(status, serde_json::to_string(body)?)?)
    }

    pub fn no_content(&self) -> Reply {
        Ok(Response::empty()?.with_status(204))
    }
}

/// The one error envelope as a response: status, JSON body and `Retry-After` when the error has one.
pub fn error_response(error: &ApiError, request_id: &str) -> worker::Result<Response> {
    let mut response = raw_json(error.status(), error.to_json(request_id))?;
    if let Some(secs) = error.retry_after_secs {
        response
            .headers_mut()
            .set("retry-after", &secs.to_string())?;
    }
    Ok(response)
}

fn raw_json(status: u16, body: String) -> worker::Result<Response> {
    let mut response = Response::from_bytes(body.into_bytes())?.with_status(status);
    response
        .headers_mut()
        .set("content-type", "application/json")?;
    Ok(response)
}

/// Reads a request body of at most `limit` bytes (413 past it). A declared `Content-Length` over the limit
/// is refused before reading; a body without one (chunked) is counted as it arrives and refused as soon
/// as it passes the limit, so it is never buffered whole. The content type is not checked: the body must
/// parse as JSON whatever it claims (as `curl -d` sends form-encoded headers with JSON bodies).
pub async fn read_body(req: &mut Request, limit: usize) -> Result<Vec<u8>, Fault> {
    let declared = req
        .headers()
        .get("content-length")?
        .and_then(|v| v.parse::<usize>().ok());
    match declared {
        Some(n) if n > limit => Err(ApiError::too_large(limit).into()),
        // The declared length bounds what the runtime delivers: one `arrayBuffer()`.
        Some(_) => Ok(req.bytes().await?),
        None => match raw::read_stream(req.inner().body(), limit).await {
            Ok(raw::Bounded::Whole(body)) => Ok(body),
            Ok(raw::Bounded::TooLarge) => Err(ApiError::too_large(limit).into()),
            Err(e) => Err(Fault::Data(format!(
                "reading the request body failed: {}",
                raw::describe(&e)
            ))),
        },
    }
}

/// Reads and parses a JSON body of at most `limit` bytes.
pub async fn read_json<T: DeserializeOwned>(req: &mut Request, limit: usize) -> Result<T, Fault> {
    Ok(envelope::parse_json(&read_body(req, limit).await?)?)
}

/// Hands a request whose body was already read to the worker behind `binding` (same method, URL and
/// headers), and its answer back as it is: its own `x-request-id` stays (see [`Call::finish`]), its body
/// is streamed through.
pub async fn forward(env: &Env, binding: &str, req: &Request, body: Vec<u8>) -> Reply {
    let mut init = worker::RequestInit::new();
    init.with_method(req.method())
        .with_headers(req.headers().clone())
        .with_body(Some(
            worker::js_sys::Uint8Array::from(body.as_slice()).into(),
        ));
    let inner = Request::new_with_init(req.url()?.as_str(), &init)?;
    let answer = env.service(binding)?.fetch_request(inner).await?;
    // A copy of the headers: those of a fetched response cannot be changed.
    let headers = answer.headers().clone();
    Ok(answer.with_headers(headers))
}
