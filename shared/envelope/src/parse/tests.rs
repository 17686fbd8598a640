use std::collections::BTreeMap;

use serde::de::{self, Deserializer};
use serde::Deserialize;

use super::*;

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct CreateUser {
    name: String,
    role: Role,
    #[serde(default)]
    instance_ids: Vec<String>,
    #[serde(default)]
    limits: Option<Limits>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Role {
    Owner,
    Admin,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Limits {
    rpm: u32,
    #[serde(default)]
    rules: Vec<Rule>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Rule {
    model: String,
    max: u32,
}

/// A validating newtype, like the admin API's `Name`.
#[derive(Debug, PartialEq)]
struct Slug(String);

impl<'de> Deserialize<'de> for Slug {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.is_empty() || s.len() > 48 {
            return Err(de::Error::custom("must be 1-48 characters"));
        }
        Ok(Slug(s))
    }
}

#[derive(Debug, Deserialize)]
struct CreateOrg {
    #[allow(dead_code)]
    slug: Slug,
}

fn err<T: DeserializeOwned + std::fmt::Debug>(body: &str) -> ApiError {
    parse_json::<T>(body.as_bytes()).unwrap_err()
}

fn assert_err(e: &ApiError, code: &str, message: &str) {
    assert_eq!(e.status(), 400, "{e:?}");
    assert_eq!((&*e.code, e.message.as_str()), (code, message));
}

#[test]
fn parses_a_valid_body() {
    let user: CreateUser =
        parse_json(br#"{"name":"Ada","role":"owner","instance_ids":["a"]}"#).unwrap();
    assert_eq!(user.name, "Ada");
    assert_eq!(user.role, Role::Owner);
    assert_eq!(user.instance_ids, vec!["a".to_owned()]);
}

#[test]
fn empty_body() {
    assert_err(
        &err::<CreateUser>(""),
        "invalid_json",
        "request body is empty",
    );
    assert_err(
        &err::<CreateUser>(" \n"),
        "invalid_json",
        "request body is empty",
    );
}

#[test]
fn syntax_error_names_the_position() {
    let e = err::<CreateUser>("{\n  \"name\": \"Ada\",,\n}");
    assert_err(&e, "invalid_json", "malformed JSON at line 2 column 17");
}

#[test]
fn truncated_body_is_malformed() {
    let e = err::<CreateUser>(r#"{"name":"Ada""#);
    assert_eq!(e.code, "invalid_json");
    assert!(
        e.message.starts_with("malformed JSON at line 1"),
        "{}",
        e.message
    );
}

#[test]
fn trailing_data_is_malformed() {
    let e = err::<CreateOrg>(r#"{"slug":"a"} x"#);
    assert_err(&e, "invalid_json", "malformed JSON at line 1 column 14");
}

#[test]
fn missing_field_at_root() {
    assert_err(
        &err::<CreateUser>(r#"{"name":"Ada"}"#),
        "missing_field",
        "role: is required",
    );
}

#[test]
fn missing_field_in_nested_array() {
    let body = r#"{"name":"A","role":"admin","limits":{"rpm":1,"rules":[{"model":"m","max":1},{"model":"m"}]}}"#;
    assert_err(
        &err::<CreateUser>(body),
        "missing_field",
        "limits.rules[1].max: is required",
    );
}

#[test]
fn unknown_field_at_root_and_nested() {
    let e = err::<CreateUser>(r#"{"name":"A","role":"admin","colour":"red"}"#);
    assert_err(&e, "unknown_field", "colour: unknown field");
    let e = err::<CreateUser>(r#"{"name":"A","role":"admin","limits":{"rpm":1,"burst":2}}"#);
    assert_err(&e, "unknown_field", "limits.burst: unknown field");
}

#[test]
fn unknown_field_name_is_truncated() {
    let long = "f".repeat(200);
    let e = err::<CreateUser>(&format!(r#"{{"{long}":1}}"#));
    assert_eq!(e.code, "unknown_field");
    assert_eq!(e.message, format!("{}…: unknown field", "f".repeat(40)));
}

#[test]
fn wrong_type_expected_first() {
    let e = err::<CreateUser>(r#"{"name":7,"role":"admin"}"#);
    assert_err(
        &e,
        "invalid_field",
        "name: invalid type: expected a string, found integer `7`",
    );
    let e = err::<CreateUser>(r#"{"name":"A","role":"admin","limits":{"rpm":"fast"}}"#);
    assert_err(
        &e,
        "invalid_field",
        "limits.rpm: invalid type: expected u32, found string \"fast\"",
    );
    let e = err::<CreateUser>(r#"{"name":"A","role":"admin","instance_ids":["a",3]}"#);
    assert_err(
        &e,
        "invalid_field",
        "instance_ids[1]: invalid type: expected a string, found integer `3`",
    );
}

#[test]
fn wrong_type_at_root_hides_the_rust_type() {
    let e = err::<CreateUser>(r#""hello""#);
    assert_err(
        &e,
        "invalid_field",
        "invalid type: expected an object, found string \"hello\"",
    );
}

#[test]
fn invalid_value_names_the_field() {
    let e = err::<CreateUser>(r#"{"name":"A","role":"admin","limits":{"rpm":-1}}"#);
    assert_err(
        &e,
        "invalid_field",
        "limits.rpm: invalid value: expected u32, found integer `-1`",
    );
}

#[test]
fn long_user_strings_are_truncated() {
    let long = "x".repeat(500);
    let e = err::<CreateUser>(&format!(
        r#"{{"name":"A","role":"admin","limits":{{"rpm":"{long}"}}}}"#
    ));
    let expected = format!(
        "limits.rpm: invalid type: expected u32, found string \"{}…\"",
        "x".repeat(40)
    );
    assert_err(&e, "invalid_field", &expected);
}

#[test]
fn unknown_variant_lists_the_choices() {
    let e = err::<CreateUser>(r#"{"name":"A","role":"superuser"}"#);
    assert_err(
        &e,
        "invalid_field",
        "role: unknown value \"superuser\" (expected owner or admin)",
    );
}

#[test]
fn custom_validation_message_is_passed_through() {
    let e = err::<CreateOrg>(r#"{"slug":""}"#);
    assert_err(&e, "invalid_field", "slug: must be 1-48 characters");
}

#[test]
fn custom_error_at_root_has_no_path() {
    let e = err::<Slug>(r#""""#);
    assert_err(&e, "invalid_field", "must be 1-48 characters");
}

#[test]
fn map_keys_appear_in_the_path() {
    let e = err::<BTreeMap<String, Limits>>(r#"{"gpt-4o":{"rpm":true}}"#);
    assert_err(
        &e,
        "invalid_field",
        "gpt-4o.rpm: invalid type: expected u32, found boolean `true`",
    );
}

#[test]
fn duplicate_field() {
    let e = err::<CreateOrg>(r#"{"slug":"a","slug":"b"}"#);
    assert_err(&e, "invalid_field", "slug: duplicate field");
}

#[test]
fn truncate_quoted_honours_escapes() {
    let inner = format!("{}\\\"{}", "a".repeat(10), "b".repeat(50));
    let text = format!("found string \"{inner}\" and `short`");
    let out = truncate_quoted(&text);
    let kept: String = inner.chars().take(40).collect();
    assert_eq!(out, format!("found string \"{kept}…\" and `short`"));
}

#[test]
fn bodies_must_be_objects() {
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Body {
        name: String,
    }
    let err = crate::parse_object::<Body>(b" [1, 2]").unwrap_err();
    assert_eq!(
        (&*err.code, err.message.as_str()),
        ("invalid_json", "request body must be a JSON object")
    );
    let err = crate::parse_object::<Body>(b"[1,2").unwrap_err();
    assert!(err.message.starts_with("malformed JSON"), "{}", err.message);
    assert!(crate::parse_object::<Body>(br#"{"name":"x"}"#).is_ok());
}

#[test]
fn syntax_errors_win_over_field_errors() {
    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        api_key: String,
    }
    let err = crate::parse_json::<Body>(br#"{"name": "#).unwrap_err();
    assert_eq!(&*err.code, "invalid_json");
}
