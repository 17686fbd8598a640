//! An HTTP client with one identity (bootstrap token, an API key, or nobody) and the response as a
//! client sees it: status, headers and the JSON body.

use std::time::Duration;

use reqwest::header::{HeaderMap, CONTENT_TYPE};
use reqwest::Method;
use serde_json::Value;

use crate::ctx::Ctx;

/// How a request authenticates.
#[derive(Clone, Debug)]
pub enum Auth {
    None,
    Bearer(String),
    /// The `x-api-key` header instead of `Authorization`.
    XApiKey(String),
    /// The interfaces' session cookie (`de_session`), and the CSRF token to send in `x-de-csrf`, if any.
    Session {
        cookie: String,
        csrf: Option<String>,
    },
}

/// A request builder bound to one identity.
#[derive(Clone)]
pub struct Api<'a> {
    ctx: &'a Ctx,
    auth: Auth,
    /// Replaces the client's default timeout for each request (see [`Api::with_timeout`]).
    timeout: Option<Duration>,
}

/// What came back.
#[derive(Debug)]
pub struct Resp {
    pub method: Method,
    pub path: String,
    pub status: u16,
    pub headers: HeaderMap,
    /// The parsed body; `Value::Null` when it was empty or not JSON (see `text`).
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn request_id(&self) -> Option<&str> {
        self.header("x-request-id")
    }

    /// `"POST /admin/orgs -> 500 {body}"`, for failure messages (body cut to 400 chars).
    pub fn describe(&self) -> String {
        let body: String = self.text.chars().take(400).collect();
        format!("{} {} -> {} {}", self.method, self.path, self.status, body)
    }

    /// A string field of the body.
    pub fn str(&self, field: &str) -> Result<String, String> {
        self.body
            .get(field)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("no string `{field}` in {}", self.describe()))
    }

    /// The `data` array of a list body.
    pub fn data(&self) -> Result<&Vec<Value>, String> {
        self.body
            .get("data")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("not a list body: {}", self.describe()))
    }
}

impl<'a> Api<'a> {
    pub fn new(ctx: &'a Ctx, auth: Auth) -> Self {
        Api {
            ctx,
            auth,
            timeout: None,
        }
    }

    /// The same identity, giving up on each request after `timeout` (a hung server fails fast).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    pub async fn get(&self, path: &str) -> Result<Resp, String> {
        self.send(Method::GET, path, None).await
    }

    pub async fn delete(&self, path: &str) -> Result<Resp, String> {
        self.send(Method::DELETE, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Result<Resp, String> {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Result<Resp, String> {
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Result<Resp, String> {
        self.send(Method::PUT, path, Some(body)).await
    }

    /// A JSON request (or none when `body` is `None`).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Resp, String> {
        let bytes = match body {
            Some(v) => {
                Some(serde_json::to_vec(&v).map_err(|e| format!("cannot encode body: {e}"))?)
            }
            None => None,
        };
        self.raw(method, path, bytes, &[]).await
    }

    /// A JSON request carrying a caller-chosen `x-request-id` (to find what it wrote, or did not).
    pub async fn send_with_id(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        request_id: &str,
    ) -> Result<Resp, String> {
        let bytes = match body {
            Some(v) => {
                Some(serde_json::to_vec(&v).map_err(|e| format!("cannot encode body: {e}"))?)
            }
            None => None,
        };
        self.raw(method, path, bytes, &[("x-request-id", request_id)])
            .await
    }

    /// A request with exactly these body bytes (sent as `application/json`) and extra headers.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> Result<Resp, String> {
        let url = format!("{}{path}", self.ctx.base);
        let mut req = self.ctx.http.request(method.clone(), &url);
        req = match &self.auth {
            Auth::None => req,
            Auth::Bearer(token) => req.bearer_auth(token),
            Auth::XApiKey(token) => req.header("x-api-key", token),
            Auth::Session { cookie, csrf } => {
                let req = req.header("cookie", format!("de_session={cookie}"));
                match csrf {
                    Some(csrf) => req.header("x-de-csrf", csrf),
                    None => req,
                }
            }
        };
        if let Some(bytes) = body {
            req = req.header(CONTENT_TYPE, "application/json").body(bytes);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(timeout) = self.timeout {
            req = req.timeout(timeout);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("{method} {path}: transport error: {e}"))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp
            .text()
            .await
            .map_err(|e| format!("{method} {path}: cannot read body: {e}"))?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        let resp = Resp {
            method,
            path: path.to_string(),
            status,
            headers,
            body,
            text,
        };
        if let (Some(theirs), Some(ours)) = (resp.header("x-client-request-id"), resp.request_id())
        {
            self.ctx.note_request_ids(theirs, ours);
        }
        if resp.request_id().is_none_or(str::is_empty) {
            self.ctx.note_missing_request_id(format!(
                "{} {} -> {}",
                resp.method, resp.path, resp.status
            ));
        }
        Ok(resp)
    }
}
