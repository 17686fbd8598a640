//! Admin request bodies and their validation.
//!
//! Every body rejects unknown fields. Shape problems are `400 invalid_field` (from
//! `envelope::parse_json` or from [`Validate::validate`]); valid JSON with a value that makes no
//! sense (a past expiry, a missing `base_url` for `openai_compatible`, a duplicate) is
//! `422 invalid_value`. Messages start with the field's name.

use envelope::ApiError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

mod budget;
mod hierarchy;
mod key;
mod model;
mod nullable;
mod policy;
mod provider;
mod user;

pub use budget::{budget_path, BudgetInput, BudgetScope};
pub use hierarchy::{InstancePatch, NewInstance, NewOrg, NewProject, OrgPatch, ProjectPatch};
pub use key::{KeyEnvironment, NewApiKey};
pub use model::{
    model_id, Capability, ImagePrices, ModelConfigPatch, NewModelConfig, IMAGE_QUALITIES,
    MAX_IMAGE_PRICES,
};
pub use policy::{policy_path, PolicyScope, RateLimitInput};
pub use provider::{check_upstream, resolve_provider, url_host, Provider, ProviderKeyInput};
pub use user::{email, NewUser, UserPatch};

pub const NAME_MAX_CHARS: usize = 64;
pub const SLUG_MAX_CHARS: usize = 48;

/// The checks serde cannot express. `now_ms` is for values that must lie in the future.
pub trait Validate {
    fn validate(&self, now_ms: i64) -> Result<(), ApiError>;
}

/// Parses an admin body with `envelope::parse_json`, then validates it.
pub fn parse_input<T: DeserializeOwned + Validate>(
    body: &[u8],
    now_ms: i64,
) -> Result<T, ApiError> {
    let input: T = envelope::parse_object(body)?;
    input.validate(now_ms)?;
    Ok(input)
}

/// A display name: 1–64 characters after trimming, no control characters.
pub fn name(field: &str, value: &str) -> Result<(), ApiError> {
    let value = value.trim();
    if !(1..=NAME_MAX_CHARS).contains(&value.chars().count()) {
        return Err(ApiError::invalid_field(
            field,
            format!("must be 1-{NAME_MAX_CHARS} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// A slug: 1–48 characters of `a-z 0-9 -`, starting with a letter or digit.
pub fn slug(field: &str, value: &str) -> Result<(), ApiError> {
    let bytes = value.as_bytes();
    let well_formed = (1..=SLUG_MAX_CHARS).contains(&bytes.len())
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
    if well_formed {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            field,
            format!(
                "must be 1-{SLUG_MAX_CHARS} characters of a-z, 0-9 and -, starting with a letter or digit"
            ),
        ))
    }
}

/// Checks an optional field with `check` when it is present.
fn optional(
    field: &str,
    value: Option<&str>,
    check: fn(&str, &str) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    value.map_or(Ok(()), |value| check(field, value))
}

/// `422` naming the first element of `items` that repeats an earlier one.
fn no_duplicates<T: PartialEq>(field: &str, items: &[T]) -> Result<(), ApiError> {
    let repeat = items
        .iter()
        .enumerate()
        .position(|(i, item)| items.iter().take(i).any(|earlier| earlier == item));
    match repeat {
        Some(index) => Err(ApiError::unprocessable(
            &format!("{field}[{index}]"),
            "listed twice",
        )),
        None => Ok(()),
    }
}

/// Names are stored trimmed; trimming while decoding means no caller can forget it.
fn trimmed<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    Ok(match text.trim() {
        trimmed if trimmed.len() == text.len() => text,
        trimmed => trimmed.to_string(),
    })
}

/// For optional fields with `#[serde(default)]`: absent is `None`, but an explicit `null` is refused
/// (a name cannot be cleared).
fn trimmed_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let text = String::deserialize(deserializer)?;
    Ok(Some(text.trim().to_string()))
}

#[cfg(test)]
mod tests;
