//! Liveness and readiness.

use kit::call::Reply;
use kit::store::Db;
use kit::{principal, Call, Fault};
use serde_json::json;
use worker::Env;

pub fn health(call: &Call) -> Reply {
    call.json(200, &json!({"status": "ok"}))
}

/// Ready when D1 answers a query and KV answers a read.
pub async fn ready(env: &Env, call: &Call) -> Reply {
    let d1 = check(async { Db::from_env(env)?.ping().await }).await;
    let kv = check(async {
        principal::cache(env)?.get("ready-probe").text().await?;
        Ok(())
    })
    .await;
    let ok = d1 == "ok" && kv == "ok";
    let body =
        json!({"status": if ok { "ready" } else { "not_ready" }, "checks": {"d1": d1, "kv": kv}});
    call.json(if ok { 200 } else { 503 }, &body)
}

async fn check(probe: impl std::future::Future<Output = Result<(), Fault>>) -> &'static str {
    match probe.await {
        Ok(()) => "ok",
        Err(e) => {
            worker::console_error!("readiness probe failed: {}", e);
            "failing"
        }
    }
}
