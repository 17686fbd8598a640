//! Tenant API keys: their format, keyed hashing and constant-time checks.
//!
//! Contract: no I/O and no randomness of its own; the shell passes random bytes in. A key is
//! `de_live_` / `de_test_` + 43 base62 chars (256 bits). Only [`hash`] (HMAC-SHA-256 under a
//! server secret) and [`ApiKey::display_prefix`] are ever stored; the full key is shown once.

mod api_key;
mod auth;
mod hash;
pub mod session;

pub use api_key::{
    generate, looks_like_api_key, parse, ApiKey, Environment, DISPLAY_PREFIX_LEN, SECRET_CHARS,
};
pub use auth::{bearer_token, token_matches};
pub use hash::{hash, KeyHash};

/// What went wrong with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not `de_live_`/`de_test_` followed by exactly 43 base62 chars.
    #[error("malformed API key")]
    Malformed,
    /// The random bytes yielded fewer than 43 usable chars; retry with fresh bytes.
    #[error("not enough random bytes to generate an API key")]
    NotEnoughRandomness,
    /// A stored key hash that is not 64 lowercase hex chars.
    #[error("malformed key hash")]
    MalformedHash,
}
