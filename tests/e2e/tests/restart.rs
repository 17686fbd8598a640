//! The rate limiter survives a crash: the whole stack is killed (SIGKILL, no shutdown) moments after
//! requests were admitted, started again on the same state, and the rest of the minute admits exactly
//! what the limit leaves — not a fresh window.
//!
//! `cargo test -p e2e --test restart` starts the simulator and its own stack (it kills that stack, so it
//! cannot share the gateway suite's), runs the cases one after the other, then the final checks.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use e2e::runner::report;
use e2e::seed::unique;
use e2e::sim::Sim;
use e2e::stack::{repo_root, Stack};
use e2e::suite::{final_checks, finish, setup, setup_failed};
use e2e::{ensure_eq, Ctx};
use serde_json::json;

#[allow(dead_code)]
#[path = "gateway/tenant.rs"]
mod tenant;
#[allow(dead_code)]
#[path = "gateway/wire.rs"]
mod wire;

use tenant::{attempts, put_policy, tenant, GPT};
use wire::{chat_body, fault_key, post, CHAT};

const STARTUP_BOUND: Duration = Duration::from_secs(240);

fn main() -> ExitCode {
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
    let (passed, failed) = runtime.block_on(run());
    finish(passed, failed)
}

async fn run() -> (usize, usize) {
    let root = repo_root();
    let (vars, token) = match setup(&root) {
        Ok(v) => v,
        Err(e) => return setup_failed(&e, 1),
    };
    let sim = match Sim::start(&root) {
        Ok(sim) => sim,
        Err(e) => return setup_failed(&e, 1),
    };
    tenant::set_upstream(sim.upstream());
    let mut stack = match Stack::start(&root) {
        Ok(s) => s,
        Err(e) => return setup_failed(&e, 1),
    };
    println!("stack: {} (log {})", stack.base_url(), stack.log.display());
    // No idle connections kept: after the crash, a pooled connection would point at the dead process.
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(0)
        .build()
    {
        Ok(h) => h,
        Err(e) => return setup_failed(&format!("cannot build the HTTP client: {e}"), 1),
    };
    if let Err(e) = stack.wait_healthy(&http, STARTUP_BOUND).await {
        stack.stop();
        return setup_failed(&e, 1);
    }
    let ctx = Arc::new(Ctx::new(
        stack.base_url(),
        http.clone(),
        token,
        root.clone(),
        stack.dir.clone(),
    ));
    let name = "restart::requests_admitted_before_a_crash_still_count";
    let result = requests_admitted_before_a_crash_still_count(&ctx, &mut stack, &http).await;
    report(name, &result);
    stack.stop();
    drop(sim);
    let finals = final_checks(&ctx, &stack.log, &vars);
    for outcome in &finals {
        report(outcome.name, &outcome.result);
    }
    let failed = usize::from(result.is_err()) + finals.iter().filter(|o| o.result.is_err()).count();
    (1 + finals.len() - failed, failed)
}

/// Four requests of a key limited to 6 per minute pass; the stack is killed right after their answers
/// (the limiter gets no chance to save anything later) and started again on the same state. Of 6
/// parallel requests in the same minute exactly 2 pass, and only 6 requests in all reach the provider.
async fn requests_admitted_before_a_crash_still_count(
    ctx: &Ctx,
    stack: &mut Stack,
    http: &reqwest::Client,
) -> Result<(), String> {
    const K: usize = 6;
    const BEFORE: usize = 4;
    let t = tenant(ctx, &unique("restart")).await?;
    put_policy(
        ctx,
        &t.instance_id,
        "key",
        &t.key.id,
        json!({"requests_per_minute": K}),
    )
    .await?;
    let fkey = fault_key("restart");
    let body = chat_body(
        GPT,
        &format!("before and after a crash [[sim: key={fkey}]]"),
    );
    let api = t.api(ctx);
    let before = futures_util::future::join_all((0..BEFORE).map(|_| post(&api, CHAT, &body, &[])))
        .await
        .into_iter()
        .collect::<Result<Vec<_>, String>>()?;
    let statuses: Vec<u16> = before.iter().map(|r| r.status).collect();
    ensure_eq!(statuses, vec![200; BEFORE], "statuses before the crash");
    stack.crash_and_restart(http, STARTUP_BOUND).await?;
    let after = futures_util::future::join_all((0..K).map(|_| post(&api, CHAT, &body, &[])))
        .await
        .into_iter()
        .collect::<Result<Vec<_>, String>>()?;
    let mut statuses: Vec<u16> = after.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    let mut want = vec![200; K - BEFORE];
    want.extend(vec![429; BEFORE]);
    ensure_eq!(
        statuses,
        want,
        "statuses of {K} parallel requests after the crash, in the same minute"
    );
    ensure_eq!(
        attempts(ctx, &fkey).await?,
        K as u64,
        "requests that reached the provider"
    );
    Ok(())
}
