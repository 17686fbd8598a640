//! Who is calling: the platform administrator (bootstrap token) or an API key resolved to its
//! place in the tenancy tree. The serde form of [`Principal`] is what the KV cache holds.

use envelope::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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
}

impl Principal {
    /// Whether this key may call `model` (a model id or `provider/model`).
    pub fn may_use_model(&self, model: &str) -> bool {
        self.allowed_models
            .as_ref()
            .is_none_or(|allowed| allowed.iter().any(|m| m == model))
    }

    /// `401 key_revoked` once revoked, `401 key_expired` from `expires_at` on.
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
}
