//! Rate-limit policies: the body that sets one and the path parts that name it.

use envelope::ApiError;
use serde::Deserialize;

use super::Validate;
use crate::ids::{self, IdKind};

/// Upper bound on a per-minute limit, far above any real account, to catch unit mistakes.
pub const LIMIT_MAX: u64 = 1_000_000_000;

/// `PUT /admin/instances/{instance_id}/rate-limits/{scope}/{target}`
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RateLimitInput {
    #[serde(default)]
    pub requests_per_minute: Option<u64>,
    #[serde(default)]
    pub tokens_per_minute: Option<u64>,
    /// Images per minute, on the policy's image scopes (image requests count `requests_per_minute` there,
    /// apart from text requests).
    #[serde(default)]
    pub images_per_minute: Option<u64>,
}

impl Validate for RateLimitInput {
    fn validate(&self, _now_ms: i64) -> Result<(), ApiError> {
        let limits = [
            ("requests_per_minute", self.requests_per_minute),
            ("tokens_per_minute", self.tokens_per_minute),
            ("images_per_minute", self.images_per_minute),
        ];
        if limits.iter().all(|(_, value)| value.is_none()) {
            return Err(ApiError::unprocessable(
                "requests_per_minute",
                "set at least one of requests_per_minute, tokens_per_minute, images_per_minute",
            ));
        }
        for (field, value) in limits {
            if value.is_some_and(|n| n == 0 || n > LIMIT_MAX) {
                return Err(ApiError::unprocessable(
                    field,
                    format!("must be from 1 to {LIMIT_MAX}"),
                ));
            }
        }
        Ok(())
    }
}

/// What a policy limits: every call through one provider key, or every call of one API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyScope {
    Provider,
    Key,
}

impl PolicyScope {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyScope::Provider => "provider",
            PolicyScope::Key => "key",
        }
    }
}

/// Checks the `{scope}/{target}` path parts: `provider/<provider key name>` or `key/<key id>`, and `*`
/// for the instance-wide default of that scope.
pub fn policy_path(scope: &str, target: &str) -> Result<PolicyScope, ApiError> {
    let scope = match scope {
        "provider" => PolicyScope::Provider,
        "key" => PolicyScope::Key,
        _ => return Err(ApiError::invalid_field("scope", "must be provider or key")),
    };
    let valid = target == "*"
        || match scope {
            PolicyScope::Provider => super::slug("target", target).is_ok(),
            PolicyScope::Key => ids::is_valid(IdKind::Key, target),
        };
    if valid {
        Ok(scope)
    } else {
        Err(ApiError::invalid_field(
            "target",
            "must be * or a provider key name (provider scope) or a key id (key scope)",
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn needs_a_positive_limit() {
        let none = RateLimitInput {
            requests_per_minute: None,
            tokens_per_minute: None,
            images_per_minute: None,
        };
        assert_eq!(none.validate(0).unwrap_err().status(), 422);
        let zero = RateLimitInput {
            requests_per_minute: Some(0),
            tokens_per_minute: None,
            images_per_minute: None,
        };
        assert!(zero
            .validate(0)
            .unwrap_err()
            .message
            .starts_with("requests_per_minute"));
        let ok = RateLimitInput {
            requests_per_minute: Some(10),
            tokens_per_minute: Some(1000),
            images_per_minute: None,
        };
        assert!(ok.validate(0).is_ok());
    }

    #[test]
    fn images_per_minute_alone_is_a_limit_and_must_be_positive() {
        let images = |n: u64| RateLimitInput {
            requests_per_minute: None,
            tokens_per_minute: None,
            images_per_minute: Some(n),
        };
        assert!(images(5).validate(0).is_ok());
        let zero = images(0).validate(0).unwrap_err();
        assert_eq!(zero.status(), 422);
        assert!(
            zero.message.starts_with("images_per_minute"),
            "{}",
            zero.message
        );
        assert!(images(LIMIT_MAX + 1).validate(0).is_err());
        let body: RateLimitInput = serde_json::from_str(r#"{"images_per_minute":3}"#).unwrap();
        assert_eq!(body, images(3));
    }

    #[test]
    fn paths() {
        assert_eq!(
            policy_path("provider", "openai").unwrap(),
            PolicyScope::Provider
        );
        assert_eq!(policy_path("key", "*").unwrap(), PolicyScope::Key);
        assert!(policy_path("key", "openai").is_err());
        assert!(policy_path("model", "*").is_err());
        assert!(policy_path("provider", "Open AI").is_err());
    }
}
