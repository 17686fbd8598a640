//! The local stack as a child process group: `setsid bash scripts/stack up`, its log, and its stop.
//!
//! Wrangler ignores SIGTERM for a while and leaves workerd children behind when killed alone, so the
//! stack runs in its own session (process group) and is stopped with SIGINT to the whole group, then
//! SIGKILL if it is still there after a bound. `Drop` stops it too, so a panic in the harness does not
//! leave a `wrangler dev` running.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a stopping stack gets after SIGINT before the group is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// The repository root: this crate lives in `tests/e2e`.
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.join("..").join("..");
    root.canonicalize().unwrap_or(root)
}

/// Runs `scripts/bootstrap` (idempotent: installs the toolchain once, writes `.dev.vars` once).
pub fn bootstrap(root: &Path) -> Result<(), String> {
    let status = Command::new("bash")
        .arg("scripts/bootstrap")
        .current_dir(root)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run scripts/bootstrap: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("scripts/bootstrap failed: {status}"))
    }
}

/// `KEY=value` lines of `<root>/.dev.vars`.
pub fn read_dev_vars(root: &Path) -> Result<HashMap<String, String>, String> {
    let path = root.join(".dev.vars");
    let text =
        fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect())
}

/// A port that was free a moment ago (bind port 0, read it, release it).
pub fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot bind: {e}"))?;
    let port = listener
        .local_addr()
        .map_err(|e| format!("no local addr: {e}"))?
        .port();
    drop(listener);
    Ok(port)
}

/// A running `scripts/stack up`.
pub struct Stack {
    child: Child,
    /// The process group: `setsid` made the child a session leader, so its pid is the group id.
    pgid: u32,
    pub port: u16,
    /// The fresh `--persist-to` directory (D1, KV state) that also holds `stack.log`.
    pub dir: PathBuf,
    pub log: PathBuf,
    root: PathBuf,
    stopped: bool,
}

/// `setsid bash scripts/stack up --port <port> --persist-to <dir>`, its output appended to `log`;
/// returns the child and its process group.
fn spawn(root: &Path, dir: &Path, log: &Path, port: u16) -> Result<(Child, u32), String> {
    let out = open_append(log)?;
    let err = out
        .try_clone()
        .map_err(|e| format!("cannot clone log handle: {e}"))?;
    // The child of a non-leader: `setsid` execs in place (no fork), so the pid is the group id.
    // At scripts/env.sh's default level ("warn") neither request lines nor the workers' console
    // output reach the log, and the final leak check would read an empty log.
    let level = std::env::var("WRANGLER_LOG").unwrap_or_else(|_| "log".to_string());
    let child = Command::new("setsid")
        .env("WRANGLER_LOG", level)
        .args(["bash", "scripts/stack", "up", "--port", &port.to_string()])
        .arg("--persist-to")
        .arg(dir)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .map_err(|e| format!("cannot spawn scripts/stack up: {e}"))?;
    let pgid = child.id();
    Ok((child, pgid))
}

impl Stack {
    /// Starts the stack on a free port with a fresh persist dir under `target/e2e-state/`.
    pub fn start(root: &Path) -> Result<Stack, String> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let dir = root
            .join("target")
            .join("e2e-state")
            .join(format!("{}-{nanos}", std::process::id()));
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let log = dir.join("stack.log");
        let port = free_port()?;
        let (child, pgid) = spawn(root, &dir, &log, port)?;
        Ok(Stack {
            child,
            pgid,
            port,
            dir,
            log,
            root: root.to_path_buf(),
            stopped: false,
        })
    }

    /// Kills the whole stack at once (SIGKILL: no shutdown, like a crash or an eviction), then starts it
    /// again on the same port with the same persist dir, appending to the same log, and waits until it
    /// answers. What the platform keeps must survive this.
    pub async fn crash_and_restart(
        &mut self,
        http: &reqwest::Client,
        bound: Duration,
    ) -> Result<(), String> {
        signal_group(self.pgid, "-KILL");
        let _ = self.child.wait();
        let deadline = Instant::now() + STOP_GRACE;
        while signal_group(self.pgid, "-0") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let (child, pgid) = spawn(&self.root, &self.dir, &self.log, self.port)?;
        self.child = child;
        self.pgid = pgid;
        self.stopped = false;
        self.wait_healthy(http, bound).await
    }

    pub fn pgid(&self) -> u32 {
        self.pgid
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Polls `GET /health` until it answers 200, the stack exits, or `bound` passes.
    pub async fn wait_healthy(
        &mut self,
        http: &reqwest::Client,
        bound: Duration,
    ) -> Result<(), String> {
        let url = format!("{}/health", self.base_url());
        let deadline = Instant::now() + bound;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "the stack exited ({status}) before /health answered; log tail:\n{}",
                    self.log_tail(20)
                ));
            }
            let probe = http.get(&url).timeout(Duration::from_secs(2)).send().await;
            if matches!(&probe, Ok(resp) if resp.status().as_u16() == 200) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let last = match probe {
                    Ok(resp) => format!("last answer {}", resp.status()),
                    Err(e) => format!("last error {e}"),
                };
                return Err(format!(
                    "GET /health did not answer 200 within {}s ({last}); log tail:\n{}",
                    bound.as_secs(),
                    self.log_tail(20)
                ));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The first error lines of the stack log (a build failure ends in a long backtrace), then its
    /// last `lines` lines.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        let errors: Vec<&str> = all
            .iter()
            .filter(|l| {
                let l = l.trim_start_matches("[custom build] ").trim_start();
                l.starts_with("error") || l.starts_with("Error") || l.starts_with("✘")
            })
            .take(10)
            .copied()
            .collect();
        let tail: Vec<&str> = all
            .iter()
            .skip(all.len().saturating_sub(lines))
            .copied()
            .collect();
        format!(
            "first errors:\n{}\n…\n{}",
            errors.join("\n"),
            tail.join("\n")
        )
    }

    /// SIGINT to the group, wait up to [`STOP_GRACE`], then SIGKILL the group. Idempotent.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        signal_group(self.pgid, "-INT");
        let deadline = Instant::now() + STOP_GRACE;
        loop {
            // Reap the leader first: a zombie still counts as a member of the group.
            let _ = self.child.try_wait();
            if !signal_group(self.pgid, "-0") || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if signal_group(self.pgid, "-0") {
            signal_group(self.pgid, "-KILL");
        }
        let _ = self.child.wait();
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Stops a process group without its leader's handle (the Ctrl-C path): SIGINT, wait up to
/// [`STOP_GRACE`] for the group to go, then SIGKILL.
pub fn stop_group(pgid: u32) {
    signal_group(pgid, "-INT");
    let deadline = Instant::now() + STOP_GRACE;
    while signal_group(pgid, "-0") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    signal_group(pgid, "-KILL");
}

fn open_append(path: &Path) -> Result<File, String> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))
}

/// `kill <signal> -- -<pgid>`; true when the group exists and the signal was delivered.
/// (`unsafe_code` is forbidden in this workspace, so no `libc::killpg`.)
fn signal_group(pgid: u32, signal: &str) -> bool {
    Command::new("kill")
        .args([signal, "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}
