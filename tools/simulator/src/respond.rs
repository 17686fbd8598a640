//! Building responses: JSON, event streams, PNGs, and the broken-body faults for non-streamed answers
//! (`malformed=1`, `cut_after=N`, `oversize=1`).

use std::time::Duration;

use bytes::Bytes;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Response, StatusCode};

use crate::body::SimBody;
use crate::directive::Directive;

const JSON: &str = "application/json";
const EVENT_STREAM: &str = "text/event-stream; charset=utf-8";

pub fn bytes(status: StatusCode, content_type: &'static str, body: SimBody) -> Response<SimBody> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

pub fn json(status: StatusCode, value: &serde_json::Value) -> Response<SimBody> {
    bytes(status, JSON, SimBody::full(value.to_string()))
}

/// A 200 JSON answer, broken the way the request's faults say.
pub fn deliver(body: Vec<u8>, faults: &Directive) -> Response<SimBody> {
    // Any proper prefix of a JSON object is invalid JSON, so half the body serves both faults.
    let whole = Bytes::from(body);
    let half = whole.slice(..whole.len() / 2);
    if faults.cut_after.is_some() {
        // The header promises the whole body; the connection closes after half of it.
        let body = SimBody::frames(vec![half], None).then_abort();
        let mut response = bytes(StatusCode::OK, JSON, body);
        response
            .headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from(whole.len()));
        return response;
    }
    if faults.malformed {
        return bytes(StatusCode::OK, JSON, SimBody::full(half));
    }
    if faults.oversize {
        return bytes(StatusCode::OK, JSON, oversize(whole));
    }
    bytes(StatusCode::OK, JSON, SimBody::full(whole))
}

/// How far past 16 MiB `oversize=1` pads a body.
const OVERSIZE_BYTES: usize = 17 * 1024 * 1024;

/// Valid JSON (leading whitespace, then the body) longer than [`OVERSIZE_BYTES`], as 1 MiB chunks with no
/// content-length, so the receiver can only find out by counting.
fn oversize(whole: Bytes) -> SimBody {
    let pad = Bytes::from(vec![b' '; 1024 * 1024]);
    let mut frames: Vec<Bytes> = (0..OVERSIZE_BYTES / pad.len())
        .map(|_| pad.clone())
        .collect();
    frames.push(whole);
    SimBody::frames(frames, None)
}

/// A streamed answer: `frames` are complete SSE events.
pub fn event_stream(frames: Vec<Bytes>, gap: Duration, abort: bool) -> Response<SimBody> {
    let mut body = SimBody::frames(frames, Some(gap));
    if abort {
        body = body.then_abort();
    }
    let mut response = bytes(StatusCode::OK, EVENT_STREAM, body);
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

pub fn png(image: Vec<u8>) -> Response<SimBody> {
    bytes(StatusCode::OK, "image/png", SimBody::full(image))
}
