//! One request's context: its id, its start time, reading a bounded JSON body, and rendering the reply —
//! success or the one error envelope — with `x-request-id` on every response.

use crate::clock;
use crate::fault::Fault;
use crate::random;
use envelope::ApiError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{Request, Response};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The result type of every handler.
pub type Reply = Result<Response, Fault>;

pub struct Call {
    pub request_id: String,
    pub started_ms: f64,
}

impl Call {
    /// Accepts a sane caller-supplied request id (the front door forwards its own), else makes one.
    pub fn begin(req: &Request) -> Call {
        let given = req.headers().get(REQUEST_ID_HEADER).ok().flatten();
        let request_id = envelope::request_id::accept(given.as_deref())
            .unwrap_or_else(|| envelope::request_id::generate(&random::bytes::<12>()));
        Call {
            request_id,
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

    fn stamp(&self, mut response: Response) -> worker::Result<Response> {
        response
            .headers_mut()
            .set(REQUEST_ID_HEADER, &self.request_id)?;
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

/// Reads a request body of at most `limit` bytes (413 past it). The content type is not checked: the
/// body must parse as JSON whatever it claims (as `curl -d` sends form-encoded headers with JSON bodies).
pub async fn read_body(req: &mut Request, limit: usize) -> Result<Vec<u8>, Fault> {
    let declared = req
        .headers()
        .get("content-length")?
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::too_large(limit).into());
    }
    let body = req.bytes().await?;
    if body.len() > limit {
        return Err(ApiError::too_large(limit).into());
    }
    Ok(body)
}

/// Reads and parses a JSON body of at most `limit` bytes.
pub async fn read_json<T: DeserializeOwned>(req: &mut Request, limit: usize) -> Result<T, Fault> {
    Ok(envelope::parse_json(&read_body(req, limit).await?)?)
}
