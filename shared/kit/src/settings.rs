//! Settings: a worker's deploy-time vars and secrets (not the product configuration, which lives in D1).

use crate::bindings;
use crate::fault::Fault;
use worker::Env;

/// What the config worker reads from its environment.
pub struct Settings {
    pub admin_token: String,
    pub key_hash_secret: String,
    pub provider_key_secret: String,
    /// The scrape token of `GET /metrics`, when set.
    pub metrics_token: Option<String>,
    /// Set on a dedicated per-instance deployment: keys of other instances are refused.
    pub pinned_instance_id: Option<String>,
    /// Per-attempt upstream deadline.
    pub upstream_timeout_ms: u64,
    /// Total time an upstream call may take across retries.
    pub upstream_budget_ms: u64,
    /// Local development only: upstreams (and the image URLs they answer with) may be on loopback.
    pub allow_loopback_upstreams: bool,
}

thread_local! {
    /// Vars and secrets are fixed for an isolate's life (a new deploy or secret starts new isolates).
    static LOADED: std::cell::RefCell<Option<std::rc::Rc<Settings>>> = const { std::cell::RefCell::new(None) };
}

impl Settings {
    /// The settings, read from the environment once per isolate.
    pub fn load(env: &Env) -> Result<std::rc::Rc<Settings>, Fault> {
        if let Some(settings) = LOADED.with(|s| s.borrow().clone()) {
            return Ok(settings);
        }
        let settings = std::rc::Rc::new(Settings::read(env)?);
        LOADED.with(|s| *s.borrow_mut() = Some(settings.clone()));
        Ok(settings)
    }

    fn read(env: &Env) -> Result<Settings, Fault> {
        Ok(Settings {
            admin_token: secret(env, bindings::ADMIN_TOKEN)?,
            key_hash_secret: secret(env, bindings::KEY_HASH_SECRET)?,
            provider_key_secret: secret(env, bindings::PROVIDER_KEY_SECRET)?,
            metrics_token: env
                .secret(bindings::METRICS_TOKEN)
                .ok()
                .map(|v| v.to_string())
                .filter(|v| !v.is_empty()),
            pinned_instance_id: env
                .var(bindings::PINNED_INSTANCE_ID)
                .ok()
                .map(|v| v.to_string())
                .filter(|v| !v.is_empty()),
            upstream_timeout_ms: number(env, bindings::UPSTREAM_TIMEOUT_MS, 60_000),
            upstream_budget_ms: number(env, bindings::UPSTREAM_BUDGET_MS, 120_000),
            allow_loopback_upstreams: env
                .var(bindings::ALLOW_LOOPBACK_UPSTREAMS)
                .is_ok_and(|v| v.to_string() == "true"),
        })
    }
}

fn secret(env: &Env, name: &'static str) -> Result<String, Fault> {
    match env.secret(name) {
        Ok(value) if !value.to_string().is_empty() => Ok(value.to_string()),
        _ => Err(Fault::Misconfigured(name)),
    }
}

/// A positive integer var; unset means `default`. A value that does not parse is a deploy mistake: it is
/// logged (once per isolate, as settings are read once) and the default applies.
fn number(env: &Env, name: &str, default: u64) -> u64 {
    let Ok(value) = env.var(name) else {
        return default;
    };
    let text = value.to_string();
    match text.trim().parse::<u64>() {
        Ok(n) if n > 0 => n,
        _ => {
            worker::console_error!(
                "setting {} is not a positive integer ({:?}); using {}",
                name,
                text,
                default
            );
            default
        }
    }
}

thread_local! {
    /// The vault derived from `PROVIDER_KEY_SECRET` (a secret is fixed for an isolate's life).
    static VAULT: std::cell::RefCell<Option<std::rc::Rc<vault::Vault>>> = const { std::cell::RefCell::new(None) };
}

impl Settings {
    /// The provider-key vault, derived once per isolate.
    pub fn vault(&self) -> Result<std::rc::Rc<vault::Vault>, Fault> {
        if let Some(v) = VAULT.with(|v| v.borrow().clone()) {
            return Ok(v);
        }
        let v = std::rc::Rc::new(
            vault::Vault::from_secret(&self.provider_key_secret)
                .map_err(|e| Fault::Data(format!("PROVIDER_KEY_SECRET unusable: {e}")))?,
        );
        VAULT.with(|slot| *slot.borrow_mut() = Some(v.clone()));
        Ok(v)
    }
}
