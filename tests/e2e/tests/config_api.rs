//! End-to-end tests of the config API (docs/api.md) against the local stack.
//!
//! `cargo test -p e2e --test config_api [-- <substring>...]` starts `scripts/stack up` once, runs the
//! matching cases (4 at a time), stops the stack, then checks the stack log for leaked secrets.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use e2e::runner::{report, run_all, Outcome};
use e2e::stack::{bootstrap, read_dev_vars, repo_root, stop_group, Stack};
use e2e::{Case, Ctx};

#[path = "config_api/access.rs"]
mod access;
#[path = "config_api/auth.rs"]
mod auth;
#[path = "config_api/bad_input.rs"]
mod bad_input;
#[path = "config_api/conflicts.rs"]
mod conflicts;
#[path = "config_api/instances.rs"]
mod instances;
#[path = "config_api/isolation.rs"]
mod isolation;
#[path = "config_api/isolation_readonly.rs"]
mod isolation_readonly;
#[path = "config_api/isolation_roles.rs"]
mod isolation_roles;
#[path = "config_api/keys.rs"]
mod keys;
#[path = "config_api/keys_lifecycle.rs"]
mod keys_lifecycle;
#[path = "config_api/models.rs"]
mod models;
#[path = "config_api/ops.rs"]
mod ops;
#[path = "config_api/orgs.rs"]
mod orgs;
#[path = "config_api/pagination.rs"]
mod pagination;
#[path = "config_api/projects.rs"]
mod projects;
#[path = "config_api/provider_keys.rs"]
mod provider_keys;
#[path = "config_api/users.rs"]
mod users;

const CONCURRENCY: usize = 4;
/// The first start may compile both workers.
const STARTUP_BOUND: Duration = Duration::from_secs(240);
const CASE_BOUND: Duration = Duration::from_secs(120);

fn all_cases() -> Vec<Case> {
    [
        ops::cases(),
        auth::cases(),
        orgs::cases(),
        instances::cases(),
        projects::cases(),
        pagination::cases(),
        users::cases(),
        keys::cases(),
        keys_lifecycle::cases(),
        provider_keys::cases(),
        models::cases(),
        conflicts::cases(),
        isolation::cases(),
        isolation_roles::cases(),
        isolation_readonly::cases(),
        bad_input::cases(),
    ]
    .concat()
}

fn main() -> ExitCode {
    // Arguments after `--`: substrings of case names; `--list` prints the names; other flags (such as
    // `--nocapture`, from habit) are ignored.
    if std::env::args().any(|a| a == "--list") {
        for case in all_cases() {
            println!("{}: test", case.name);
        }
        return ExitCode::SUCCESS;
    }
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let cases: Vec<Case> = all_cases()
        .into_iter()
        .filter(|c| filters.is_empty() || filters.iter().any(|f| c.name.contains(f.as_str())))
        .collect();
    if cases.is_empty() {
        println!("no case matches {filters:?}");
        println!("0 passed, 0 failed");
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            println!("cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (passed, failed) = runtime.block_on(run(cases));
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Starts the stack, runs the cases, stops the stack, runs the final checks. Returns (passed, failed).
async fn run(cases: Vec<Case>) -> (usize, usize) {
    let total = cases.len();
    let root = repo_root();
    let setup = async {
        bootstrap(&root)?;
        let vars = read_dev_vars(&root)?;
        let token = vars
            .get("ADMIN_TOKEN")
            .filter(|t| !t.is_empty())
            .cloned()
            .ok_or("no ADMIN_TOKEN in .dev.vars")?;
        Ok::<_, String>((vars, token))
    };
    let (vars, token) = match setup.await {
        Ok(v) => v,
        Err(e) => return setup_failed(&e, total),
    };
    let mut stack = match Stack::start(&root) {
        Ok(s) => s,
        Err(e) => return setup_failed(&e, total),
    };
    println!("stack: {} (log {})", stack.base_url(), stack.log.display());
    // Ctrl-C reaches this process but not the stack (its own session): stop the group, then exit.
    let pgid = stack.pgid();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stop_group(pgid);
            println!("interrupted; the stack was stopped");
            std::process::exit(130);
        }
    });
    let http = match e2e::ctx::http_client() {
        Ok(h) => h,
        Err(e) => return setup_failed(&e, total),
    };
    if let Err(e) = stack.wait_healthy(&http, STARTUP_BOUND).await {
        stack.stop();
        return setup_failed(&e, total);
    }
    let ctx = Arc::new(Ctx::new(
        stack.base_url(),
        http,
        token,
        root.clone(),
        stack.dir.clone(),
    ));
    let outcomes = run_all(ctx.clone(), cases, CONCURRENCY, CASE_BOUND).await;
    // The log is complete only once the stack has stopped.
    stack.stop();
    let finals = final_checks(&ctx, &stack, &vars);
    for outcome in &finals {
        report(outcome.name, &outcome.result);
    }
    let all: Vec<&Outcome> = outcomes.iter().chain(finals.iter()).collect();
    let failed = all.iter().filter(|o| o.result.is_err()).count();
    (all.len() - failed, failed)
}

fn setup_failed(reason: &str, total: usize) -> (usize, usize) {
    report("setup", &Err(reason.to_string()));
    println!("{total} cases not run");
    (0, 1)
}

/// Checks over the whole run: every response had an `x-request-id`, and no secret reached the log.
fn final_checks(
    ctx: &Ctx,
    stack: &Stack,
    vars: &std::collections::HashMap<String, String>,
) -> Vec<Outcome> {
    let missing = ctx.missing_request_ids();
    let request_ids = if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} responses without x-request-id, e.g. {:?}",
            missing.len(),
            missing.first()
        ))
    };
    let log = std::fs::read(&stack.log)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let mut leaked: Vec<String> = ctx
        .secrets()
        .iter()
        .filter(|s| log.contains(s.as_str()))
        .map(|s| format!("{}…", s.chars().take(12).collect::<String>()))
        .collect();
    for name in ["ADMIN_TOKEN", "KEY_HASH_SECRET", "PROVIDER_KEY_SECRET"] {
        if vars
            .get(name)
            .is_some_and(|v| v.len() >= 16 && log.contains(v.as_str()))
        {
            leaked.push(name.to_string());
        }
    }
    let log_check = if leaked.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} secrets appear in {}: {leaked:?}",
            leaked.len(),
            stack.log.display()
        ))
    };
    vec![
        Outcome {
            name: "final::every_response_has_request_id",
            result: request_ids,
        },
        Outcome {
            name: "final::stack_log_has_no_secrets",
            result: log_check,
        },
    ]
}
