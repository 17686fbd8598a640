//! Reading what a request brings: its body (bounded), its JSON, and its credentials.

use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::AUTHORIZATION;
use hyper::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::errors::ApiError;

/// Bodies above this are refused; a prompt that large is a client bug, not a load test.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The one API key every provider rejects, so tests can provoke an upstream 401.
pub const INVALID_KEY: &str = "sk-invalid";

pub async fn read_body(body: Incoming) -> Result<Bytes, ApiError> {
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request body too large.",
        )),
        Err(_) => Err(ApiError::bad_request("Could not read the request body.")),
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|error| {
        ApiError::bad_request(format!(
            "The request body is not valid JSON for this endpoint: {error}"
        ))
    })
}

/// A header's value, trimmed, when present, valid text and not empty.
pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

/// The key of an `Authorization: Bearer <key>` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = header(headers, AUTHORIZATION.as_str())?;
    let (scheme, key) = value.split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty()).then_some(key)
}

/// Accepts any present key except [`INVALID_KEY`].
pub fn check_key(key: Option<&str>, missing: &str) -> Result<(), ApiError> {
    match key {
        None => Err(ApiError::unauthorized(missing)),
        Some(INVALID_KEY) => Err(ApiError::unauthorized("Invalid API key provided.")),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    #[test]
    fn reads_bearer_keys() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer sk-1"));
        assert_eq!(bearer(&headers), Some("sk-1"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&headers), None);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer(&headers), None);
    }

    #[test]
    fn rejects_missing_and_invalid_keys() {
        assert!(check_key(None, "missing").is_err());
        assert!(check_key(Some(INVALID_KEY), "missing").is_err());
        assert!(check_key(Some("sk-anything"), "missing").is_ok());
    }
}
