//! End-to-end tests of the text generation gateway (docs/api.md, "Tenant API") against the local stack,
//! with the provider simulator (tools/simulator) standing in for OpenAI and Anthropic.
//!
//! `cargo test -p e2e --test gateway [-- <substring>...]` starts `scripts/stack up` and the simulator
//! once, runs the matching cases (each on a fresh tenant), stops both, then checks the stack log for
//! leaked secrets.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use e2e::runner::{report, run_all, Outcome};
use e2e::sim::Sim;
use e2e::stack::{repo_root, stop_group, Stack};
use e2e::suite::{final_checks, finish, select, setup, setup_failed};
use e2e::{Case, Ctx};

#[path = "gateway/anthropic.rs"]
mod anthropic;
#[path = "gateway/bad_input.rs"]
mod bad_input;
#[path = "gateway/cache.rs"]
mod cache;
#[path = "gateway/cross_format.rs"]
mod cross_format;
#[path = "gateway/cut_streams.rs"]
mod cut_streams;
#[path = "gateway/fallbacks.rs"]
mod fallbacks;
#[path = "gateway/faults.rs"]
mod faults;
#[path = "gateway/generate.rs"]
mod generate;
#[path = "gateway/models.rs"]
mod models;
#[path = "gateway/openai.rs"]
mod openai;
#[path = "gateway/rate_limits.rs"]
mod rate_limits;
#[path = "gateway/stream_timing.rs"]
mod stream_timing;
#[path = "gateway/streams.rs"]
mod streams;
#[path = "gateway/tenant.rs"]
mod tenant;
#[path = "gateway/token_limits.rs"]
mod token_limits;
#[path = "gateway/usage.rs"]
mod usage;
#[path = "gateway/wire.rs"]
mod wire;

/// Cases wait on retries, backoff and timeouts more than on the CPU.
const CONCURRENCY: usize = 6;
/// The first start may compile the workers.
const STARTUP_BOUND: Duration = Duration::from_secs(240);
const CASE_BOUND: Duration = Duration::from_secs(120);

fn all_cases() -> Vec<Case> {
    [
        openai::cases(),
        anthropic::cases(),
        cross_format::cases(),
        generate::cases(),
        models::cases(),
        usage::cases(),
        rate_limits::cases(),
        token_limits::cases(),
        faults::cases(),
        cut_streams::cases(),
        stream_timing::cases(),
        fallbacks::cases(),
        cache::cases(),
        bad_input::cases(),
    ]
    .concat()
}

fn main() -> ExitCode {
    let Some(cases) = select(all_cases()) else {
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
    let (passed, failed) = runtime.block_on(run(cases));
    finish(passed, failed)
}

/// Starts the simulator and the stack, runs the cases, stops both, runs the final checks.
/// Returns (passed, failed).
async fn run(cases: Vec<Case>) -> (usize, usize) {
    let total = cases.len();
    let root = repo_root();
    let (vars, token) = match setup(&root) {
        Ok(v) => v,
        Err(e) => return setup_failed(&e, total),
    };
    let sim = match Sim::start(&root) {
        Ok(s) => s,
        Err(e) => return setup_failed(&e, total),
    };
    tenant::set_upstream(sim.upstream());
    let mut stack = match Stack::start(&root) {
        Ok(s) => s,
        Err(e) => return setup_failed(&e, total),
    };
    println!(
        "stack: {} (log {}); simulator: {}",
        stack.base_url(),
        stack.log.display(),
        sim.upstream().base
    );
    // Ctrl-C reaches this process and the simulator (same process group) but not the stack (its own
    // session): stop the group, then exit.
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
    drop(sim);
    let finals = final_checks(&ctx, &stack.log, &vars);
    for outcome in &finals {
        report(outcome.name, &outcome.result);
    }
    let all: Vec<&Outcome> = outcomes.iter().chain(finals.iter()).collect();
    let failed = all.iter().filter(|o| o.result.is_err()).count();
    (all.len() - failed, failed)
}
