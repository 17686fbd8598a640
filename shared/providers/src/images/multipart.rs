//! A `multipart/form-data` body of text fields (RFC 7578), with a boundary derived from the fields
//! themselves: the same fields always give the same bytes, and no randomness is needed.

use sha2::{Digest, Sha256};

/// Prefix of every boundary (RFC 2046 allows up to 70 characters; ours are 52).
const BOUNDARY_PREFIX: &str = "----gateway-form-";
/// Boundaries tried before giving up on avoiding one that occurs in a field (never reached in
/// practice: a field would have to contain the SHA-256 of itself).
const MAX_ATTEMPTS: u32 = 64;

/// One text field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub value: String,
}

impl Part {
    pub fn new(name: &str, value: impl Into<String>) -> Part {
        Part {
            name: name.to_owned(),
            value: value.into(),
        }
    }
}

/// An encoded body and the boundary it uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Multipart {
    pub boundary: String,
    pub body: Vec<u8>,
}

impl Multipart {
    /// Encodes `parts` in order, CRLF line endings, a final `--boundary--`.
    pub fn encode(parts: &[Part]) -> Multipart {
        let boundary = boundary(parts);
        let mut body = Vec::new();
        for part in parts {
            body.extend_from_slice(b"--");
            body.extend_from_slice(boundary.as_bytes());
            body.extend_from_slice(b"\r\nContent-Disposition: form-data; name=\"");
            body.extend_from_slice(escape_name(&part.name).as_bytes());
            body.extend_from_slice(b"\"\r\n\r\n");
            body.extend_from_slice(part.value.as_bytes());
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"--");
        body.extend_from_slice(boundary.as_bytes());
        body.extend_from_slice(b"--\r\n");
        Multipart { boundary, body }
    }

    /// The `content-type` header value.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }
}

/// The prefix and a hash of the fields (and of an attempt counter, bumped while the candidate occurs in
/// a field, since a boundary inside a value would end the part early).
fn boundary(parts: &[Part]) -> String {
    let mut candidate = String::new();
    for attempt in 0..MAX_ATTEMPTS {
        let mut hash = Sha256::new();
        hash.update(attempt.to_be_bytes());
        for part in parts {
            for text in [&part.name, &part.value] {
                hash.update((text.len() as u64).to_be_bytes());
                hash.update(text.as_bytes());
            }
        }
        let digest = hex::encode(hash.finalize());
        candidate = format!("{BOUNDARY_PREFIX}{}", digest.get(..35).unwrap_or(&digest));
        let clashes = parts
            .iter()
            .any(|p| p.value.contains(&candidate) || p.name.contains(&candidate));
        if !clashes {
            break;
        }
    }
    candidate
}

/// Field names are ours, but a quote or a line break would still break the header: percent-encode them
/// as browsers do.
fn escape_name(name: &str) -> String {
    name.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}
