//! Who is calling: the platform administrator (bootstrap token) or an API key resolved to its
//! place in the tenancy tree. The serde form of [`Principal`] is what the KV cache holds.

use envelope::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::access;
use crate::roles::{Role, Scope};

/// An API key resolved from D1 (or the KV cache). Holds no hash and no secret.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Principal {
    pub key_id: String,
    pub key_prefix: String,
    pub name: String,
    pub org_id: String,
    pub instance_id: String,
    pub project_id: Option<String>,
    pub user_id: Option<String>,
    /// The owning user's current role; `None` for a service key.
    pub role: Option<Role>,
    pub scopes: Vec<Scope>,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// The models this key may use; `None` means every model of its instance.
    #[serde(default)]
    pub allowed_models: Option<Vec<String>>,
    /// The key's user no longer reaches the key's instance (see [`Principal::with_standing`]).
    #[serde(default)]
    pub access_revoked: bool,
}

impl Principal {
    /// Whether this key may call `model` (a model id or `provider/model`).
    pub fn may_use_model(&self, model: &str) -> bool {
        self.allowed_models
            .as_ref()
            .is_none_or(|allowed| allowed.iter().any(|m| m == model))
    }

    /// Applies the owning user's standing as read together with the key: its scopes capped by the user's
    /// current role ([`access::effective_scopes`]), and whether the user still reaches the key's instance
    /// (owners and admins reach all; members and viewers those they were `granted`). A user key whose user
    /// or role cannot be read is refused rather than trusted. Service keys are left as they are.
    pub fn with_standing(mut self, granted: bool) -> Principal {
        if self.user_id.is_none() {
            return self;
        }
        match self.role {
            Some(role) => {
                self.scopes = access::effective_scopes(Some(role), &self.scopes);
                self.access_revoked = !(role.manages_org() || granted);
            }
            None => {
                self.scopes.clear();
                self.access_revoked = true;
            }
        }
        self
    }

    /// `401 key_revoked` once revoked, `401 key_expired` from `expires_at` on, `403
    /// instance_access_revoked` once its user lost access to the key's instance.
    pub fn check_usable(&self, now_ms: i64) -> Result<(), ApiError> {
        if self.revoked_at.is_some() {
            return Err(ApiError::unauthorized(
                "key_revoked",
                "this API key has been revoked",
            ));
        }
        match self.expires_at {
            Some(expires_at) if expires_at <= now_ms => Err(ApiError::unauthorized(
                "key_expired",
                "this API key has expired",
            )),
            _ if self.access_revoked => Err(ApiError::forbidden(
                "instance_access_revoked",
                "the user this API key belongs to no longer has access to its instance",
            )),
            _ => Ok(()),
        }
    }
}

/// The caller of an admin or tenant request.
// Not boxed: one `Actor` exists per request, and callers match on `Key(principal)` directly.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Actor {
    /// The bootstrap admin token: may do everything.
    Platform,
    Key(Principal),
}

