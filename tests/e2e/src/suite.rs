//! Pieces every suite's `main` shares: picking cases from the command line, the setup that reads the
//! bootstrap token, and the checks over a whole run (every response had an `x-request-id`; no secret
//! reached the stack log).

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use crate::runner::{report, run_all, Outcome};
use crate::stack::{bootstrap, read_dev_vars, repo_root, stop_group, Stack};
use crate::{Case, Ctx};

/// Cases run this many at a time.
const CONCURRENCY: usize = 4;
/// The first start may compile the workers.
const STARTUP_BOUND: Duration = Duration::from_secs(240);
const CASE_BOUND: Duration = Duration::from_secs(120);

/// What a suite starts before the stack (the provider simulator, say); dropped after the stack stopped.
pub type Prepare = fn(&Path) -> Result<Box<dyn Any>, String>;

/// A suite's whole `main`: select the cases, start the stack (after `prepare`), run the cases with bounded
/// concurrency, always stop the stack, run the final checks, print `N passed, M failed`.
pub fn main(all: Vec<Case>, prepare: Prepare) -> ExitCode {
    let Some(cases) = select(all) else {
        return ExitCode::SUCCESS;
    };
    if cases.is_empty() {
        println!("no case matches the filters");
        return finish(0, 0);
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
    let (passed, failed) = runtime.block_on(run(cases, prepare));
    finish(passed, failed)
}

/// Returns (passed, failed).
async fn run(cases: Vec<Case>, prepare: Prepare) -> (usize, usize) {
    let total = cases.len();
    let root = repo_root();
    let (vars, token) = match setup(&root) {
        Ok(v) => v,
        Err(e) => return setup_failed(&e, total),
    };
    let prepared = match prepare(&root) {
        Ok(p) => p,
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
    let http = match crate::ctx::http_client() {
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
    drop(prepared);
    let finals = final_checks(&ctx, &stack.log, &vars);
    for outcome in &finals {
        report(outcome.name, &outcome.result);
    }
    let all: Vec<&Outcome> = outcomes.iter().chain(finals.iter()).collect();
    let failed = all.iter().filter(|o| o.result.is_err()).count();
    (all.len() - failed, failed)
}

/// The cases to run: arguments after `--` are substrings of case names; `--list` prints the names and
/// returns `None`; other flags (such as `--nocapture`, from habit) are ignored.
pub fn select(all: Vec<Case>) -> Option<Vec<Case>> {
    if std::env::args().any(|a| a == "--list") {
        for case in &all {
            println!("{}: test", case.name);
        }
        return None;
    }
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    Some(
        all.into_iter()
            .filter(|c| filters.is_empty() || filters.iter().any(|f| c.name.contains(f.as_str())))
            .collect(),
    )
}

/// Runs `scripts/bootstrap`, reads `.dev.vars`; returns the vars and the bootstrap admin token.
pub fn setup(root: &Path) -> Result<(HashMap<String, String>, String), String> {
    bootstrap(root)?;
    let vars = read_dev_vars(root)?;
    let token = vars
        .get("ADMIN_TOKEN")
        .filter(|t| !t.is_empty())
        .cloned()
        .ok_or("no ADMIN_TOKEN in .dev.vars")?;
    Ok((vars, token))
}

/// Prints the summary line `N passed, M failed` and turns it into the exit code.
pub fn finish(passed: usize, failed: usize) -> ExitCode {
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A setup failure counts as one failed case; the cases were not run.
pub fn setup_failed(reason: &str, total: usize) -> (usize, usize) {
    report("setup", &Err(reason.to_string()));
    println!("{total} cases not run");
    (0, 1)
}

/// Checks over the whole run (call once the stack has stopped, so its log is complete): every response
/// had an `x-request-id`, and neither a secret the cases created nor a deployment secret from `vars`
/// appears in the stack log at `log`.
pub fn final_checks(ctx: &Ctx, log: &Path, vars: &HashMap<String, String>) -> Vec<Outcome> {
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
    let text = std::fs::read(log)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let mut leaked: Vec<String> = ctx
        .secrets()
        .iter()
        .filter(|s| text.contains(s.as_str()))
        .map(|s| format!("{}…", s.chars().take(12).collect::<String>()))
        .collect();
    for name in ["ADMIN_TOKEN", "KEY_HASH_SECRET", "PROVIDER_KEY_SECRET"] {
        if vars
            .get(name)
            .is_some_and(|v| v.len() >= 16 && text.contains(v.as_str()))
        {
            leaked.push(name.to_string());
        }
    }
    let log_check = if text.is_empty() {
        Err(format!(
            "{} is empty: nothing to check for leaks",
            log.display()
        ))
    } else if leaked.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} secrets appear in {}: {leaked:?}",
            leaked.len(),
            log.display()
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
