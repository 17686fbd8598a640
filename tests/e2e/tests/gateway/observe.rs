//! What operators watch: the request log (`GET /admin/instances/{id}/requests`), the dashboard's series
//! (`…/usage/series`) and `GET /metrics`, each checked against the requests a client made and the usage
//! summary of the same rows. `/metrics` is scraped and parsed by the official Prometheus Python client.

use std::collections::HashSet;

use e2e::{case, ensure, ensure_eq, expect_error, expect_status, Case, Ctx};
use serde_json::Value;

use crate::tenant::{await_usage, group, tenant, Tenant, CLAUDE, GPT};
use crate::wire::{chat_body, post, CHAT};

pub fn cases() -> Vec<Case> {
    vec![case!(
        the_request_log_series_and_metrics_agree_with_the_usage_rows
    )]
}

fn num(v: &Value, name: &str) -> f64 {
    v.get(name).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9_f64.max(b.abs() * 1e-9)
}

/// Five requests, three to GPT and two to Claude; our request ids, in order.
async fn traffic(ctx: &Ctx, t: &Tenant) -> Result<Vec<String>, String> {
    let api = t.api(ctx);
    let mut ids = Vec::new();
    for (model, text) in [
        (GPT, "log one"),
        (CLAUDE, "log two"),
        (GPT, "log three"),
        (GPT, "log four"),
        (CLAUDE, "log five"),
    ] {
        let resp = post(&api, CHAT, &chat_body(model, text), &[]).await?;
        expect_status(&resp, 200)?;
        ids.push(resp.request_id().unwrap_or_default().to_string());
    }
    Ok(ids)
}