impl Actor {
    /// The `GET /v1/me` body. Never contains a hash or a secret.
    pub fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("object".into(), "principal".into());
        let Actor::Key(key) = self else {
            body.insert("kind".into(), "platform_admin".into());
            return Value::Object(body);
        };
        let scopes = key.scopes.iter().map(|s| Value::from(s.as_str())).collect();
        let models = key
            .allowed_models
            .as_ref()
            .map(|m| m.iter().map(|id| Value::from(id.as_str())).collect());
        let fields: [(&str, Value); 12] = [
            ("kind", "api_key".into()),
            ("key_id", key.key_id.as_str().into()),
            ("key_prefix", key.key_prefix.as_str().into()),
            ("name", key.name.as_str().into()),
            ("org_id", key.org_id.as_str().into()),
            ("instance_id", key.instance_id.as_str().into()),
            ("project_id", key.project_id.as_deref().into()),
            ("user_id", key.user_id.as_deref().into()),
            ("role", key.role.map(Role::as_str).into()),
            ("scopes", Value::Array(scopes)),
            ("expires_at", key.expires_at.into()),
            ("allowed_models", models.map_or(Value::Null, Value::Array)),
        ];
        body.extend(fields.into_iter().map(|(k, v)| (k.to_string(), v)));
        Value::Object(body)
    }

    /// How the audit log names this actor: `platform` or `key:<key_id>`.
    pub fn audit_name(&self) -> String {
        match self {
            Actor::Platform => "platform".to_string(),
            Actor::Key(key) => format!("key:{}", key.key_id),
        }
    }

    /// The API key behind this actor, if any.
    pub fn principal(&self) -> Option<&Principal> {
        match self {
            Actor::Platform => None,
            Actor::Key(key) => Some(key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key() -> Principal {
        Principal {
            key_id: "key_01ARYZ6S410000000000000000".into(),
            key_prefix: "de_test_AbCd".into(),
            name: "ci".into(),
            org_id: "org_01ARYZ6S410000000000000000".into(),
            instance_id: "ins_01ARYZ6S410000000000000000".into(),
            project_id: None,
            user_id: None,
            role: None,
            scopes: vec![Scope::Generate],
            expires_at: None,
            revoked_at: None,
            allowed_models: None,
            access_revoked: false,
        }
    }

    #[test]
    fn me_body_for_a_key_matches_the_docs() {
        let body = Actor::Key(key()).to_json();
        assert_eq!(
            body,
            json!({"object":"principal","kind":"api_key","key_id":"key_01ARYZ6S410000000000000000",
                "key_prefix":"de_test_AbCd","name":"ci","org_id":"org_01ARYZ6S410000000000000000",
                "instance_id":"ins_01ARYZ6S410000000000000000","project_id":null,"user_id":null,
                "role":null,"scopes":["generate"],"expires_at":null,"allowed_models":null})
        );
    }

    #[test]
    fn me_body_shows_role_and_binding() {
        let mut p = key();
        p.project_id = Some("prj_x".into());
        p.user_id = Some("usr_x".into());
        p.role = Some(Role::Member);
        p.scopes = vec![Scope::Generate, Scope::AdminRead];
        p.expires_at = Some(99);
        let body = Actor::Key(p).to_json();
        assert_eq!(body["project_id"], "prj_x");
        assert_eq!(body["role"], "member");
        assert_eq!(body["scopes"], json!(["generate", "admin:read"]));
        assert_eq!(body["expires_at"], 99);
        assert!(body.get("revoked_at").is_none());
    }

    #[test]
    fn model_allow_list() {
        let mut p = key();
        assert!(p.may_use_model("anything"));
        p.allowed_models = Some(vec!["gpt-4o-mini".into()]);
        assert!(p.may_use_model("gpt-4o-mini"));
        assert!(!p.may_use_model("openai/gpt-4o"));
        assert_eq!(
            Actor::Key(p).to_json()["allowed_models"],
            json!(["gpt-4o-mini"])
        );
    }

    #[test]
    fn me_body_for_the_platform() {
        assert_eq!(
            Actor::Platform.to_json(),
            json!({"object":"principal","kind":"platform_admin"})
        );
    }

    #[test]
    fn audit_names() {
        assert_eq!(Actor::Platform.audit_name(), "platform");
        assert_eq!(
            Actor::Key(key()).audit_name(),
            "key:key_01ARYZ6S410000000000000000"
        );
    }

    #[test]
    fn cache_form_round_trips() {
        let mut p = key();
        p.role = Some(Role::Owner);
        p.revoked_at = Some(5);
        let text = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<Principal>(&text).unwrap(), p);
    }

    #[test]
    fn usable_until_revoked_or_expired() {
        let mut p = key();
        assert!(p.check_usable(1_000).is_ok());
        p.expires_at = Some(1_001);
        assert!(p.check_usable(1_000).is_ok());
        let err = p.check_usable(1_001).unwrap_err();
        assert_eq!((err.status(), &*err.code), (401, "key_expired"));
        p.revoked_at = Some(10);
        let err = p.check_usable(0).unwrap_err();
        assert_eq!((err.status(), &*err.code), (401, "key_revoked"));
    }

    #[test]
    fn a_demoted_user_key_loses_what_the_new_role_forbids() {
        let mut p = key();
        p.user_id = Some("usr_x".into());
        p.role = Some(Role::Viewer);
        p.scopes = vec![Scope::Generate, Scope::AdminWrite];
        let p = p.with_standing(true);
        assert_eq!(p.scopes, vec![Scope::AdminRead]);
        assert!(p.check_usable(0).is_ok());
        assert_eq!(Actor::Key(p).to_json()["scopes"], json!(["admin:read"]));
    }

    #[test]
    fn a_key_whose_user_lost_the_instance_is_refused() {
        let mut p = key();
        p.user_id = Some("usr_x".into());
        p.role = Some(Role::Member);
        let refused = p.clone().with_standing(false);
        let err = refused.check_usable(0).unwrap_err();
        assert_eq!((err.status(), &*err.code), (403, "instance_access_revoked"));
        assert!(p.clone().with_standing(true).check_usable(0).is_ok());
        // Owners and admins reach every instance of their org without a grant.
        for role in [Role::Owner, Role::Admin] {
            p.role = Some(role);
            assert!(p.clone().with_standing(false).check_usable(0).is_ok());
        }
        // Revocation and expiry still answer first.
        let mut gone = refused.clone();
        gone.revoked_at = Some(1);
        assert_eq!(gone.check_usable(0).unwrap_err().code, "key_revoked");
    }

    #[test]
    fn a_user_key_without_a_readable_role_is_refused_and_service_keys_are_untouched() {
        let mut p = key();
        p.user_id = Some("usr_gone".into());
        let p = p.with_standing(true);
        assert!(p.scopes.is_empty());
        assert_eq!(
            p.check_usable(0).unwrap_err().code,
            "instance_access_revoked"
        );
        let service = key();
        assert_eq!(service.clone().with_standing(false), service);
    }

    #[test]
    fn cache_entries_written_before_the_flag_read_as_not_revoked() {
        let mut value = serde_json::to_value(key()).unwrap();
        value.as_object_mut().unwrap().remove("access_revoked");
        let p: Principal = serde_json::from_value(value).unwrap();
        assert!(!p.access_revoked);
    }
}
