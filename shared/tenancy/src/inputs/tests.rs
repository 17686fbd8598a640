use super::*;
use crate::roles::{Role, Scope};

const NOW: i64 = 1_700_000_000_000;
const INS: &str = "ins_01ARYZ6S410000000000000000";
const INS2: &str = "ins_01ARYZ6S410000000000000001";

fn parse<T: DeserializeOwned + Validate>(json: &str) -> Result<T, ApiError> {
    parse_input(json.as_bytes(), NOW)
}

/// `(status, code, message)` of a failed parse.
fn fails<T: DeserializeOwned + Validate + std::fmt::Debug>(json: &str) -> (u16, String, String) {
    let err = parse::<T>(json).unwrap_err();
    (err.status(), err.code.into_owned(), err.message)
}

#[test]
fn names_are_trimmed_and_bounded() {
    let ok = ["a", " Acme Corp ", &"é".repeat(64), "名前"];
    for value in ok {
        assert!(name("name", value).is_ok(), "{value:?}");
    }
    let bad = ["", "   ", &"x".repeat(65), "a\u{0}b", "tab\there"];
    for value in bad {
        let err = name("name", value).unwrap_err();
        assert_eq!(
            (err.status(), &*err.code),
            (400, "invalid_field"),
            "{value:?}"
        );
        assert!(err.message.starts_with("name: "), "{}", err.message);
    }
    let org: NewOrg = parse(r#"{"name":"  Acme  ","slug":"acme"}"#).unwrap();
    assert_eq!(org.name, "Acme");
}

#[test]
fn slugs_are_lowercase_words() {
    for value in ["a", "acme", "0-day", "local-llm", &"a".repeat(48)] {
        assert!(slug("slug", value).is_ok(), "{value:?}");
    }
    for value in ["", "-a", "Acme", "a_b", "a b", "é", &"a".repeat(49)] {
        let err = slug("slug", value).unwrap_err();
        assert_eq!(
            (err.status(), &*err.code),
            (400, "invalid_field"),
            "{value:?}"
        );
        assert!(err.message.starts_with("slug: must be 1-48 characters"));
    }
}

#[test]
fn hierarchy_bodies() {
    assert!(parse::<NewOrg>(r#"{"name":"A","slug":"a"}"#).is_ok());
    let err = parse::<NewInstance>(r#"{"name":"P","slug":"p","pinned":true}"#).unwrap_err();
    assert_eq!(&*err.code, "unknown_field");
    assert!(parse::<NewProject>(r#"{"name":"P","slug":"p"}"#).is_ok());
    assert_eq!(
        fails::<NewProject>(r#"{"name":"P","slug":"P"}"#).1,
        "invalid_field"
    );
    assert_eq!(
        fails::<NewOrg>(r#"{"name":"A","slug":"a","extra":1}"#),
        (400, "unknown_field".into(), "extra: unknown field".into())
    );
    assert_eq!(fails::<NewOrg>(r#"{"slug":"a"}"#).1, "missing_field");
    let patch: OrgPatch = parse("{}").unwrap();
    assert_eq!(patch, OrgPatch::default());
    let patch: InstancePatch = parse(r#"{"name":" New "}"#).unwrap();
    assert_eq!(patch.name.as_deref(), Some("New"));
    assert_eq!(fails::<ProjectPatch>(r#"{"name":""}"#).0, 400);
    assert_eq!(fails::<OrgPatch>(r#"{"slug":"x"}"#).1, "unknown_field");
}

#[test]
fn emails_have_a_basic_shape() {
    let ok = ["a@b", "first.last+tag@example.co.uk", "A@B.C"];
    for value in ok {
        assert!(email("email", value).is_ok(), "{value:?}");
    }
    let long = format!("{}@example.com", "a".repeat(243));
    let bad = [
        "",
        "a",
        "@b",
        "a@",
        "a@b@c",
        "a b@c",
        "a@b\n",
        long.as_str(),
    ];
    for value in bad {
        let err = email("email", value).unwrap_err();
        assert_eq!(
            (err.status(), &*err.code),
            (400, "invalid_field"),
            "{value:?}"
        );
    }
}

#[test]
fn new_user_body() {
    let json = format!(
        r#"{{"email":" Ann@Example.COM ","name":"Ann","role":"member","instance_ids":["{INS}"]}}"#
    );
    let user: NewUser = parse(&json).unwrap();
    assert_eq!(user.normalized_email(), "ann@example.com");
    assert_eq!(user.role, Role::Member);
    assert_eq!(user.instance_ids, vec![INS.to_string()]);

    let user: NewUser = parse(r#"{"email":"a@b","name":"A","role":"owner"}"#).unwrap();
    assert!(user.instance_ids.is_empty());

    let (status, code, message) = fails::<NewUser>(r#"{"email":"a@b","name":"A","role":"root"}"#);
    assert_eq!((status, code.as_str()), (400, "invalid_field"));
    assert_eq!(
        message,
        "role: unknown role \"root\" (expected owner, admin, member, viewer)"
    );
}

#[test]
fn user_instance_ids_are_checked() {
    let body =
        |ids: &str| format!(r#"{{"email":"a@b","name":"A","role":"viewer","instance_ids":{ids}}}"#);
    let (status, code, message) = fails::<NewUser>(&body(&format!(r#"["{INS}","org_x"]"#)));
    assert_eq!((status, code.as_str()), (400, "invalid_field"));
    assert_eq!(message, "instance_ids[1]: not a valid instance id");

    let (status, code, message) =
        fails::<NewUser>(&body(&format!(r#"["{INS}","{INS2}","{INS}"]"#)));
    assert_eq!((status, code.as_str()), (422, "invalid_value"));
    assert_eq!(message, "instance_ids[2]: listed twice");

    let many: Vec<String> = (0..101).map(|_| format!("\"{INS}\"")).collect();
    let (status, _, message) = fails::<NewUser>(&body(&format!("[{}]", many.join(","))));
    assert_eq!(status, 400);
    assert_eq!(message, "instance_ids: at most 100 instances");
}

#[test]
fn user_patch_body() {
    let patch: UserPatch = parse(r#"{"role":"admin","instance_ids":[]}"#).unwrap();
    assert_eq!(patch.role, Some(Role::Admin));
    assert_eq!(patch.instance_ids, Some(vec![]));
    assert_eq!(parse::<UserPatch>("{}").unwrap(), UserPatch::default());
    let (_, _, message) = fails::<UserPatch>(r#"{"instance_ids":["x"]}"#);
    assert_eq!(message, "instance_ids[0]: not a valid instance id");
    assert_eq!(fails::<UserPatch>(r#"{"email":"a@b"}"#).1, "unknown_field");
}

#[test]
fn new_key_defaults() {
    let key: NewApiKey = parse(r#"{"name":"ci"}"#).unwrap();
    assert_eq!(key.scopes(), vec![Scope::Generate]);
    assert_eq!(key.environment(), KeyEnvironment::Live);
    let json = r#"{"name":"ci","scopes":["admin:read","generate"],"environment":"test",
        "project_id":"prj_01ARYZ6S410000000000000000","user_id":"usr_01ARYZ6S410000000000000000",
        "expires_at":1700000000001}"#;
    let key: NewApiKey = parse(json).unwrap();
    assert_eq!(key.scopes(), vec![Scope::AdminRead, Scope::Generate]);
    assert_eq!(key.environment(), KeyEnvironment::Test);
    assert_eq!(key.expires_at, Some(NOW + 1));
}

#[test]
fn new_key_rejections() {
    let cases = [
        (
            r#"{"name":"ci","scopes":[]}"#,
            422,
            "scopes: must not be empty",
        ),
        (
            r#"{"name":"ci","scopes":["generate","generate"]}"#,
            422,
            "scopes[1]: listed twice",
        ),
        (
            r#"{"name":"ci","scopes":["generate","admin"]}"#,
            400,
            "scopes[1]: unknown scope \"admin\" (expected generate, admin:read, admin:write)",
        ),
        (
            r#"{"name":"ci","expires_at":1700000000000}"#,
            422,
            "expires_at: must be in the future",
        ),
        (
            r#"{"name":"ci","expires_at":5}"#,
            422,
            "expires_at: must be in the future",
        ),
        (
            r#"{"name":"ci","project_id":"ins_01ARYZ6S410000000000000000"}"#,
            400,
            "project_id: not a valid project id",
        ),
        (
            r#"{"name":"ci","user_id":"usr_"}"#,
            400,
            "user_id: not a valid user id",
        ),
        (
            r#"{"name":"","scopes":["generate"]}"#,
            400,
            "name: must be 1-64 characters",
        ),
    ];
    for (json, status, message) in cases {
        let (got_status, _, got_message) = fails::<NewApiKey>(json);
        assert_eq!(
            (got_status, got_message.as_str()),
            (status, message),
            "{json}"
        );
    }
    let (_, _, message) = fails::<NewApiKey>(r#"{"name":"ci","environment":"prod"}"#);
    assert_eq!(
        message,
        "environment: unknown environment \"prod\" (expected live, test)"
    );
}

#[test]
fn provider_key_body() {
    let input: ProviderKeyInput = parse(r#"{"api_key":"sk-abcdefghijklmnopwxyz"}"#).unwrap();
    assert_eq!(input.provider, None);
    assert_eq!(input.api_key, "sk-abcdefghijklmnopwxyz");
    let input: ProviderKeyInput =
        parse(r#"{"api_key":"k","provider":"openai_compatible"}"#).unwrap();
    assert_eq!(input.provider, Some(Provider::OpenaiCompatible));

    let long = format!(r#"{{"api_key":"{}"}}"#, "k".repeat(513));
    for json in [
        r#"{"api_key":""}"#,
        r#"{"api_key":"sk-secret value"}"#,
        long.as_str(),
    ] {
        let (status, code, message) = fails::<ProviderKeyInput>(json);
        assert_eq!((status, code.as_str()), (400, "invalid_field"));
        assert_eq!(
            message,
            "api_key: must be 1-512 characters without whitespace"
        );
    }
    let input = ProviderKeyInput {
        api_key: "sk-very-secret".into(),
        provider: None,
        base_url: None,
    };
    assert!(!format!("{input:?}").contains("very-secret"));
}

#[test]
fn providers_resolve_from_the_name() {
    assert_eq!(resolve_provider("openai", None).unwrap(), Provider::Openai);
    assert_eq!(
        resolve_provider("anthropic", None).unwrap(),
        Provider::Anthropic
    );
    assert_eq!(
        resolve_provider("ideogram", None).unwrap(),
        Provider::Ideogram
    );
    assert_eq!(
        resolve_provider("openai", Some(Provider::OpenaiCompatible)).unwrap(),
        Provider::OpenaiCompatible
    );
    let err = resolve_provider("local-llm", None).unwrap_err();
    assert_eq!((err.status(), &*err.code), (400, "missing_field"));
    assert_eq!(err.message, "provider: is required");
}
