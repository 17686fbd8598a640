//! What every test case gets: the base URL, clients for each identity, the local D1, and the
//! registry of secrets the suite created (checked against the stack log at the end).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;

use crate::client::{Api, Auth};

pub struct Ctx {
    pub base: String,
    pub http: reqwest::Client,
    admin_token: String,
    root: PathBuf,
    persist_dir: PathBuf,
    /// API-key secrets and provider-key plaintexts created by the tests.
    secrets: Mutex<Vec<String>>,
    /// Responses that came without an `x-request-id`.
    missing_request_ids: Mutex<Vec<String>>,
    /// Our request ids (`x-request-id` of responses) by the caller's own id they echoed
    /// (`x-client-request-id`): audit and usage rows carry ours.
    ours_by_client_id: Mutex<HashMap<String, Vec<String>>>,
}

/// A poisoned lock only means another case panicked; the data is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A client that gives up on one request after this long (a hung server fails the case, not the run).
pub fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

impl Ctx {
    pub fn new(
        base: String,
        http: reqwest::Client,
        admin_token: String,
        root: PathBuf,
        persist_dir: PathBuf,
    ) -> Self {
        Ctx {
            base,
            http,
            admin_token,
            root,
            persist_dir,
            secrets: Mutex::new(Vec::new()),
            missing_request_ids: Mutex::new(Vec::new()),
            ours_by_client_id: Mutex::new(HashMap::new()),
        }
    }

    /// The repository root.
    pub fn root(&self) -> &std::path::Path {
        &self.root
    }

    /// The platform administrator (bootstrap token, as Bearer).
    pub fn admin(&self) -> Api<'_> {
        Api::new(self, Auth::Bearer(self.admin_token.clone()))
    }

    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// A caller presenting `secret` as a Bearer token.
    pub fn with_key(&self, secret: &str) -> Api<'_> {
        Api::new(self, Auth::Bearer(secret.to_string()))
    }

    /// A caller presenting `secret` in `x-api-key`.
    pub fn with_x_api_key(&self, secret: &str) -> Api<'_> {
        Api::new(self, Auth::XApiKey(secret.to_string()))
    }

    /// A browser signed in with the session cookie `cookie`, sending `csrf` on every request when given.
    pub fn with_session(&self, cookie: &str, csrf: Option<&str>) -> Api<'_> {
        Api::new(
            self,
            Auth::Session {
                cookie: cookie.to_string(),
                csrf: csrf.map(str::to_string),
            },
        )
    }

    /// A caller with no credentials.
    pub fn anon(&self) -> Api<'_> {
        Api::new(self, Auth::None)
    }

    /// Records a secret that must never appear in the stack log.
    pub fn remember_secret(&self, secret: &str) {
        lock(&self.secrets).push(secret.to_string());
    }

    pub fn secrets(&self) -> Vec<String> {
        lock(&self.secrets).clone()
    }

    pub fn note_missing_request_id(&self, what: String) {
        lock(&self.missing_request_ids).push(what);
    }

    pub fn missing_request_ids(&self) -> Vec<String> {
        lock(&self.missing_request_ids).clone()
    }

    /// Records that the response to a request sent with `x-request-id: client` had ours.
    pub fn note_request_ids(&self, client: &str, ours: &str) {
        lock(&self.ours_by_client_id)
            .entry(client.to_string())
            .or_default()
            .push(ours.to_string());
    }

    /// Our request ids of the responses to requests sent with `x-request-id: client`.
    pub fn ours_for(&self, client: &str) -> Vec<String> {
        lock(&self.ours_by_client_id)
            .get(client)
            .cloned()
            .unwrap_or_default()
    }

    /// Rows of `query` run against the stack's local D1 (`scripts/stack sql`).
    pub async fn sql(&self, query: &str) -> Result<Vec<Value>, String> {
        let out = tokio::process::Command::new("bash")
            // scripts/env.sh defaults WRANGLER_LOG to "warn", at which `wrangler d1 execute --json`
            // prints nothing at all (its JSON goes through the logger at level "log").
            .env("WRANGLER_LOG", "log")
            .args(["scripts/stack", "sql", "--persist-to"])
            .arg(&self.persist_dir)
            .arg(query)
            .current_dir(&self.root)
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .map_err(|e| format!("cannot run scripts/stack sql: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!(
                "scripts/stack sql {query:?} failed ({}): {} {}",
                out.status,
                stdout,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        parse_d1_rows(&stdout)
            .ok_or_else(|| format!("no D1 JSON in the output of {query:?}: {stdout}"))
    }
}

/// The `results` of the first statement in `wrangler d1 execute --json` output, which may follow a
/// banner line: `[{"results":[...],"success":true,"meta":{...}}]`.
pub fn parse_d1_rows(output: &str) -> Option<Vec<Value>> {
    output.match_indices('[').find_map(|(at, _)| {
        let rest = output.get(at..)?;
        let first = serde_json::Deserializer::from_str(rest)
            .into_iter::<Value>()
            .next()?
            .ok()?;
        let statement = first.as_array()?.first()?;
        if statement.get("success").and_then(Value::as_bool) == Some(false) {
            return None;
        }
        statement.get("results")?.as_array().cloned()
    })
}

#[cfg(test)]
mod tests {
    use super::parse_d1_rows;

    #[test]
    fn parses_rows_after_a_banner() {
        let out = "wrangler 4 [beta]\n[{\"results\":[{\"n\":1}],\"success\":true,\"meta\":{}}]\n";
        let rows = parse_d1_rows(out).unwrap_or_default();
        assert_eq!(rows, vec![serde_json::json!({"n": 1})]);
    }

    #[test]
    fn no_json_no_rows() {
        assert!(parse_d1_rows("error: no database").is_none());
    }
}
