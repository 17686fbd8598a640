//! `GET /metrics`: the platform's counters in the Prometheus text format, per instance, from the usage rows
//! (so a scrape and the usage API always agree). Bearer `METRICS_TOKEN` (or the platform token).
//!
//! Each scrape aggregates the usage rows in two queries. Rows refused before a key was known (401) have no
//! row and are not counted; everything else is — limiter and budget refusals included.

use envelope::ApiError;
use kit::call::Reply;
use kit::settings::Settings;
use kit::store::{Arg, Db};
use kit::Call;
use metrics::{Family, Kind, Labels};
use serde::Deserialize;
use worker::{Request, Response};

/// Request latency bucket bounds, in seconds.
const LATENCY: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// The platform's own share (overhead) bucket bounds, in seconds.
const OVERHEAD: [f64; 9] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25];

#[derive(Deserialize)]
struct Group {
    instance_id: String,
    endpoint: String,
    kind: String,
    status: i64,
    code: String,
    requests: u64,
    cached: u64,
    upstream_called: u64,
    prompt_tokens: u64,
    completion_tokens: u64,
    images: u64,
    cost_usd: f64,
}

#[derive(Deserialize)]
struct Timing {
    instance_id: String,
    n: u64,
    latency_sum: f64,
    overhead_sum: f64,
    /// `latency <= bound` counts, then `overhead <= bound` counts, as a JSON array.
    buckets: String,
}

fn authorized(req: &Request, settings: &Settings) -> Result<bool, kit::Fault> {
    let authorization = req.headers().get("authorization")?;
    let Some(token) = keys::bearer_token(authorization.as_deref(), None) else {
        return Ok(false);
    };
    let metrics = settings
        .metrics_token
        .as_deref()
        .is_some_and(|expected| keys::token_matches(token, expected));
    Ok(metrics || keys::token_matches(token, &settings.admin_token))
}

pub async fn scrape(req: &Request, env: &worker::Env, call: &Call) -> Reply {
    let settings = Settings::load(env)?;
    if !authorized(req, &settings)? {
        return Err(ApiError::unauthorized(
            "invalid_metrics_token",
            "send the metrics token: Authorization: Bearer <METRICS_TOKEN>",
        )
        .into());
    }
    let db = Db::from_env(env)?;
    let groups: Vec<Group> = db
        .all(
            "SELECT instance_id, endpoint, kind, status, COALESCE(error_code, '') AS code, COUNT(*) AS requests, \
             SUM(cached) AS cached, SUM(attempts > 0) AS upstream_called, SUM(prompt_tokens) AS prompt_tokens, \
             SUM(completion_tokens) AS completion_tokens, SUM(images) AS images, SUM(cost_usd) AS cost_usd \
             FROM usage_events GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5",
            &[],
        )
        .await?;
    let counts = |column: &str, bounds: &[f64]| {
        bounds
            .iter()
            .map(|b| format!("SUM({column} <= {})", b * 1000.0))
            .collect::<Vec<_>>()
    };
    let mut buckets = counts("latency_ms", &LATENCY);
    buckets.extend(counts("overhead_ms", &OVERHEAD));
    let timing_sql = format!(
        "SELECT instance_id, COUNT(*) AS n, SUM(latency_ms) AS latency_sum, SUM(overhead_ms) AS overhead_sum, \
         json_array({}) AS buckets FROM usage_events GROUP BY 1 ORDER BY 1",
        buckets.join(", ")
    );
    let timings: Vec<Timing> = db.all(&timing_sql, &[] as &[Arg]).await?;
    let text = metrics::render(&families(&groups, &timings));
    let mut response = Response::ok(text)?;
    let headers = response.headers_mut();
    headers.set("content-type", metrics::CONTENT_TYPE)?;
    headers.set("cache-control", "no-store")?;
    headers.set("x-request-id", &call.request_id)?;
    Ok(response)
}

fn instance(id: &str) -> Labels {
    vec![("instance_id", id.to_string())]
}

