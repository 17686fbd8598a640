//! The provider simulator (tools/simulator) as a child process: built once, started on a free port, killed
//! on drop. The gateway suite points its tenants' provider keys at it and counts what reached it through
//! `GET /_sim/attempts/<key>` (see tools/simulator/README.md).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// How long the simulator gets to print its `listening on` line.
const START_BOUND: Duration = Duration::from_secs(20);

/// The running simulator process.
pub struct Sim {
    child: Child,
    upstream: Upstream,
}

/// Where the simulator listens; cheap to clone into test cases.
#[derive(Clone, Debug)]
pub struct Upstream {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base: String,
}

impl Sim {
    /// Builds the simulator (`cargo build --release -p simulator`; a no-op when up to date) and starts it.
    pub fn start(root: &Path) -> Result<Sim, String> {
        build(root)?;
        let binary = target_dir(root).join("release").join("simulator");
        let mut child = Command::new(&binary)
            .args(["--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            return Err("the simulator has no stdout pipe".into());
        };
        match read_address(stdout) {
            Ok(base) => Ok(Sim {
                child,
                upstream: Upstream { base },
            }),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(e)
            }
        }
    }

    pub fn upstream(&self) -> Upstream {
        self.upstream.clone()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Upstream {
    /// The `base_url` a provider key needs: the simulator serves the providers' `/v1/...` paths.
    pub fn v1(&self) -> String {
        format!("{}/v1", self.base)
    }

    /// How many requests carrying the fault key `key` reached the simulator (refused-at-auth ones excluded).
    pub async fn attempts(&self, http: &reqwest::Client, key: &str) -> Result<u64, String> {
        let (url, status, body) = self.get(http, &format!("/_sim/attempts/{key}")).await?;
        body.get("attempts")
            .and_then(Value::as_u64)
            .filter(|_| status == 200)
            .ok_or_else(|| format!("GET {url} -> {status} {body}"))
    }

    /// The last request body that carried the fault key `key`, as the simulator received it (what the
    /// gateway really sent upstream).
    pub async fn last_request(&self, http: &reqwest::Client, key: &str) -> Result<Value, String> {
        let (url, status, body) = self.get(http, &format!("/_sim/requests/{key}")).await?;
        body.get("last")
            .cloned()
            .filter(|_| status == 200)
            .ok_or_else(|| format!("GET {url} -> {status} {body}"))
    }

    /// `GET <base><path>`: the URL, the status and the JSON body.
    async fn get(
        &self,
        http: &reqwest::Client,
        path: &str,
    ) -> Result<(String, u16, Value), String> {
        let url = format!("{}{path}", self.base);
        let resp = http
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        let status = resp.status().as_u16();
        let body: Value = resp
            .json()
            .await
            .map_err(|e| format!("GET {url}: not JSON: {e}"))?;
        Ok((url, status, body))
    }
}

/// Cargo's target directory: `CARGO_TARGET_DIR` (scripts/env.sh sets it) or `<root>/target`.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

fn build(root: &Path) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "--release", "-p", "simulator"])
        .current_dir(root)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run cargo build -p simulator: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "cargo build --release -p simulator failed: {status}"
        ))
    }
}

/// The first stdout line is `listening on http://127.0.0.1:PORT`. A thread reads it (and then drains
/// stdout, so the simulator never blocks on a full pipe); the wait for it is bounded.
fn read_address(stdout: ChildStdout) -> Result<String, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next();
        let _ = tx.send(first);
        for _ in lines {}
    });
    let line = match rx.recv_timeout(START_BOUND) {
        Ok(Some(Ok(line))) => line,
        Ok(Some(Err(e))) => return Err(format!("cannot read the simulator's stdout: {e}")),
        Ok(None) => return Err("the simulator exited before printing its address".into()),
        Err(_) => {
            return Err(format!(
                "the simulator printed no address within {}s",
                START_BOUND.as_secs()
            ))
        }
    };
    parse_address(&line)
}

/// `listening on http://127.0.0.1:41493` → `http://127.0.0.1:41493`.
pub fn parse_address(line: &str) -> Result<String, String> {
    line.trim()
        .strip_prefix("listening on ")
        .filter(|url| url.starts_with("http://"))
        .map(|url| url.trim_end_matches('/').to_string())
        .ok_or_else(|| format!("unexpected first line from the simulator: {line:?}"))
}

#[cfg(test)]
mod tests {
    use super::parse_address;

    #[test]
    fn reads_the_listening_line() {
        assert_eq!(
            parse_address("listening on http://127.0.0.1:41493\n"),
            Ok("http://127.0.0.1:41493".to_string())
        );
        assert!(parse_address("error: cannot bind").is_err());
    }
}
