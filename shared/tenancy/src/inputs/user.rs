//! Bodies that add or change the users of an org.

use envelope::ApiError;
use serde::Deserialize;

use super::{name, no_duplicates, optional, trimmed, trimmed_opt, Validate};
use crate::ids::{self, IdKind};
use crate::roles::Role;

pub const EMAIL_MAX_CHARS: usize = 254;
pub const MAX_INSTANCE_IDS: usize = 100;

/// `POST /admin/orgs/{org_id}/users`
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[serde(deserialize_with = "trimmed")]
    pub email: String,
    #[serde(deserialize_with = "trimmed")]
    pub name: String,
    pub role: Role,
    /// Instances a member or viewer may hold keys for (owners and admins reach all).
    #[serde(default)]
    pub instance_ids: Vec<String>,
}

impl NewUser {
    /// The email as stored (and compared for duplicates): lower-cased.
    pub fn normalized_email(&self) -> String {
        self.email.to_lowercase()
    }
}

impl Validate for NewUser {
    fn validate(&self, _now_ms: i64) -> Result<(), ApiError> {
        email("email", &self.email)?;
        name("name", &self.name)?;
        instance_ids("instance_ids", &self.instance_ids)
    }
}

/// `PATCH /admin/users/{user_id}`; `instance_ids` replaces the whole set.
#[derive(Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[serde(default, deserialize_with = "trimmed_opt")]
    pub name: Option<String>,
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub instance_ids: Option<Vec<String>>,
}

impl Validate for UserPatch {
    fn validate(&self, _now_ms: i64) -> Result<(), ApiError> {
        optional("name", self.name.as_deref(), name)?;
        match &self.instance_ids {
            Some(list) => instance_ids("instance_ids", list),
            None => Ok(()),
        }
    }
}

/// A basic shape check, not RFC 5322: one `@` with text on both sides, at most 254
/// characters, no whitespace or control characters.
pub fn email(field: &str, value: &str) -> Result<(), ApiError> {
    let well_formed = value.chars().count() <= EMAIL_MAX_CHARS
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    if well_formed {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            field,
            "must be an email address such as name@example.com",
        ))
    }
}

fn instance_ids(field: &str, list: &[String]) -> Result<(), ApiError> {
    if list.len() > MAX_INSTANCE_IDS {
        return Err(ApiError::invalid_field(
            field,
            format!("at most {MAX_INSTANCE_IDS} instances"),
        ));
    }
    if let Some(index) = list
        .iter()
        .position(|id| !ids::is_valid(IdKind::Instance, id))
    {
        return Err(ApiError::invalid_field(
            &format!("{field}[{index}]"),
            "not a valid instance id",
        ));
    }
    no_duplicates(field, list)
}
