//! Image generation: OpenAI `POST /v1/images/generations`, Ideogram 3.0's multipart
//! `POST /v1/ideogram-v3/generate` and Ideogram's legacy JSON `POST /generate`.
//! Every image is a small PNG named by a deterministic id and served by `GET /_sim/images/<id>.png`
//! behind a signed, expiring link (see `link`), so the URLs a response carries can really be fetched
//! — for a while.

mod ideogram;
mod link;
mod openai;

use base64::Engine as _;
use hyper::header::HOST;
use hyper::{HeaderMap, Response, StatusCode};

use crate::body::SimBody;
use crate::errors::{ApiError, Shape};
use crate::{digest, intake, jpeg, png, respond, webp};

pub use ideogram::{legacy::generate as generate_ideogram, v3::generate as generate_ideogram_v3};
pub use openai::generate as generate_openai;

/// Where generated images are served from.
pub const IMAGE_PATH: &str = "/_sim/images/";

/// The answer to `GET /_sim/images/<name>?<query>` at `now_ms`: the PNG when `name` is `<id>.png`
/// with a plausible id and the link is bare or fresh; 410 once it expired, 403 when it was edited.
/// `None` (404) for anything else.
pub fn serve(name: &str, query: Option<&str>, now_ms: u64) -> Option<Response<SimBody>> {
    let id = name.strip_suffix(".png")?;
    let plausible = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !plausible {
        return None;
    }
    let refused = |status, message: &str, code| {
        Some(
            ApiError::new(status, message)
                .code(code)
                .render(Shape::OpenAi),
        )
    };
    match link::check(id, query, now_ms) {
        link::Access::Open | link::Access::Fresh => Some(respond::png(picture(id))),
        link::Access::Expired => refused(
            StatusCode::GONE,
            "This image URL has expired; copy images when they are generated.",
            "url_expired",
        ),
        link::Access::Forged => refused(
            StatusCode::FORBIDDEN,
            "This image URL's signature does not match.",
            "url_signature_mismatch",
        ),
    }
}

/// The PNG behind image `id`.
fn picture(id: &str) -> Vec<u8> {
    png::picture(digest::fnv1a(id.as_bytes()))
}

/// The picture behind image `id` in base64 (OpenAI's `b64_json`), encoded as `format` says:
/// `jpeg` and `webp` are a flat colour, anything else the PNG that URLs serve.
fn encoded_picture(id: &str, format: &str) -> String {
    let seed = digest::fnv1a(id.as_bytes());
    let [r, g, b, ..] = digest::spread(seed).to_be_bytes();
    let bytes = match format {
        "jpeg" => jpeg::flat([r, g, b]),
        "webp" => webp::flat([r, g, b]),
        _ => png::picture(seed),
    };
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A deterministic image id from what the request asked for and the image's position.
fn image_id(fields: &[&str], index: u32) -> String {
    let mut key = fields.join("\u{0}");
    key.push('\u{0}');
    key.push_str(&index.to_string());
    digest::hex_id(key.as_bytes())
}

/// `http://<host>` as the client addressed us (so URLs work through port mappings), else the
/// address we listen on.
fn base_url(headers: &HeaderMap, fallback_host: &str) -> String {
    let host = intake::header(headers, HOST.as_str())
        .filter(|host| {
            host.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".:-[]".contains(&b))
        })
        .unwrap_or(fallback_host);
    format!("http://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_only_plausible_names() {
        assert!(serve("abc123.png", None, 0).is_some());
        assert!(serve("abc123", None, 0).is_none());
        assert!(serve(".png", None, 0).is_none());
        assert!(serve("../etc.png", None, 0).is_none());
    }

    #[test]
    fn refuses_expired_and_edited_links() {
        let url = link::url("http://h", "abc", 1_000);
        let query = url.split_once('?').map(|(_, q)| q);
        let status = |now| serve("abc.png", query, now).map(|r| r.status());
        assert_eq!(status(999), Some(StatusCode::OK));
        assert_eq!(status(1_000), Some(StatusCode::GONE));
        let edited = serve("abc.png", Some("exp_ms=99999&sig=0"), 0).map(|r| r.status());
        assert_eq!(edited, Some(StatusCode::FORBIDDEN));
    }

    #[test]
    fn ids_depend_on_every_field_and_the_index() {
        let a = image_id(&["m", "p", "s"], 0);
        assert_eq!(a, image_id(&["m", "p", "s"], 0));
        assert_ne!(a, image_id(&["m", "p", "s"], 1));
        assert_ne!(a, image_id(&["m", "q", "s"], 0));
    }
}
