//! Readers for hand-validated JSON objects. Each takes its field out of the map (what stays
//! behind is a request's pass-through `extra`), treats `null` as absent, and names the field
//! in its error: 400 for a wrong type, 422 for a well-typed value out of range.

use envelope::ApiError;
use serde_json::{Map, Value};

/// Longest run of client-supplied text echoed back in an error message.
const MAX_ECHO_CHARS: usize = 40;

pub(crate) type Object = Map<String, Value>;

/// The object at `path` (empty: the request body).
pub(crate) fn object(value: Value, path: &str) -> Result<Object, ApiError> {
    match value {
        Value::Object(map) => Ok(map),
        _ if path.is_empty() => Err(ApiError::bad_request(
            "invalid_field",
            "request body must be a JSON object",
        )),
        _ => Err(ApiError::invalid_field(path, "must be an object")),
    }
}

/// `prefix.key`, or `key` at the top level.
pub(crate) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Removes `key`; `null` counts as absent.
pub(crate) fn take(map: &mut Object, key: &str) -> Option<Value> {
    map.remove(key).filter(|value| !value.is_null())
}

pub(crate) fn string(map: &mut Object, key: &str, path: &str) -> Result<Option<String>, ApiError> {
    match take(map, key) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(ApiError::invalid_field(
            &join(path, key),
            "must be a string",
        )),
    }
}

/// A string that must be present and non-empty.
pub(crate) fn required_string(map: &mut Object, key: &str, path: &str) -> Result<String, ApiError> {
    match string(map, key, path)? {
        None => Err(ApiError::missing_field(&join(path, key))),
        Some(text) if text.trim().is_empty() => Err(ApiError::invalid_field(
            &join(path, key),
            "must not be empty",
        )),
        Some(text) => Ok(text),
    }
}

pub(crate) fn boolean(map: &mut Object, key: &str) -> Result<Option<bool>, ApiError> {
    match take(map, key) {
        None => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(flag)),
        Some(_) => Err(ApiError::invalid_field(key, "must be true or false")),
    }
}

pub(crate) fn integer(map: &mut Object, key: &str) -> Result<Option<i64>, ApiError> {
    match take(map, key) {
        None => Ok(None),
        Some(value) => value
            .as_i64()
            .map(Some)
            .ok_or_else(|| ApiError::invalid_field(key, "must be an integer")),
    }
}

/// A token count: an integer (400 otherwise) of at least 1 (422 otherwise).
pub(crate) fn token_count(map: &mut Object, key: &str) -> Result<Option<u32>, ApiError> {
    let Some(value) = take(map, key) else {
        return Ok(None);
    };
    if let Some(n) = value.as_u64() {
        return match u32::try_from(n) {
            Ok(0) => Err(ApiError::unprocessable(key, "must be at least 1")),
            Ok(n) => Ok(Some(n)),
            Err(_) => Err(ApiError::unprocessable(
                key,
                format_args!("must be at most {}", u32::MAX),
            )),
        };
    }
    if value.as_i64().is_some() {
        return Err(ApiError::unprocessable(key, "must be at least 1"));
    }
    Err(ApiError::invalid_field(key, "must be an integer"))
}

/// A number within `min..=max` (422 outside).
pub(crate) fn number_in(
    map: &mut Object,
    key: &str,
    min: f64,
    max: f64,
) -> Result<Option<f64>, ApiError> {
    let Some(value) = take(map, key) else {
        return Ok(None);
    };
    let number = value
        .as_f64()
        .ok_or_else(|| ApiError::invalid_field(key, "must be a number"))?;
    if !(min..=max).contains(&number) {
        return Err(ApiError::unprocessable(
            key,
            format_args!("must be between {min} and {max}"),
        ));
    }
    Ok(Some(number))
}

/// A string or an array of strings.
pub(crate) fn string_list(map: &mut Object, key: &str) -> Result<Vec<String>, ApiError> {
    let invalid = || ApiError::invalid_field(key, "must be a string or an array of strings");
    match take(map, key) {
        None => Ok(Vec::new()),
        Some(Value::String(one)) => Ok(vec![one]),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(text) => Ok(text),
                _ => Err(invalid()),
            })
            .collect(),
        Some(_) => Err(invalid()),
    }
}

/// Client text as it may appear in an error message: quoted and shortened.
pub(crate) fn echo(text: &str) -> String {
    let mut short: String = text.chars().take(MAX_ECHO_CHARS).collect();
    if text.chars().nth(MAX_ECHO_CHARS).is_some() {
        short.push('…');
    }
    format!("{short:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Object {
        object(value, "").unwrap()
    }

    #[test]
    fn token_count_rules() {
        let mut m = map(
            json!({"a": 5, "b": 0, "c": -3, "d": 1.5, "e": "7", "f": 5_000_000_000u64, "g": null}),
        );
        assert_eq!(token_count(&mut m, "a").unwrap(), Some(5));
        assert_eq!(token_count(&mut m, "b").unwrap_err().status(), 422);
        assert_eq!(token_count(&mut m, "c").unwrap_err().status(), 422);
        assert_eq!(token_count(&mut m, "d").unwrap_err().status(), 400);
        let e = token_count(&mut m, "e").unwrap_err();
        assert_eq!(
            (e.status(), e.message.as_str()),
            (400, "e: must be an integer")
        );
        assert_eq!(token_count(&mut m, "f").unwrap_err().status(), 422);
        assert_eq!(token_count(&mut m, "g").unwrap(), None);
        assert!(m.is_empty(), "every reader removes its field");
    }

    #[test]
    fn number_in_range() {
        let mut m = map(json!({"t": 2.5, "u": "x", "v": 0}));
        let e = number_in(&mut m, "t", 0.0, 2.0).unwrap_err();
        assert_eq!(
            (e.status(), e.message.as_str()),
            (422, "t: must be between 0 and 2")
        );
        assert_eq!(number_in(&mut m, "u", 0.0, 2.0).unwrap_err().status(), 400);
        assert_eq!(number_in(&mut m, "v", 0.0, 2.0).unwrap(), Some(0.0));
    }

    #[test]
    fn string_lists() {
        let mut m = map(json!({"a": "x", "b": ["x", "y"], "c": [1], "d": 3}));
        assert_eq!(string_list(&mut m, "a").unwrap(), vec!["x"]);
        assert_eq!(string_list(&mut m, "b").unwrap(), vec!["x", "y"]);
        assert_eq!(string_list(&mut m, "c").unwrap_err().status(), 400);
        assert_eq!(string_list(&mut m, "d").unwrap_err().status(), 400);
        assert!(string_list(&mut m, "missing").unwrap().is_empty());
    }

    #[test]
    fn required_strings_and_paths() {
        let mut m = map(json!({"a": "", "b": 1}));
        let e = required_string(&mut m, "a", "messages[0]").unwrap_err();
        assert_eq!(e.message, "messages[0].a: must not be empty");
        let e = required_string(&mut m, "b", "").unwrap_err();
        assert_eq!(e.message, "b: must be a string");
        let e = required_string(&mut m, "c", "").unwrap_err();
        assert_eq!(
            (&*e.code, e.message.as_str()),
            ("missing_field", "c: is required")
        );
    }

    #[test]
    fn echo_quotes_and_shortens() {
        assert_eq!(echo("robot"), "\"robot\"");
        let long = "x".repeat(100);
        assert_eq!(echo(&long).chars().count(), 40 + 3);
    }
}
