//! Table-driven permission checks: rows of (request, expected outcome) run as one key.

use e2e::check::expect_error_in;
use e2e::seed::{unique, Key};
use e2e::{ensure, Ctx};
use reqwest::Method;
use serde_json::{json, Value};

/// What a row expects.
#[derive(Clone, Copy, Debug)]
pub enum Want {
    /// 2xx.
    Allowed,
    Forbidden,
    NotFound,
    /// 403 or 404.
    Denied,
}

pub struct Row {
    method: Method,
    path: String,
    body: Option<Value>,
    want: Want,
}

pub fn get(path: String, want: Want) -> Row {
    Row {
        method: Method::GET,
        path,
        body: None,
        want,
    }
}

pub fn delete(path: String, want: Want) -> Row {
    Row {
        method: Method::DELETE,
        path,
        body: None,
        want,
    }
}

pub fn write(method: Method, path: String, body: Value, want: Want) -> Row {
    Row {
        method,
        path,
        body: Some(body),
        want,
    }
}

/// Runs every row as `key`; reports all mismatches at once.
pub async fn run_rows(ctx: &Ctx, who: &str, key: &Key, rows: Vec<Row>) -> Result<(), String> {
    let api = ctx.with_key(&key.secret);
    let mut findings = Vec::new();
    for row in rows {
        let resp = api.send(row.method, &row.path, row.body).await?;
        let verdict = match row.want {
            Want::Allowed if (200..300).contains(&resp.status) => Ok(()),
            Want::Allowed => Err(format!("expected 2xx, got {}", resp.describe())),
            Want::Forbidden => expect_error_in(&resp, &[403]).map(|_| ()),
            Want::NotFound => expect_error_in(&resp, &[404]).map(|_| ()),
            Want::Denied => expect_error_in(&resp, &[403, 404]).map(|_| ()),
        };
        if let Err(e) = verdict {
            findings.push(format!("{who}: {e}"));
        }
    }
    ensure!(
        findings.is_empty(),
        "{} rows failed:\n    {}",
        findings.len(),
        findings.join("\n    ")
    );
    Ok(())
}

/// A valid project (or instance) create body.
pub fn node_body() -> Value {
    json!({"name": "x", "slug": unique("x")})
}

pub fn model_body() -> Value {
    json!({"id": unique("m"), "provider": "openai", "upstream_model": "gpt-4o"})
}

/// A provider key PUT body; its plaintext is remembered for the log check.
pub fn provider_body(ctx: &Ctx) -> Value {
    let secret = format!("sk-e2e-{}", unique("role"));
    ctx.remember_secret(&secret);
    json!({"api_key": secret})
}
