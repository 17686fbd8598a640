//! Bodies that create or rename orgs, instances and projects.

use envelope::ApiError;
use serde::Deserialize;

use super::{name, optional, slug, trimmed, trimmed_opt, Validate};

/// `POST /admin/orgs`
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NewOrg {
    #[serde(deserialize_with = "trimmed")]
    pub name: String,
    pub slug: String,
}

/// `PATCH /admin/orgs/{org_id}`
#[derive(Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct OrgPatch {
    #[serde(default, deserialize_with = "trimmed_opt")]
    pub name: Option<String>,
}

/// `POST /admin/orgs/{org_id}/instances`
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NewInstance {
    #[serde(deserialize_with = "trimmed")]
    pub name: String,
    pub slug: String,
}

/// `PATCH /admin/instances/{instance_id}`
#[derive(Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct InstancePatch {
    #[serde(default, deserialize_with = "trimmed_opt")]
    pub name: Option<String>,
}

/// `POST /admin/instances/{instance_id}/projects`
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    #[serde(deserialize_with = "trimmed")]
    pub name: String,
    pub slug: String,
}

/// `PATCH /admin/projects/{project_id}`
#[derive(Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct ProjectPatch {
    #[serde(default, deserialize_with = "trimmed_opt")]
    pub name: Option<String>,
}

fn named_and_slugged(name_value: &str, slug_value: &str) -> Result<(), ApiError> {
    name("name", name_value)?;
    slug("slug", slug_value)
}

impl Validate for NewOrg {
    fn validate(&self, _now_ms: i64) -> Result<(), ApiError> {
        named_and_slugged(&self.name, &self.slug)
    }
}

impl Validate for NewInstance {
    fn validate(&self, _now_ms: i64) -> Result<(), ApiError> {
        named_and_slugged(&self.name, &self.slug)
    }
}

impl Validate for NewProject {
    fn validate(&self, _now_ms: i64) -> Result<(), ApiError> {
        named_and_slugged(&self.name, &self.slug)
    }
}

impl Validate for OrgPatch {
    fn validate(&self, _now_ms: i64) -> Result<(), ApiError> {
        optional("name", self.name.as_deref(), name)
    }
}

impl Validate for InstancePatch {
    fn validate(&self, _now_ms: i64) -> Result<(), ApiError> {
        optional("name", self.name.as_deref(), name)
    }
}

impl Validate for ProjectPatch {
    fn validate(&self, _now_ms: i64) -> Result<(), ApiError> {
        optional("name", self.name.as_deref(), name)
    }
}
