//! Binding, secret and var names, declared once here and in the wrangler.toml files.

/// D1: the hierarchy, keys, provider keys, model configs, audit.
pub const DB: &str = "DB";
/// KV: principal cache (never the source of truth).
pub const CACHE: &str = "CACHE";
/// Service binding from the front door to the config worker.
pub const CONFIG: &str = "CONFIG";
/// Service binding from the front door to the interfaces (static assets).
pub const UI: &str = "UI";
/// Service binding from the front door to the text-gen worker.
pub const TEXT_GEN: &str = "TEXT_GEN";
/// Service binding from the front door (and the text-gen and config workers) to the image-gen worker.
pub const IMAGE_GEN: &str = "IMAGE_GEN";
/// R2: generated images.
pub const IMAGES: &str = "IMAGES";
/// Durable Object namespace of the rate limiter (class `Limiter`, hosted by the text-gen worker).
pub const LIMITER: &str = "LIMITER";
/// Durable Object namespace of the budget ledgers (class `Budgets`, one per org, hosted by the text-gen
/// worker).
pub const BUDGETS: &str = "BUDGETS";

/// Secret: the bootstrap platform-admin token.
pub const ADMIN_TOKEN: &str = "ADMIN_TOKEN";
/// Optional secret: the bearer token `GET /metrics` accepts (besides the platform token).
pub const METRICS_TOKEN: &str = "METRICS_TOKEN";
/// Secret: HMAC key for API key hashes.
pub const KEY_HASH_SECRET: &str = "KEY_HASH_SECRET";
/// Secret: AES-GCM key material for provider keys.
pub const PROVIDER_KEY_SECRET: &str = "PROVIDER_KEY_SECRET";
/// Var: per-attempt upstream deadline in milliseconds.
pub const UPSTREAM_TIMEOUT_MS: &str = "UPSTREAM_TIMEOUT_MS";
/// Var: total time an upstream call may take across retries, in milliseconds.
pub const UPSTREAM_BUDGET_MS: &str = "UPSTREAM_BUDGET_MS";
/// Var: when non-empty, the deployment serves this instance only.
pub const PINNED_INSTANCE_ID: &str = "PINNED_INSTANCE_ID";
/// Var: `true` lets provider keys point at loopback hosts (the local simulator). Local wrangler configs only.
pub const ALLOW_LOOPBACK_UPSTREAMS: &str = "ALLOW_LOOPBACK_UPSTREAMS";
