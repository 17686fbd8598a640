//! Binding, secret and var names, declared once here and in the wrangler.toml files.

/// D1: the hierarchy, keys, provider keys, model configs, audit.
pub const DB: &str = "DB";
/// KV: principal cache (never the source of truth).
pub const CACHE: &str = "CACHE";
/// Service binding from the front door to the config worker.
pub const CONFIG: &str = "CONFIG";

/// Secret: the bootstrap platform-admin token.
pub const ADMIN_TOKEN: &str = "ADMIN_TOKEN";
/// Secret: HMAC key for API key hashes.
pub const KEY_HASH_SECRET: &str = "KEY_HASH_SECRET";
/// Secret: AES-GCM key material for provider keys.
pub const PROVIDER_KEY_SECRET: &str = "PROVIDER_KEY_SECRET";
/// Var: when non-empty, the deployment serves this instance only.
pub const PINNED_INSTANCE_ID: &str = "PINNED_INSTANCE_ID";
