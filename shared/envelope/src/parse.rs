//! JSON request bodies → typed values, with errors that name the field path.
//!
//! serde reports data errors as free text, so the wording below is derived from serde's stable
//! message shapes (`missing field `x``, `invalid type: …, expected …`). Anything unrecognised is
//! treated as a validation message from a custom `Deserialize` and passed through.

use serde::de::DeserializeOwned;
use serde_json::error::Category;
use serde_path_to_error::{Path, Segment};

use crate::ApiError;

/// Longest run of user-supplied text (a quoted value, a field name, a map key) echoed back.
const MAX_ECHO_CHARS: usize = 40;

/// Parses a JSON body into `T`, rejecting trailing data.
///
/// Errors are all `400`: `invalid_json` (empty or malformed), `missing_field`, `unknown_field`
/// (for `#[serde(deny_unknown_fields)]` types) or `invalid_field`; messages start with the dotted
/// field path (`items[2].name: …`), which is omitted for the root.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "invalid_json",
            "request body is empty",
        ));
    }
    // Syntax first, so a broken body is reported as broken rather than by the first field it reached.
    serde_json::from_slice::<serde::de::IgnoredAny>(body).map_err(|err| malformed(&err))?;
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|err| describe(err.path(), err.inner()))?;
    de.end().map_err(|err| malformed(&err))?;
    Ok(value)
}

/// A body as a JSON value in one pass (a `Value` cannot trip over a field before a syntax error, so the
/// pre-check of [`parse_json`] is not needed).
pub fn parse_value(body: &[u8]) -> Result<serde_json::Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "invalid_json",
            "request body is empty",
        ));
    }
    serde_json::from_slice(body).map_err(|err| malformed(&err))
}

/// [`parse_json`] for request bodies that must be a JSON object (every API body is).
pub fn parse_object<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some() && first != Some(&b'{') {
        serde_json::from_slice::<serde::de::IgnoredAny>(body).map_err(|err| malformed(&err))?;
        return Err(ApiError::bad_request(
            "invalid_json",
            "request body must be a JSON object",
        ));
    }
    parse_json(body)
}

fn describe(path: &Path, err: &serde_json::Error) -> ApiError {
    match err.classify() {
        Category::Data => data_error(path, &serde_message(err)),
        Category::Syntax | Category::Eof | Category::Io => malformed(err),
    }
}

fn malformed(err: &serde_json::Error) -> ApiError {
    ApiError::bad_request(
        "invalid_json",
        format!(
            "malformed JSON at line {} column {}",
            err.line(),
            err.column()
        ),
    )
}

/// serde_json appends the position to data errors; the field path replaces it for clients.
fn serde_message(err: &serde_json::Error) -> String {
    let full = err.to_string();
    let position = format!(" at line {} column {}", err.line(), err.column());
    match full.strip_suffix(&position) {
        Some(message) => message.to_owned(),
        None => full,
    }
}

fn data_error(at: &Path, message: &str) -> ApiError {
    if let Some((name, _)) = backticked(message, "unknown field ") {
        return ApiError::unknown_field(&join(&containing(at, name), &truncate(name)));
    }
    let path = &render_path(at.iter());
    if let Some((name, _)) = backticked(message, "missing field ") {
        return ApiError::missing_field(&join(path, name));
    }
    if let Some((name, _)) = backticked(message, "duplicate field ") {
        return ApiError::invalid_field(&join(path, name), "duplicate field");
    }
    if let Some((name, rest)) = backticked(message, "unknown variant ") {
        let expected = rest.trim_start_matches(", ").replace('`', "");
        return field_error(
            path,
            &format!("unknown value {:?} ({expected})", truncate(name)),
        );
    }
    for label in ["invalid type", "invalid value"] {
        if let Some(rest) = message
            .strip_prefix(label)
            .and_then(|r| r.strip_prefix(": "))
        {
            return field_error(path, &reorder(label, rest));
        }
    }
    field_error(path, &truncate_quoted(message))
}

/// `400 invalid_field` with the path prefix, or without it for an error about the whole body.
fn field_error(path: &str, message: &str) -> ApiError {
    if path.is_empty() {
        ApiError::bad_request("invalid_field", message)
    } else {
        ApiError::invalid_field(path, message)
    }
}

/// For `<prefix>`x`<rest>` returns `(x, rest)`.
fn backticked<'a>(message: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    message
        .strip_prefix(prefix)?
        .strip_prefix('`')?
        .split_once('`')
}

/// serde says "invalid type: string \"x\", expected u32"; clients read the expectation first.
fn reorder(label: &str, rest: &str) -> String {
    // The unexpected part may quote user input containing ", expected ", the schema side won't.
    let Some((found, expected)) = rest.rsplit_once(", expected ") else {
        return truncate_quoted(&format!("{label}: {rest}"));
    };
    // serde_derive names the Rust type ("struct CreateOrg"), which means nothing to a client.
    let expected = if expected.starts_with("struct ") {
        "an object"
    } else {
        expected
    };
    format!(
        "{label}: expected {expected}, found {}",
        truncate_quoted(found)
    )
}

/// The path of the object holding an unknown field: serde_path_to_error has already pushed the
/// unknown key itself, and the message names it again.
fn containing(path: &Path, name: &str) -> String {
    let segments: Vec<&Segment> = path.iter().collect();
    match segments.split_last() {
        Some((Segment::Map { key }, parent)) if key == name => render_path(parent.iter().copied()),
        _ => render_path(segments.into_iter()),
    }
}

/// Dotted path with `[i]` for array elements; empty for the root.
fn render_path<'a>(segments: impl Iterator<Item = &'a Segment>) -> String {
    let mut out = String::new();
    for segment in segments {
        let name = match segment {
            Segment::Seq { index } => {
                out.push_str(&format!("[{index}]"));
                continue;
            }
            Segment::Map { key } => truncate(key),
            Segment::Enum { variant } => truncate(variant),
            Segment::Unknown => "?".to_owned(),
        };
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(&name);
    }
    out
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn truncate(text: &str) -> String {
    if text.chars().count() <= MAX_ECHO_CHARS {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(MAX_ECHO_CHARS).collect();
    out.push('…');
    out
}

/// Shortens every `"…"` or `` `…` `` span to [`MAX_ECHO_CHARS`], honouring `\"` escapes.
fn truncate_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(256));
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c != '"' && c != '`' {
            continue;
        }
        let (inner, closed) = take_quoted(&mut chars, c);
        out.push_str(&truncate(&inner));
        if closed {
            out.push(c);
        }
    }
    out
}

/// Consumes up to the closing `quote`; reports whether it was found.
fn take_quoted(chars: &mut std::str::Chars<'_>, quote: char) -> (String, bool) {
    let mut inner = String::new();
    let mut escaped = false;
    for c in chars.by_ref() {
        if c == quote && !escaped {
            return (inner, true);
        }
        escaped = quote == '"' && c == '\\' && !escaped;
        inner.push(c);
    }
    (inner, false)
}

#[cfg(test)]
mod tests;
