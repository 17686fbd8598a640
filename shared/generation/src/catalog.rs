//! What the generation path knows of an instance: its model configs, provider keys (still sealed) and
//! rate-limit policies, and the rules that turn a model name into a [`Route`].

use std::collections::HashMap;

use envelope::ApiError;
use limits::Limit;
use providers::upstream::ProviderKind;
use serde::Deserialize;
use tenancy::inputs::Provider;
use tenancy::records::ModelConfig;

/// A provider key of the instance as the generation path needs it.
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderKeyEntry {
    pub name: String,
    pub provider: Provider,
    pub sealed_key: String,
    /// Where this key's provider is reached. The only base URL a request ever goes to: a model config
    /// cannot redirect a key's secret elsewhere.
    pub base_url: Option<String>,
    #[serde(default)]
    pub updated_at: i64,
}

/// A rate-limit policy row.
#[derive(Debug, Clone, Deserialize)]
pub struct Policy {
    pub scope: String,
    pub target: String,
    pub requests_per_minute: Option<u64>,
    pub tokens_per_minute: Option<u64>,
    /// Images per minute: the "tokens" of this policy's image scopes (see [`Catalog::image_limits_for`]).
    #[serde(default)]
    pub images_per_minute: Option<u64>,
}

/// An instance's generation configuration.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    models: HashMap<String, ModelConfig>,
    keys: HashMap<String, ProviderKeyEntry>,
    policies: Vec<Policy>,
    /// The scopes of the instance's chains that have a budget (`org:…`, `instance:…`, `project:…`,
    /// `key:…`): a request whose chain has none skips the budget ledger.
    budget_scopes: std::collections::HashSet<String>,
}

/// Where a model name leads: its model config, the provider key it uses and the upstream.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The name the caller used (a model id, or `provider_key/upstream_model`).
    pub model: String,
    pub config: ModelConfig,
    pub provider_key: String,
    /// `None` when the provider key the config names is not set.
    pub sealed_key: Option<String>,
    pub base_url: Option<String>,
    /// When the provider key last changed (part of the cache key).
    pub key_updated_at: i64,
}

impl Route {
    /// The wire format of the upstream; image providers cannot chat.
    pub fn kind(&self) -> Result<ProviderKind, ApiError> {
        match self.config.provider {
            Provider::Openai => Ok(ProviderKind::OpenAi),
            Provider::Anthropic => Ok(ProviderKind::Anthropic),
            Provider::OpenaiCompatible => Ok(ProviderKind::OpenAiCompatible),
            Provider::Ideogram => Err(ApiError::invalid_field(
                "model",
                format!(
                    "'{}' is an image model, not a chat model",
                    clip(&self.model)
                ),
            )),
        }
    }

    /// The wire format of the upstream for image generation; Anthropic has none. A separate rule from
    /// [`Route::kind`], so that chat keeps refusing image models.
    pub fn image_kind(&self) -> Result<ProviderKind, ApiError> {
        match self.config.provider {
            Provider::Openai => Ok(ProviderKind::OpenAi),
            Provider::OpenaiCompatible => Ok(ProviderKind::OpenAiCompatible),
            Provider::Ideogram => Ok(ProviderKind::Ideogram),
            Provider::Anthropic => Err(ApiError::invalid_field(
                "model",
                format!(
                    "'{}' is an anthropic model; anthropic has no image generation (use an OpenAI, \
                     OpenAI-compatible or Ideogram model)",
                    clip(&self.model)
                ),
            )),
        }
    }

    /// The associated data the provider key was sealed with.
    pub fn key_aad(&self, instance_id: &str) -> String {
        format!("{instance_id}/{}", self.provider_key)
    }
}

/// The provider key a model uses by default: the one named like its provider.
pub fn default_key_name(provider: Provider) -> &'static str {
    match provider {
        Provider::Openai => "openai",
        Provider::Anthropic => "anthropic",
        Provider::OpenaiCompatible => "openai_compatible",
        Provider::Ideogram => "ideogram",
    }
}

/// A model name as it may appear in a message (bounded, so a huge name cannot flood an error).
pub fn clip(text: &str) -> String {
    text.chars().take(64).collect()
}