fn families(groups: &[Group], timings: &[Timing]) -> Vec<Family> {
    let mut requests = Family::new(
        "de_requests_total",
        Kind::Counter,
        "Requests with a usage row, by instance, endpoint, kind and HTTP status.",
    );
    let mut errors = Family::new(
        "de_errors_total",
        Kind::Counter,
        "Requests answered with an error (status >= 400), by instance and error code.",
    );
    let mut limiter = Family::new(
        "de_limiter_decisions_total",
        Kind::Counter,
        "Rate limiter decisions: refused (429 rate_limited) or admitted (the upstream was called).",
    );
    let mut budget = Family::new(
        "de_budget_refusals_total",
        Kind::Counter,
        "Requests refused by a budget (429 budget_exceeded).",
    );
    let mut cached = Family::new(
        "de_cache_hits_total",
        Kind::Counter,
        "Answers served from the response cache.",
    );
    let mut tokens = Family::new(
        "de_tokens_total",
        Kind::Counter,
        "Tokens counted, by instance and type (prompt, completion).",
    );
    let mut images = Family::new("de_images_total", Kind::Counter, "Images stored.");
    let mut cost = Family::new(
        "de_cost_usd_total",
        Kind::Counter,
        "Cost of the requests in USD, at the configured prices.",
    );
    let mut by_instance: std::collections::BTreeMap<&str, Totals> = Default::default();
    let mut error_codes: std::collections::BTreeMap<(&str, String), u64> = Default::default();
    for g in groups {
        requests.add(
            vec![
                ("instance_id", g.instance_id.clone()),
                ("endpoint", g.endpoint.clone()),
                ("kind", g.kind.clone()),
                ("status", g.status.to_string()),
            ],
            g.requests as f64,
        );
        if g.status >= 400 {
            let code = if g.code.is_empty() {
                format!("http_{}", g.status)
            } else {
                g.code.clone()
            };
            *error_codes.entry((&g.instance_id, code)).or_default() += g.requests;
        }
        let t = by_instance.entry(&g.instance_id).or_default();
        t.cached += g.cached;
        t.admitted += g.upstream_called;
        t.prompt += g.prompt_tokens;
        t.completion += g.completion_tokens;
        t.images += g.images;
        t.cost += g.cost_usd;
        match g.code.as_str() {
            "rate_limited" => t.rate_limited += g.requests,
            "budget_exceeded" => t.budget += g.requests,
            _ => {}
        }
    }
    for ((id, code), n) in error_codes {
        errors.add(
            vec![("instance_id", id.to_string()), ("code", code)],
            n as f64,
        );
    }
    for (id, t) in &by_instance {
        let with = |name: &'static str, value: &str| {
            let mut labels = instance(id);
            labels.push((name, value.to_string()));
            labels
        };
        limiter.add(with("decision", "refused"), t.rate_limited as f64);
        limiter.add(with("decision", "admitted"), t.admitted as f64);
        budget.add(instance(id), t.budget as f64);
        cached.add(instance(id), t.cached as f64);
        tokens.add(with("type", "prompt"), t.prompt as f64);
        tokens.add(with("type", "completion"), t.completion as f64);
        images.add(instance(id), t.images as f64);
        cost.add(instance(id), t.cost);
    }
    let mut latency = Family::new(
        "de_request_duration_seconds",
        Kind::Histogram,
        "Time from the request's arrival to its last byte (streams: the whole stream).",
    );
    let mut overhead = Family::new(
        "de_overhead_seconds",
        Kind::Histogram,
        "The platform's own share of a request: its time minus the upstream's.",
    );
    for t in timings {
        let counts: Vec<u64> = serde_json::from_str(&t.buckets).unwrap_or_default();
        let (l, o) = counts.split_at(LATENCY.len().min(counts.len()));
        latency.observe(
            instance(&t.instance_id),
            &LATENCY,
            l,
            t.latency_sum / 1000.0,
            t.n,
        );
        overhead.observe(
            instance(&t.instance_id),
            &OVERHEAD,
            o,
            t.overhead_sum / 1000.0,
            t.n,
        );
    }
    vec![
        requests, errors, limiter, budget, cached, tokens, images, cost, latency, overhead,
    ]
}

#[derive(Default)]
struct Totals {
    cached: u64,
    admitted: u64,
    rate_limited: u64,
    budget: u64,
    prompt: u64,
    completion: u64,
    images: u64,
    cost: f64,
}
