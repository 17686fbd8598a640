//! What an actor may hand out. A key that is created or rotated (a rotation hands out a fresh secret for
//! it) never exceeds the key that asks for it in role, project, scopes, models or expiry; and only owners
//! (and the platform) create, promote, demote or delete owners.
//!
//! Service keys (no user) count as below an org admin: they may issue service keys and keys of members
//! and viewers, never keys of owners or admins. The platform token may do everything.

use envelope::ApiError;

use super::{grantable_scopes, role_forbids};
use crate::principal::{Actor, Principal};
use crate::roles::Role;
use crate::roles::Scope;

/// The key an actor asks to issue: a new key, or an existing one about to get a fresh secret.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KeyGrant<'a> {
    pub project_id: Option<&'a str>,
    /// The current role of the user the key belongs to; `None` for a service key.
    pub user_role: Option<Role>,
    pub scopes: &'a [Scope],
    /// `None`: every model of the instance.
    pub models: Option<&'a [String]>,
    pub expires_at: Option<i64>,
}

/// `403` when `grant` would exceed what `actor` holds: `forbidden` (project binding), `role_forbids`
/// (user role), `insufficient_scope` (scopes) or `exceeds_creator` (models, expiry).
pub fn check_grant(actor: &Actor, grant: &KeyGrant) -> Result<(), ApiError> {
    let Actor::Key(creator) = actor else {
        return Ok(());
    };
    check_project(creator, grant.project_id)?;
    check_user_role(creator.role, grant.user_role)?;
    grantable_scopes(actor, grant.scopes)?;
    check_models(creator.allowed_models.as_deref(), grant.models)?;
    check_expiry(creator.expires_at, grant.expires_at)
}

fn check_project(creator: &Principal, project_id: Option<&str>) -> Result<(), ApiError> {
    match creator.project_id.as_deref() {
        Some(bound) if project_id != Some(bound) => Err(ApiError::forbidden(
            "forbidden",
            "a project-scoped key may only issue keys of its own project",
        )),
        _ => Ok(()),
    }
}

fn check_user_role(creator: Option<Role>, user: Option<Role>) -> Result<(), ApiError> {
    let Some(user) = user else {
        return Ok(());
    };
    match creator {
        Some(creator) if user.rank() > creator.rank() => Err(role_forbids(&format!(
            "{}'s API key cannot issue keys of {}",
            with_article(creator),
            with_article(user)
        ))),
        None if user.manages_org() => Err(role_forbids(&format!(
            "a service key cannot issue keys of an org {user}"
        ))),
        _ => Ok(()),
    }
}

fn with_article(role: Role) -> String {
    match role {
        Role::Owner | Role::Admin => format!("an {role}"),
        Role::Member | Role::Viewer => format!("a {role}"),
    }
}

fn exceeds(message: String) -> ApiError {
    ApiError::forbidden("exceeds_creator", message)
}

fn check_models(creator: Option<&[String]>, asked: Option<&[String]>) -> Result<(), ApiError> {
    let Some(allowed) = creator else {
        return Ok(());
    };
    let Some(asked) = asked else {
        return Err(exceeds(
            "models: this API key may use only some models, so it cannot issue a key for every model; \
             list the models"
                .to_string(),
        ));
    };
    match asked
        .iter()
        .enumerate()
        .find(|(_, model)| !allowed.contains(model))
    {
        Some((index, model)) => Err(exceeds(format!(
            "models[{index}]: this API key may not use {model}, so it cannot grant it"
        ))),
        None => Ok(()),
    }
}

fn check_expiry(creator: Option<i64>, asked: Option<i64>) -> Result<(), ApiError> {
    match (creator, asked) {
        (Some(limit), None) => Err(exceeds(format!(
            "expires_at: this API key expires (at {limit}), so it cannot issue a key that never expires"
        ))),
        (Some(limit), Some(at)) if at > limit => Err(exceeds(format!(
            "expires_at: must be at most {limit}, when this API key expires"
        ))),
        _ => Ok(()),
    }
}

/// A change to a user of an org, as [`check_user_change`] judges it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserChange {
    Create(Role),
    /// `to` is the new role, `None` when the role stays.
    Update {
        from: Role,
        to: Option<Role>,
    },
    Delete(Role),
}

/// `403 role_forbids` when anyone but an owner's key (or the platform) would create, promote to, demote
/// from or delete an owner.
pub fn check_user_change(actor: &Actor, change: UserChange) -> Result<(), ApiError> {
    let Actor::Key(key) = actor else {
        return Ok(());
    };
    if key.role == Some(Role::Owner) {
        return Ok(());
    }
    let touches_owner = match change {
        UserChange::Create(role) | UserChange::Delete(role) => role == Role::Owner,
        UserChange::Update { from, to } => {
            to.is_some_and(|to| to != from) && (from == Role::Owner || to == Some(Role::Owner))
        }
    };
    if touches_owner {
        return Err(role_forbids(
            "only an org owner may create, promote, demote or delete owners",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
