//! A user's role in an org and an API key's scopes.

use crate::label::labels;

labels! {
    /// A user's role in an org; caps what that user's keys may do.
    pub enum Role ("role") {
        Owner => "owner",
        Admin => "admin",
        Member => "member",
        Viewer => "viewer",
    }
}

labels! {
    /// What an API key may be used for.
    pub enum Scope ("scope") {
        /// The tenant API (generation).
        Generate => "generate",
        AdminRead => "admin:read",
        /// Implies `admin:read`.
        AdminWrite => "admin:write",
    }
}

impl Role {
    /// Owners and admins manage the org (its record, users and instances) and may change
    /// anything their keys' scopes allow; members and viewers may change nothing.
    pub fn manages_org(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    /// Where the role stands: a user may hand out nothing above their own rank.
    pub fn rank(self) -> u8 {
        match self {
            Role::Owner => 3,
            Role::Admin => 2,
            Role::Member => 1,
            Role::Viewer => 0,
        }
    }
}

/// What a set of scopes allows (`admin:write` implies `admin:read`).
pub trait Scopes {
    fn allows_read(&self) -> bool;
    fn allows_write(&self) -> bool;
    fn allows_generate(&self) -> bool;
    /// Whether these scopes cover `scope`, counting the implication above.
    fn covers(&self, scope: Scope) -> bool;
}

impl Scopes for [Scope] {
    fn allows_read(&self) -> bool {
        self.contains(&Scope::AdminRead) || self.contains(&Scope::AdminWrite)
    }

    fn allows_write(&self) -> bool {
        self.contains(&Scope::AdminWrite)
    }

    fn allows_generate(&self) -> bool {
        self.contains(&Scope::Generate)
    }

    fn covers(&self, scope: Scope) -> bool {
        match scope {
            Scope::Generate => self.allows_generate(),
            Scope::AdminRead => self.allows_read(),
            Scope::AdminWrite => self.allows_write(),
        }
    }
}

/// Reads the scopes column (a JSON array of names) tolerantly: anything that is not a known
/// scope name is dropped, as are repeats, and text that is not an array yields no scopes.
pub fn parse_scopes(json_text: &str) -> Vec<Scope> {
    let Ok(values) = serde_json::from_str::<Vec<serde_json::Value>>(json_text) else {
        return Vec::new();
    };
    let mut scopes = Vec::with_capacity(values.len());
    for scope in values
        .iter()
        .filter_map(serde_json::Value::as_str)
        .filter_map(|name| name.parse::<Scope>().ok())
    {
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    scopes
}

/// The scopes column text for `scopes` (a JSON array of names).
pub fn scopes_json(scopes: &[Scope]) -> String {
    let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    serde_json::to_string(&names).unwrap_or_else(|_| "[]".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), *role);
            let json = serde_json::to_string(role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), *role);
        }
        assert_eq!(Role::Viewer.to_string(), "viewer");
    }

    #[test]
    fn unknown_names_list_the_accepted_ones() {
        let err = "Owner".parse::<Role>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown role \"Owner\" (expected owner, admin, member, viewer)"
        );
        let err = serde_json::from_str::<Vec<Scope>>(r#"["generate","admin"]"#).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("unknown scope \"admin\" (expected generate, admin:read, admin:write)"));
    }

    #[test]
    fn echo_of_unknown_input_is_bounded() {
        let long = "x".repeat(10_000);
        let message = long.parse::<Scope>().unwrap_err().to_string();
        assert!(message.len() < 200, "{}", message.len());
    }

    #[test]
    fn scopes_serialize_as_wire_names() {
        let json = serde_json::to_string(Scope::ALL).unwrap();
        assert_eq!(json, r#"["generate","admin:read","admin:write"]"#);
        assert_eq!(scopes_json(&[Scope::AdminWrite]), r#"["admin:write"]"#);
    }

    #[test]
    fn parse_scopes_is_tolerant() {
        assert_eq!(
            parse_scopes(r#"["generate","admin","admin:write",3,null,"generate"]"#),
            vec![Scope::Generate, Scope::AdminWrite]
        );
        assert_eq!(parse_scopes("not json"), vec![]);
        assert_eq!(parse_scopes(r#"{"a":1}"#), vec![]);
        assert_eq!(parse_scopes("[]"), vec![]);
        let all = scopes_json(Scope::ALL);
        assert_eq!(parse_scopes(&all), Scope::ALL.to_vec());
    }

    #[test]
    fn write_implies_read() {
        let cases: [(&[Scope], bool, bool, bool); 5] = [
            (&[], false, false, false),
            (&[Scope::Generate], false, false, true),
            (&[Scope::AdminRead], true, false, false),
            (&[Scope::AdminWrite], true, true, false),
            (Scope::ALL, true, true, true),
        ];
        for (scopes, read, write, generate) in cases {
            assert_eq!(scopes.allows_read(), read, "{scopes:?}");
            assert_eq!(scopes.allows_write(), write, "{scopes:?}");
            assert_eq!(scopes.allows_generate(), generate, "{scopes:?}");
            assert_eq!(scopes.covers(Scope::AdminRead), read);
        }
        let owned: Vec<Scope> = [Scope::AdminWrite].into();
        assert!(owned.allows_read());
    }
}
