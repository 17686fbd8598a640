//! The rate limiter and the budget ledger survive a crash: the whole stack is killed (SIGKILL, no
//! shutdown) moments after requests were admitted, started again on the same state, and the rest of the
//! minute admits exactly what the limit leaves — not a fresh window — and a budget keeps its spend.
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
    let name = "restart::a_budget_keeps_its_spend_across_a_crash";
    let budget = a_budget_keeps_its_spend_across_a_crash(&ctx, &mut stack, &http).await;
    report(name, &budget);
    stack.stop();
    drop(sim);
    let finals = final_checks(&ctx, &stack.log, &vars);
    for outcome in &finals {
        report(outcome.name, &outcome.result);
    }
    let failed = usize::from(result.is_err())
        + usize::from(budget.is_err())
        + finals.iter().filter(|o| o.result.is_err()).count();
    (2 + finals.len() - failed, failed)
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

/// The instance's budget, once no reservation is in flight.
async fn settled_budget(ctx: &Ctx, instance_id: &str) -> Result<serde_json::Value, String> {
    let path = format!("/admin/instances/{instance_id}/budgets");
    for _ in 0..100 {
        let list = ctx.admin().get(&path).await?;
        let budget = list
            .data()?
            .first()
            .cloned()
            .ok_or_else(|| list.describe())?;
        if budget.get("in_flight").cloned().unwrap_or_default() == json!(0)
            && budget.get("applied").cloned().unwrap_or_default() == json!(true)
        {
            return Ok(budget);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("{path}: reservations still in flight after 10 s"))
}

/// Requests spend from a monthly instance budget; the stack is killed and started again on the same
/// state: the budget shows the same spend, and a request that no longer fits is refused as before.
async fn a_budget_keeps_its_spend_across_a_crash(
    ctx: &Ctx,
    stack: &mut Stack,
    http: &reqwest::Client,
) -> Result<(), String> {
    let t = tenant(ctx, &unique("restart-budget")).await?;
    let path = format!(
        "/admin/instances/{0}/budgets/instance/{0}/monthly",
        t.instance_id
    );
    let set = ctx.admin().put(&path, json!({"usd": 1.0})).await?;
    ensure_eq!(set.status, 201, "setting the budget: {}", set.describe());
    let api = t.api(ctx);
    let body = chat_body(GPT, "spend before a crash");
    for _ in 0..3 {
        let r = post(&api, CHAT, &body, &[]).await?;
        ensure_eq!(
            r.status,
            200,
            "a request within the budget: {}",
            r.describe()
        );
    }
    let before = settled_budget(ctx, &t.instance_id).await?;
    let spent = before
        .get("spent_usd")
        .cloned()
        .unwrap_or_default()
        .as_f64()
        .unwrap_or(0.0);
    e2e::ensure!(spent > 0.0, "the requests spent nothing: {before}");
    stack.crash_and_restart(http, STARTUP_BOUND).await?;
    let after = settled_budget(ctx, &t.instance_id).await?;
    ensure_eq!(
        after.get("spent_usd").cloned().unwrap_or_default(),
        before.get("spent_usd").cloned().unwrap_or_default(),
        "spend after the restart"
    );
    ensure_eq!(
        after.get("spent_tokens").cloned().unwrap_or_default(),
        before.get("spent_tokens").cloned().unwrap_or_default(),
        "tokens after the restart"
    );
    // Lower the budget under what was spent: the next request is refused by the restored spend.
    let lower = ctx.admin().put(&path, json!({"usd": spent})).await?;
    ensure_eq!(
        lower.status,
        200,
        "lowering the budget: {}",
        lower.describe()
    );
    let refused = post(&api, CHAT, &body, &[]).await?;
    ensure_eq!(
        refused.status,
        429,
        "a request over the restored spend: {}",
        refused.describe()
    );
    ensure_eq!(
        refused
            .body
            .pointer("/error/code")
            .cloned()
            .unwrap_or_default(),
        json!("budget_exceeded"),
        "its error code"
    );
    Ok(())
}
