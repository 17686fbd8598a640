//! A fresh tenant per case, created through the admin API with the bootstrap token: an org and an
//! instance, provider keys `openai` and `anthropic` served by the simulator, the model configs
//! `gpt-test` and `claude-test` (with prices), and an API key with scopes [generate, admin:read].
//! Also: the instance's usage as its key reads it, polled with a bound.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use e2e::client::Api;
use e2e::seed::{self, create_instance, create_org, field, unique, Key};
use e2e::sim::Upstream;
use e2e::{expect_status, Ctx};
use serde_json::{json, Value};

pub const GPT: &str = "gpt-test";
pub const CLAUDE: &str = "claude-test";
/// USD per million tokens: (input, output).
pub const GPT_PRICES: (f64, f64) = (0.5, 1.5);
pub const CLAUDE_PRICES: (f64, f64) = (3.0, 15.0);

/// How long a usage row may take to appear (it is written after the response).
const USAGE_BOUND: Duration = Duration::from_secs(20);
const USAGE_POLL: Duration = Duration::from_millis(200);

static UPSTREAM: OnceLock<Upstream> = OnceLock::new();

/// Set once by `main` after the simulator started.
pub fn set_upstream(upstream: Upstream) {
    let _ = UPSTREAM.set(upstream);
}

pub fn upstream() -> Result<&'static Upstream, String> {
    UPSTREAM
        .get()
        .ok_or_else(|| "the simulator was not started".into())
}

/// How many requests with fault key `key` reached the simulator.
pub async fn attempts(ctx: &Ctx, key: &str) -> Result<u64, String> {
    upstream()?.attempts(&ctx.http, key).await
}

/// One fresh tenant.
#[derive(Clone, Debug)]
pub struct Tenant {
    pub instance_id: String,
    pub key: Key,
}

impl Tenant {
    /// The tenant's key as `Authorization: Bearer`.
    pub fn api<'a>(&self, ctx: &'a Ctx) -> Api<'a> {
        ctx.with_key(&self.key.secret)
    }

    /// The tenant's key as `x-api-key` (how the Anthropic SDK sends it).
    pub fn x_api<'a>(&self, ctx: &'a Ctx) -> Api<'a> {
        ctx.with_x_api_key(&self.key.secret)
    }
}

pub async fn tenant(ctx: &Ctx, label: &str) -> Result<Tenant, String> {
    let org = create_org(ctx, label).await?;
    let org_id = field(&org, "id")?;
    let instance = create_instance(ctx, &org_id, label).await?;
    let instance_id = field(&instance, "id")?;
    let base = upstream()?.v1();
    for name in ["openai", "anthropic"] {
        let secret = format!("sk-e2e-{name}-{}", unique("pk"));
        put_provider_key(
            ctx,
            &instance_id,
            name,
            json!({"api_key": secret, "base_url": base}),
        )
        .await?;
    }
    let (gi, go) = GPT_PRICES;
    add_model(
        ctx,
        &instance_id,
        json!({"id": GPT, "provider": "openai", "upstream_model": "gpt-4o-mini",
               "input_price_per_mtok": gi, "output_price_per_mtok": go}),
    )
    .await?;
    let (ci, co) = CLAUDE_PRICES;
    add_model(
        ctx,
        &instance_id,
        json!({"id": CLAUDE, "provider": "anthropic", "upstream_model": "claude-3-5-haiku-latest",
               "input_price_per_mtok": ci, "output_price_per_mtok": co}),
    )
    .await?;
    let key = add_key(
        ctx,
        &instance_id,
        json!({"name": "app", "scopes": ["generate", "admin:read"]}),
    )
    .await?;
    Ok(Tenant { instance_id, key })
}

/// `PUT …/provider-keys/{name}` with `body`; its `api_key`, unless it is the simulator's `sk-invalid`, is
/// remembered for the log check.
pub async fn put_provider_key(
    ctx: &Ctx,
    instance_id: &str,
    name: &str,
    body: Value,
) -> Result<(), String> {
    if let Some(secret) = body.get("api_key").and_then(Value::as_str) {
        if secret != "sk-invalid" {
            ctx.remember_secret(secret);
        }
    }
    let resp = ctx
        .admin()
        .put(
            &format!("/admin/instances/{instance_id}/provider-keys/{name}"),
            body,
        )
        .await?;
    expect_status(&resp, 200).map(|_| ())
}

pub async fn add_model(ctx: &Ctx, instance_id: &str, body: Value) -> Result<(), String> {
    let resp = ctx
        .admin()
        .post(&format!("/admin/instances/{instance_id}/models"), body)
        .await?;
    expect_status(&resp, 201).map(|_| ())
}

/// Another API key of the instance (created by the platform admin; its secret is remembered).
pub async fn add_key(ctx: &Ctx, instance_id: &str, body: Value) -> Result<Key, String> {
    seed::admin_key(ctx, instance_id, body).await
}

/// `PUT …/rate-limits/{scope}/{target}` with `policy`.
pub async fn put_policy(
    ctx: &Ctx,
    instance_id: &str,
    scope: &str,
    target: &str,
    policy: Value,
) -> Result<(), String> {
    let resp = ctx
        .admin()
        .put(
            &format!("/admin/instances/{instance_id}/rate-limits/{scope}/{target}"),
            policy,
        )
        .await?;
    expect_status(&resp, 200).map(|_| ())
}

/// The usage groups of the instance (`group_by` day|model|key|project|status) as `api` reads them.
pub async fn usage(api: &Api<'_>, instance_id: &str, group_by: &str) -> Result<Vec<Value>, String> {
    let resp = api
        .get(&format!(
            "/admin/instances/{instance_id}/usage?group_by={group_by}"
        ))
        .await?;
    let body = expect_status(&resp, 200)?;
    e2e::ensure_eq!(
        body.get("object").and_then(Value::as_str),
        Some("usage_summary"),
        "usage object"
    );
    Ok(resp.data()?.clone())
}

/// The group named `group` of a usage summary.
pub fn group<'a>(rows: &'a [Value], group: &str) -> Option<&'a Value> {
    rows.iter()
        .find(|r| r.get("group").and_then(Value::as_str) == Some(group))
}

/// Polls the usage summary until `done(rows)` holds (usage is written after the response), at most
/// [`USAGE_BOUND`]. Returns the rows that satisfied it, or the last rows seen.
pub async fn await_usage(
    api: &Api<'_>,
    instance_id: &str,
    group_by: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Result<Vec<Value>, String> {
    let deadline = Instant::now() + USAGE_BOUND;
    loop {
        let rows = usage(api, instance_id, group_by).await?;
        if done(&rows) {
            return Ok(rows);
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "usage by {group_by} did not reach the expected totals within {}s; last: {}",
                USAGE_BOUND.as_secs(),
                Value::Array(rows)
            ));
        }
        tokio::time::sleep(USAGE_POLL).await;
    }
}

/// The integer `name` of a usage group (0 when missing).
pub fn count(row: Option<&Value>, name: &str) -> u64 {
    row.and_then(|r| r.get(name))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}