async fn the_request_log_series_and_metrics_agree_with_the_usage_rows(
    ctx: &Ctx,
) -> Result<(), String> {
    let t = tenant(ctx, "observe").await?;
    let ins = t.instance_id.as_str();
    let sent = traffic(ctx, &t).await?;
    let api = t.api(ctx);
    let by_model = await_usage(&api, ins, "model", |rows| {
        rows.iter().map(|g| num(g, "requests")).sum::<f64>() >= sent.len() as f64
    })
    .await?;

    // The log: newest first, exactly our requests, with what their rows recorded.
    let resp = api.get(&format!("/admin/instances/{ins}/requests")).await?;
    expect_status(&resp, 200)?;
    let log = resp.data()?.clone();
    let logged: Vec<&str> = log
        .iter()
        .filter_map(|r| r.get("request_id").and_then(Value::as_str))
        .collect();
    let newest_first: Vec<&str> = sent.iter().rev().map(String::as_str).collect();
    ensure_eq!(logged, newest_first, "the log's request ids, newest first");
    let gpt_tokens: f64 = log
        .iter()
        .filter(|r| r.get("model").and_then(Value::as_str) == Some(GPT))
        .map(|r| num(r, "prompt_tokens") + num(r, "completion_tokens"))
        .sum();
    let gpt = group(&by_model, GPT).ok_or("no GPT group")?;
    ensure_eq!(
        gpt_tokens,
        num(gpt, "prompt_tokens") + num(gpt, "completion_tokens"),
        "the log's GPT tokens vs the usage summary"
    );
    // Filters and pages.
    let resp = api
        .get(&format!(
            "/admin/instances/{ins}/requests?model={CLAUDE}&status=200"
        ))
        .await?;
    let claude: Vec<Value> = expect_status(&resp, 200).and_then(|_| resp.data().cloned())?;
    ensure!(
        claude.len() == 2
            && claude
                .iter()
                .all(|r| r.get("model").and_then(Value::as_str) == Some(CLAUDE)),
        "model filter: {claude:?}"
    );
    let mut paged = Vec::new();
    let mut path = format!("/admin/instances/{ins}/requests?limit=2");
    for _ in 0..5 {
        let resp = api.get(&path).await?;
        expect_status(&resp, 200)?;
        paged.extend(resp.data()?.iter().filter_map(|r| {
            r.get("request_id")
                .and_then(Value::as_str)
                .map(String::from)
        }));
        match resp.body.get("next_cursor").and_then(Value::as_str) {
            Some(c) => path = format!("/admin/instances/{ins}/requests?limit=2&cursor={c}"),
            None => break,
        }
    }
    ensure_eq!(
        paged,
        newest_first,
        "pages of 2 cover the log once, in order"
    );
    let bad = api
        .get(&format!("/admin/instances/{ins}/requests?status=abc"))
        .await?;
    expect_error(&bad, 400, "invalid_field")?.param_is("status")?;
    // Another tenant's key sees nothing of it.
    let other = tenant(ctx, "observe-other").await?;
    let foreign = other
        .api(ctx)
        .get(&format!("/admin/instances/{ins}/requests"))
        .await?;
    ensure_eq!(foreign.status, 404, "a foreign key: {}", foreign.describe());

    // The series: per-minute buckets adding up to the summary, percentiles among the logged latencies.
    let resp = api
        .get(&format!(
            "/admin/instances/{ins}/usage/series?bucket=minute"
        ))
        .await?;
    let series = expect_status(&resp, 200).and_then(|_| resp.data().cloned())?;
    let total = |name: &str| series.iter().map(|p| num(p, name)).sum::<f64>();
    ensure_eq!(
        total("requests"),
        sent.len() as f64,
        "series requests: {series:?}"
    );
    let summary_tokens: f64 = by_model.iter().map(|g| num(g, "completion_tokens")).sum();
    ensure_eq!(
        total("completion_tokens"),
        summary_tokens,
        "series completion tokens"
    );
    let latencies: HashSet<u64> = log.iter().map(|r| num(r, "latency_ms").to_bits()).collect();
    for p in &series {
        let (p50, p95) = (num(p, "latency_p50_ms"), num(p, "latency_p95_ms"));
        ensure!(
            p50 <= p95 && latencies.contains(&p50.to_bits()) && latencies.contains(&p95.to_bits()),
            "p50 {p50} and p95 {p95} are logged latencies, in order: {p}"
        );
    }
    let bad = api
        .get(&format!(
            "/admin/instances/{ins}/usage/series?bucket=minute&from=0"
        ))
        .await?;
    ensure_eq!(bad.status, 422, "too many buckets: {}", bad.describe());
    ensure_eq!(
        bad.body.pointer("/error/param").and_then(Value::as_str),
        Some("from"),
        "the refusal names from: {}",
        bad.describe()
    );

    // /metrics: only with the metrics token, parsed by Prometheus' client; counts match the rows.
    let anon = ctx.anon().get("/metrics").await?;
    ensure_eq!(
        anon.status,
        401,
        "/metrics without a token: {}",
        anon.describe()
    );
    let tenant_key = api.get("/metrics").await?;
    ensure_eq!(
        tenant_key.status,
        401,
        "/metrics with a tenant key: {}",
        tenant_key.describe()
    );
    let vars = e2e::stack::read_dev_vars(ctx.root())?;
    let token = vars
        .get("METRICS_TOKEN")
        .ok_or("METRICS_TOKEN is not in .dev.vars")?;
    let scraped = e2e::sdk::run(ctx.root(), "prom.py", &[&ctx.base, token, ins]).await?;
    ensure!(
        scraped
            .get("content_type")
            .and_then(Value::as_str)
            .is_some_and(|c| c.starts_with("text/plain; version=0.0.4")),
        "content type: {scraped}"
    );
    let samples = scraped
        .get("samples")
        .and_then(Value::as_array)
        .ok_or("no samples")?;
    let sum = |name: &str, label: Option<(&str, &str)>| -> f64 {
        samples
            .iter()
            .filter(|s| s.get("name").and_then(Value::as_str) == Some(name))
            .filter(|s| {
                label.is_none_or(|(k, v)| {
                    s.pointer(&format!("/labels/{k}")).and_then(Value::as_str) == Some(v)
                })
            })
            .map(|s| num(s, "value"))
            .sum()
    };
    ensure_eq!(
        sum("de_requests_total", None),
        sent.len() as f64,
        "de_requests_total"
    );
    ensure_eq!(
        sum("de_request_duration_seconds_count", None),
        sent.len() as f64,
        "the latency histogram's count"
    );
    let prompt: f64 = by_model.iter().map(|g| num(g, "prompt_tokens")).sum();
    ensure_eq!(
        sum("de_tokens_total", Some(("type", "prompt"))),
        prompt,
        "prompt tokens"
    );
    ensure_eq!(
        sum("de_tokens_total", Some(("type", "completion"))),
        summary_tokens,
        "completion tokens"
    );
    let cost: f64 = by_model.iter().map(|g| num(g, "cost_usd")).sum();
    ensure!(
        close(sum("de_cost_usd_total", None), cost),
        "de_cost_usd_total {} vs the usage summary {cost}",
        sum("de_cost_usd_total", None)
    );
    ensure_eq!(
        sum("de_limiter_decisions_total", Some(("decision", "admitted"))),
        sent.len() as f64,
        "every request was admitted by the limiter"
    );
    Ok(())
}
