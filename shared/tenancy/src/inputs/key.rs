//! The body that creates an API key.

use envelope::ApiError;
use serde::Deserialize;

use super::{name, no_duplicates, trimmed, Validate};
use crate::ids::{self, IdKind};
use crate::label::labels;
use crate::roles::Scope;

labels! {
    /// Which secret prefix a key gets (`de_live_` or `de_test_`); no other effect here.
    pub enum KeyEnvironment ("environment") {
        Live => "live",
        Test => "test",
    }
}

/// `POST /admin/instances/{instance_id}/keys`
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    #[serde(deserialize_with = "trimmed")]
    pub name: String,
    #[serde(default)]
    pub scopes: Option<Vec<Scope>>,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub expires_at: Option<i64>,
    #[serde(default)]
    pub environment: Option<KeyEnvironment>,
    /// The model ids (or `provider/model` names) this key may call; absent = every model of the instance.
    #[serde(default)]
    pub models: Option<Vec<String>>,
}

impl NewApiKey {
    /// The requested scopes, `["generate"]` when none were given.
    pub fn scopes(&self) -> Vec<Scope> {
        self.scopes.clone().unwrap_or_else(|| vec![Scope::Generate])
    }

    /// The requested environment, `live` when none was given.
    pub fn environment(&self) -> KeyEnvironment {
        self.environment.unwrap_or(KeyEnvironment::Live)
    }
}

impl Validate for NewApiKey {
    fn validate(&self, now_ms: i64) -> Result<(), ApiError> {
        name("name", &self.name)?;
        if let Some(scopes) = &self.scopes {
            if scopes.is_empty() {
                return Err(ApiError::unprocessable("scopes", "must not be empty"));
            }
            no_duplicates("scopes", scopes)?;
        }
        if let Some(models) = &self.models {
            allowed_models(models)?;
        }
        id_field("project_id", self.project_id.as_deref(), IdKind::Project)?;
        id_field("user_id", self.user_id.as_deref(), IdKind::User)?;
        match self.expires_at {
            Some(at) if at <= now_ms => Err(ApiError::unprocessable(
                "expires_at",
                "must be in the future",
            )),
            _ => Ok(()),
        }
    }
}

fn id_field(field: &str, value: Option<&str>, kind: IdKind) -> Result<(), ApiError> {
    match value {
        Some(id) if !ids::is_valid(kind, id) => Err(ApiError::invalid_field(
            field,
            format!("not a valid {} id", kind.noun()),
        )),
        _ => Ok(()),
    }
}

/// At most 100 distinct model names, each a model id or `provider/model`.
fn allowed_models(models: &[String]) -> Result<(), ApiError> {
    if models.is_empty() || models.len() > 100 {
        return Err(ApiError::unprocessable(
            "models",
            "must list 1-100 models (omit it to allow every model)",
        ));
    }
    for (i, model) in models.iter().enumerate() {
        super::model_id(&format!("models[{i}]"), model)?;
    }
    no_duplicates("models", models)
}