impl Catalog {
    pub fn new(
        models: Vec<ModelConfig>,
        keys: Vec<ProviderKeyEntry>,
        policies: Vec<Policy>,
    ) -> Catalog {
        Catalog {
            models: models.into_iter().map(|m| (m.id.clone(), m)).collect(),
            keys: keys.into_iter().map(|k| (k.name.clone(), k)).collect(),
            policies,
            budget_scopes: Default::default(),
        }
    }

    /// The catalog, knowing which scopes have budgets.
    pub fn with_budget_scopes(mut self, scopes: impl IntoIterator<Item = String>) -> Catalog {
        self.budget_scopes = scopes.into_iter().collect();
        self
    }

    /// Whether any scope of `chain` has a budget.
    pub fn has_budget(&self, chain: &[String]) -> bool {
        chain.iter().any(|scope| self.budget_scopes.contains(scope))
    }

    /// Resolves a model id of the instance, or `provider_key/upstream_model` — which must match a model
    /// config using that key and upstream model (so a direct name gets that config's prices, caps and
    /// `enabled`; there is no unpriced, uncapped way around the catalog). `None` when nothing matches.
    pub fn route(&self, model: &str) -> Option<Route> {
        let config = self.models.get(model).or_else(|| {
            let (key_name, upstream) = model.split_once('/')?;
            let mut matching: Vec<&ModelConfig> = self
                .models
                .values()
                .filter(|c| c.upstream_model == upstream && key_name_of(c) == key_name)
                .collect();
            // Deterministic whichever order the map holds them in.
            matching.sort_by(|a, b| a.id.cmp(&b.id));
            matching.first().copied()
        })?;
        let key_name = key_name_of(config);
        let key = self.keys.get(&key_name);
        Some(Route {
            model: model.to_string(),
            config: config.clone(),
            sealed_key: key.map(|k| k.sealed_key.clone()),
            base_url: key.and_then(|k| k.base_url.clone()),
            key_updated_at: key.map_or(0, |k| k.updated_at),
            provider_key: key_name,
        })
    }

    /// The limits that apply to one key calling one provider key: a specific policy wins over the `*`
    /// one (whole: a specific policy that sets only `images_per_minute` leaves text unlimited). `None` in
    /// a slot when no policy applies or the one chosen limits neither requests nor tokens.
    pub fn limits_for(&self, key_id: &str, provider_key: &str) -> (Option<Limit>, Option<Limit>) {
        let text = |p: &Policy| {
            let limit = Limit {
                requests_per_minute: p.requests_per_minute,
                tokens_per_minute: p.tokens_per_minute,
            };
            (limit != Limit::default()).then_some(limit)
        };
        (
            self.pick("key", key_id, text),
            self.pick("provider", provider_key, text),
        )
    }

    /// The limits of image generation for one key calling one provider key, chosen like
    /// [`Catalog::limits_for`] (the specific policy replaces the `*` one whole). The limiter's tokens are
    /// images here: `requests_per_minute` and `images_per_minute` of the policy, counted on scopes of
    /// their own (`…:images`), so images never fill a key's text windows nor text its image windows.
    /// `None` in a slot when the chosen policy limits neither.
    pub fn image_limits_for(
        &self,
        key_id: &str,
        provider_key: &str,
    ) -> (Option<Limit>, Option<Limit>) {
        let images = |p: &Policy| {
            let limit = Limit {
                requests_per_minute: p.requests_per_minute,
                tokens_per_minute: p.images_per_minute,
            };
            (limit != Limit::default()).then_some(limit)
        };
        (
            self.pick("key", key_id, images),
            self.pick("provider", provider_key, images),
        )
    }

    /// The policy of `scope` for `target` (else its `*` policy), read by `limit`.
    fn pick(
        &self,
        scope: &str,
        target: &str,
        limit: impl Fn(&Policy) -> Option<Limit>,
    ) -> Option<Limit> {
        let of_scope = || self.policies.iter().filter(move |p| p.scope == scope);
        of_scope()
            .find(|p| p.target == target)
            .or_else(|| of_scope().find(|p| p.target == "*"))
            .and_then(limit)
    }
}

fn key_name_of(config: &ModelConfig) -> String {
    config
        .provider_key
        .clone()
        .unwrap_or_else(|| default_key_name(config.provider).to_string())
}

#[cfg(test)]
pub(crate) mod tests;
