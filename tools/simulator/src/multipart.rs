//! Reading a `multipart/form-data` body (RFC 7578 on RFC 2046's boundary format): the boundary from
//! the `Content-Type` header, then the parts between `--boundary` delimiter lines.
//!
//! Strict where a real server is (CRLF line ends, a `Content-Disposition: form-data` header with a
//! `name` in every part, a closing `--boundary--`), so a gateway that encodes a form wrongly is
//! refused here as it would be upstream. File parts (with a `filename`) are accepted and kept.

use serde_json::{json, Map, Value};

/// RFC 2046: a boundary is 1 to 70 characters.
const MAX_BOUNDARY: usize = 70;
const CRLF: &[u8] = b"\r\n";

/// One part of a form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    /// Present for a file upload.
    pub filename: Option<String>,
    /// The part's own `Content-Type`, if it sent one.
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

impl Field {
    /// The value as text, for a text field (no filename, valid UTF-8).
    pub fn text(&self) -> Option<&str> {
        match self.filename {
            None => std::str::from_utf8(&self.data).ok(),
            Some(_) => None,
        }
    }
}

/// Why a body is not a form we can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormError {
    NotMultipart,
    MissingBoundary,
    /// The body does not start with (or never reaches) a `--boundary` line.
    NoDelimiter,
    /// A part runs to the end of the body without a closing `--boundary--`.
    Unterminated,
    /// A delimiter line is followed by something other than CRLF or `--`.
    BadDelimiter,
    /// A part without headers, or a header line that is not `Name: value`.
    BadHeaders,
    /// A part without `Content-Disposition: form-data; name=...`.
    NoName,
}

impl FormError {
    /// What a client is told.
    pub fn message(self) -> &'static str {
        match self {
            FormError::NotMultipart => "Content-Type must be multipart/form-data.",
            FormError::MissingBoundary => "multipart/form-data requires a boundary parameter.",
            FormError::NoDelimiter => "The form body does not start with its boundary.",
            FormError::Unterminated => "The form body ends without its closing boundary.",
            FormError::BadDelimiter => "A boundary line is not followed by CRLF.",
            FormError::BadHeaders => "A form part has malformed headers.",
            FormError::NoName => "A form part has no Content-Disposition form-data name.",
        }
    }
}

/// The boundary of a `multipart/form-data` content type (quoted or not).
pub fn boundary(content_type: &str) -> Result<String, FormError> {
    let mut pieces = split_params(content_type).into_iter();
    let mime = pieces.next().unwrap_or_default();
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return Err(FormError::NotMultipart);
    }
    pieces
        .filter_map(|piece| param(&piece))
        .find(|(name, _)| name.eq_ignore_ascii_case("boundary"))
        .map(|(_, value)| value)
        .filter(|b| !b.is_empty() && b.len() <= MAX_BOUNDARY)
        .ok_or(FormError::MissingBoundary)
}

/// The parts of `body`, in order. A preamble before the first delimiter and an epilogue after the
/// closing one are ignored, as RFC 2046 says.
pub fn parse(body: &[u8], boundary: &str) -> Result<Vec<Field>, FormError> {
    let dash = [b"--", boundary.as_bytes()].concat();
    let delimiter = [CRLF, dash.as_slice()].concat();
    let mut at = if body.starts_with(&dash) {
        dash.len()
    } else {
        find(body, &delimiter, 0).ok_or(FormError::NoDelimiter)? + delimiter.len()
    };
    let mut fields = Vec::new();
    loop {
        let rest = body.get(at..).unwrap_or_default();
        if rest.starts_with(b"--") {
            return Ok(fields);
        }
        // Transport padding (RFC 2046 §5.1.1) may follow a delimiter before its CRLF.
        let padding = rest
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        if !rest.get(padding..).unwrap_or_default().starts_with(CRLF) {
            return Err(if rest.is_empty() {
                FormError::Unterminated
            } else {
                FormError::BadDelimiter
            });
        }
        let start = at + padding + CRLF.len();
        let end = find(body, &delimiter, start).ok_or(FormError::Unterminated)?;
        fields.push(part(body.get(start..end).unwrap_or_default())?);
        at = end + delimiter.len();
    }
}

/// The fields as a JSON object, for `GET /_sim/requests/<key>`: a text field is its string, a file
/// `{"filename", "content_type", "bytes"}`, and a name sent more than once an array in order.
pub fn as_json(fields: &[Field]) -> Value {
    let mut object = Map::new();
    for field in fields {
        let value = match field.text() {
            Some(text) => json!(text),
            None => json!({
                "filename": field.filename,
                "content_type": field.content_type,
                "bytes": field.data.len(),
            }),
        };
        match object.get_mut(&field.name) {
            Some(Value::Array(values)) => values.push(value),
            Some(first) => *first = json!([first.take(), value]),
            None => {
                object.insert(field.name.clone(), value);
            }
        }
    }
    Value::Object(object)
}

/// One body part: header lines, an empty line, the content.
fn part(bytes: &[u8]) -> Result<Field, FormError> {
    let split = find(bytes, b"\r\n\r\n", 0).ok_or(FormError::BadHeaders)?;
    let head = std::str::from_utf8(bytes.get(..split).unwrap_or_default())
        .map_err(|_| FormError::BadHeaders)?;
    let data = bytes.get(split + 4..).unwrap_or_default().to_vec();
    let mut disposition = None;
    let mut content_type = None;
    for line in head.split("\r\n") {
        let (name, value) = line.split_once(':').ok_or(FormError::BadHeaders)?;
        if name.trim().eq_ignore_ascii_case("content-disposition") {
            disposition = Some(value.trim().to_string());
        } else if name.trim().eq_ignore_ascii_case("content-type") {
            content_type = Some(value.trim().to_string());
        }
    }
    let params = split_params(&disposition.ok_or(FormError::NoName)?);
    let mut params = params.iter();
    let kind = params.next().map(|k| k.trim().to_ascii_lowercase());
    if kind.as_deref() != Some("form-data") {
        return Err(FormError::NoName);
    }
    let params: Vec<(String, String)> = params.filter_map(|p| param(p)).collect();
    let lookup = |key: &str| {
        params
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value.clone())
    };
    Ok(Field {
        name: lookup("name").ok_or(FormError::NoName)?,
        filename: lookup("filename"),
        content_type,
        data,
    })
}

/// Splits a header value on the `;` that are not inside a quoted string.
fn split_params(value: &str) -> Vec<String> {
    let mut pieces = vec![String::new()];
    let (mut quoted, mut escaped) = (false, false);
    for c in value.chars() {
        match c {
            ';' if !quoted => pieces.push(String::new()),
            _ => {
                if let Some(piece) = pieces.last_mut() {
                    piece.push(c);
                }
            }
        }
        if escaped {
            escaped = false;
        } else if c == '\\' && quoted {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        }
    }
    pieces
}

/// `name=value` or `name="quoted \" value"`, the name trimmed, the quotes and escapes removed.
fn param(piece: &str) -> Option<(String, String)> {
    let (name, value) = piece.split_once('=')?;
    let value = value.trim();
    let value = match value
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
    {
        Some(inner) => unescape(inner),
        None => value.to_string(),
    };
    Some((name.trim().to_string(), value))
}

fn unescape(quoted: &str) -> String {
    let mut out = String::with_capacity(quoted.len());
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            other => out.push(other),
        }
    }
    out
}

/// The first index at or after `from` where `needle` occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len().max(1))
        .position(|window| window == needle)
        .map(|position| position + from)
}

#[cfg(test)]
#[path = "multipart/tests.rs"]
mod tests;
