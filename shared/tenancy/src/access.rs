//! "What a key may reach" (docs/api.md) as pure functions.
//!
//! Order of checks: first whether the target is within the key's reach at all (else `404`, so
//! other tenants' resources stay invisible), then the scope, then the role and project binding.

use envelope::ApiError;

use crate::principal::{Actor, Principal};
use crate::roles::{Role, Scope, Scopes};

mod grant;

pub use grant::{check_grant, check_user_change, KeyGrant, UserChange};

/// Whether a request reads or changes the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    Read,
    Write,
}

/// Where in the tenancy tree a request lands. A project target also names its instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target<'a> {
    pub org_id: &'a str,
    pub instance_id: Option<&'a str>,
    pub project_id: Option<&'a str>,
}

impl<'a> Target<'a> {
    /// The org itself: its record, its users, its instance list.
    pub fn org(org_id: &'a str) -> Self {
        Target {
            org_id,
            instance_id: None,
            project_id: None,
        }
    }

    /// An instance and its instance-level things (provider keys, models, audit).
    pub fn instance(org_id: &'a str, instance_id: &'a str) -> Self {
        Target {
            org_id,
            instance_id: Some(instance_id),
            project_id: None,
        }
    }

    pub fn project(org_id: &'a str, instance_id: &'a str, project_id: &'a str) -> Self {
        Target {
            org_id,
            instance_id: Some(instance_id),
            project_id: Some(project_id),
        }
    }

    /// Where an API key record lives: its project, or its instance when it has none.
    pub fn key(org_id: &'a str, instance_id: &'a str, project_id: Option<&'a str>) -> Self {
        Target {
            org_id,
            instance_id: Some(instance_id),
            project_id,
        }
    }

    /// What a `404` for this target calls it.
    fn noun(&self) -> &'static str {
        if self.project_id.is_some() {
            "project"
        } else if self.instance_id.is_some() {
            "instance"
        } else {
            "org"
        }
    }
}

/// Whether `actor` may `need` the `target`: `404` outside its reach, else `403` when a scope,
/// role or the key's project binding forbids it.
pub fn authorize(actor: &Actor, need: Need, target: &Target) -> Result<(), ApiError> {
    let Actor::Key(key) = actor else {
        return Ok(());
    };
    check_reach(key, target)?;
    match need {
        Need::Read if !key.scopes.allows_read() => Err(insufficient_scope(Scope::AdminRead)),
        Need::Read => Ok(()),
        Need::Write if !key.scopes.allows_write() => Err(insufficient_scope(Scope::AdminWrite)),
        Need::Write => check_write(key, target),
    }
}

fn check_reach(key: &Principal, target: &Target) -> Result<(), ApiError> {
    let other_instance = target
        .instance_id
        .is_some_and(|instance| instance != key.instance_id);
    let other_project = match (target.project_id, key.project_id.as_deref()) {
        (Some(project), Some(bound)) => project != bound,
        _ => false,
    };
    if key.org_id != target.org_id || other_instance || other_project {
        return Err(ApiError::not_found(target.noun()));
    }
    Ok(())
}

fn check_write(key: &Principal, target: &Target) -> Result<(), ApiError> {
    if let Some(role) = key.role.filter(|role| !role.manages_org()) {
        return Err(role_forbids(&format!(
            "a {role}'s API keys may not change admin resources"
        )));
    }
    let bound = key.project_id.is_some();
    if target.instance_id.is_none() {
        if key.role.is_none() {
            return Err(role_forbids(
                "only API keys of an org owner or admin may change organization settings",
            ));
        }
        if bound {
            return Err(ApiError::forbidden(
                "forbidden",
                "project-scoped keys cannot change organization settings",
            ));
        }
    } else if target.project_id.is_none() && bound {
        return Err(ApiError::forbidden(
            "forbidden",
            "project-scoped keys cannot change instance settings",
        ));
    }
    Ok(())
}

fn insufficient_scope(needed: Scope) -> ApiError {
    ApiError::forbidden(
        "insufficient_scope",
        format!("this API key lacks the {needed} scope"),
    )
}

fn role_forbids(message: &str) -> ApiError {
    ApiError::forbidden("role_forbids", message.to_string())
}

/// A key may only create keys with scopes it holds itself (`admin:write` covers `admin:read`).
pub fn grantable_scopes(actor: &Actor, requested: &[Scope]) -> Result<(), ApiError> {
    let Actor::Key(key) = actor else {
        return Ok(());
    };
    match requested.iter().find(|scope| !key.scopes.covers(**scope)) {
        Some(scope) => Err(ApiError::forbidden(
            "insufficient_scope",
            format!("this API key lacks the {scope} scope, so it cannot grant it"),
        )),
        None => Ok(()),
    }
}

/// The cap a user's role puts on a new key's scopes: members get no `admin:write`, viewers only
/// `admin:read`. Service keys (`role` is `None`) are not capped.
pub fn role_caps(role: Option<Role>, scopes: &[Scope]) -> Result<(), ApiError> {
    match role {
        Some(Role::Viewer) if scopes.iter().any(|s| *s != Scope::AdminRead) => Err(
            ApiError::unprocessable("scopes", "a viewer's key may only have admin:read"),
        ),
        Some(Role::Member) if scopes.contains(&Scope::AdminWrite) => Err(ApiError::unprocessable(
            "scopes",
            "a member's key cannot have admin:write",
        )),
        _ => Ok(()),
    }
}

/// The scopes a key may use now: its own, capped by its user's current role (the cap [`role_caps`] puts on
/// new keys, applied again when the key is resolved, so a demotion reaches existing keys). A member's
/// `admin:write` becomes `admin:read`; a viewer keeps at most `admin:read`. Service keys are not capped.
pub fn effective_scopes(role: Option<Role>, scopes: &[Scope]) -> Vec<Scope> {
    let capped = |scope: Scope| match (role, scope) {
        (Some(Role::Viewer), Scope::Generate) => None,
        (Some(Role::Viewer | Role::Member), Scope::AdminWrite) => Some(Scope::AdminRead),
        _ => Some(scope),
    };
    let mut out: Vec<Scope> = Vec::with_capacity(scopes.len());
    for scope in scopes.iter().filter_map(|s| capped(*s)) {
        if !out.contains(&scope) {
            out.push(scope);
        }
    }
    out
}

/// Whether a user may hold keys of an instance: owners and admins reach every instance of
/// their org, members and viewers only those they were given.
pub fn user_reaches_instance(role: Role, instance_ids: &[String], instance_id: &str) -> bool {
    role.manages_org() || instance_ids.iter().any(|id| id == instance_id)
}

/// The project an actor's lists must be narrowed to (a project-bound key sees only its own).
pub fn project_filter(actor: &Actor) -> Option<&str> {
    actor.principal().and_then(|key| key.project_id.as_deref())
}

/// The instance an actor's org-wide lists (instances, audit) must be narrowed to: a key sees only its
/// own instance unless its user manages the org and it is not bound to a project.
pub fn instance_filter(actor: &Actor) -> Option<&str> {
    let key = actor.principal()?;
    let manages_org = key.role.is_some_and(Role::manages_org) && key.project_id.is_none();
    (!manages_org).then_some(key.instance_id.as_str())
}

#[cfg(test)]
mod tests;
