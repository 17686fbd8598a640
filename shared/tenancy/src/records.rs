//! The JSON shapes of admin resources (docs/api.md), each tagged with its `"object"` name.
//! Timestamps are milliseconds since the Unix epoch. No record holds a hash or a secret, except
//! [`ApiKeyWithSecret`], the one-time answer to creating or rotating a key.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::inputs::{Capability, KeyEnvironment, Provider};
use crate::roles::{Role, Scope};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "object", rename = "org")]
pub struct Org {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "object", rename = "instance")]
pub struct Instance {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub slug: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "object", rename = "project")]
pub struct Project {
    pub id: String,
    pub org_id: String,
    pub instance_id: String,
    pub name: String,
    pub slug: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "object", rename = "user")]
pub struct User {
    pub id: String,
    pub org_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub instance_ids: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "object", rename = "api_key")]
pub struct ApiKeyRecord {
    pub id: String,
    pub org_id: String,
    pub instance_id: String,
    pub project_id: Option<String>,
    pub user_id: Option<String>,
    pub name: String,
    /// The 12-character display prefix, e.g. `de_test_AbCd`.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub environment: KeyEnvironment,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_rotated_at: Option<i64>,
    /// The models this key may call; `None` = every model of its instance.
    pub allowed_models: Option<Vec<String>>,
}

/// A key with its secret: only ever the answer to create or rotate. `Debug` hides the secret.
#[derive(Serialize, Clone, PartialEq, Eq)]
pub struct ApiKeyWithSecret {
    #[serde(flatten)]
    pub key: ApiKeyRecord,
    pub secret: String,
}

impl fmt::Debug for ApiKeyWithSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyWithSecret")
            .field("key", &self.key)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// A stored provider key as shown: never the key, only its hint.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "object", rename = "provider_key")]
pub struct ProviderKeyRecord {
    pub name: String,
    pub provider: Provider,
    /// Always `true`: a record exists only for a stored key.
    pub configured: bool,
    pub hint: String,
    pub base_url: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "object", rename = "model")]
pub struct ModelConfig {
    pub id: String,
    pub instance_id: String,
    pub provider: Provider,
    pub upstream_model: String,
    /// Name (slug) of the instance's provider key this model uses.
    pub provider_key: Option<String>,
    /// Always `null`: a model is served where its provider key's `base_url` says. Kept so the shape stays.
    pub base_url: Option<String>,
    pub capabilities: Vec<Capability>,
    pub input_price_per_mtok: Option<f64>,
    pub output_price_per_mtok: Option<f64>,
    pub price_per_image: Option<f64>,
    /// Prices per image by size and quality, over `price_per_image` (see [`ModelConfig::image_price`]).
    #[serde(default)]
    pub image_prices: Option<crate::inputs::ImagePrices>,
    pub max_output_tokens: Option<u32>,
    pub fallbacks: Vec<String>,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A rate-limit policy of an instance.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "object", rename = "rate_limit_policy")]
pub struct RateLimitPolicy {
    pub instance_id: String,
    /// `provider` or `key`.
    pub scope: String,
    /// A provider key name or key id, or `*` for the default of the scope.
    pub target: String,
    pub requests_per_minute: Option<u64>,
    pub tokens_per_minute: Option<u64>,
    /// Images per minute on the policy's image scopes (see `generation::Catalog::image_limits_for`).
    #[serde(default)]
    pub images_per_minute: Option<u64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ModelConfig {
    /// What `prompt` and `completion` tokens cost at this model's prices (unpriced → 0).
    pub fn cost_usd(&self, prompt_tokens: u64, completion_tokens: u64) -> f64 {
        let input = self.input_price_per_mtok.unwrap_or(0.0) * prompt_tokens as f64;
        let output = self.output_price_per_mtok.unwrap_or(0.0) * completion_tokens as f64;
        (input + output) / 1_000_000.0
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "object", rename = "audit_entry")]
pub struct AuditEntry {
    pub id: String,
    pub org_id: String,
    pub instance_id: Option<String>,
    /// `platform` or `key:<key_id>` (see `Actor::audit_name`).
    pub actor: String,
    /// e.g. `key.create`, `provider_key.set`.
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub request_id: String,
    /// Never a secret.
    pub detail: Value,
    pub created_at: i64,
}

#[cfg(test)]
mod tests;
