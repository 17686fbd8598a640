//! Image generation: OpenAI `POST /v1/images/generations` and Ideogram's legacy `POST /generate`.
//! Every image is a small PNG named by a deterministic id and served by `GET /_sim/images/<id>.png`,
//! so the URLs a response carries can really be fetched.

mod ideogram;

use base64::Engine as _;
use hyper::body::Incoming;
use hyper::header::HOST;
use hyper::{HeaderMap, Request, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::attempts::Attempts;
use crate::body::SimBody;
use crate::errors::{ApiError, Shape};
use crate::{clock, digest, directive::Directive, faults, intake, png, respond};

pub use ideogram::generate as generate_ideogram;

/// Where generated images are served from.
pub const IMAGE_PATH: &str = "/_sim/images/";

/// OpenAI's limit on `n`.
const MAX_IMAGES: u32 = 10;

#[derive(Deserialize)]
struct GenerationRequest {
    prompt: Option<String>,
    model: Option<String>,
    n: Option<u32>,
    size: Option<String>,
    response_format: Option<String>,
}

/// How OpenAI hands an image back.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Url,
    Base64,
}

pub async fn generate_openai(
    request: Request<Incoming>,
    attempts: &Attempts,
    fallback_host: &str,
) -> Response<SimBody> {
    match answer_openai(request, attempts, fallback_host).await {
        Ok(response) | Err(response) => response,
    }
}

async fn answer_openai(
    request: Request<Incoming>,
    attempts: &Attempts,
    fallback_host: &str,
) -> Result<Response<SimBody>, Response<SimBody>> {
    let rejected = |error: ApiError| error.render(Shape::OpenAi);
    let (parts, body) = request.into_parts();
    intake::check_key(
        intake::bearer(&parts.headers),
        "You didn't provide an API key.",
    )
    .map_err(rejected)?;
    let bytes = intake::read_body(body).await.map_err(rejected)?;
    let request: GenerationRequest = intake::parse_json(&bytes).map_err(rejected)?;
    let (prompt, count, format) = validate(&request).map_err(rejected)?;
    let faults = faults::admit(Shape::OpenAi, Directive::scan([prompt]), attempts).await?;

    let base = base_url(&parts.headers, fallback_host);
    let model = request.model.as_deref().unwrap_or("dall-e-2");
    let size = request.size.as_deref().unwrap_or("1024x1024");
    let data: Vec<Value> = (0..count)
        .map(|index| {
            let id = image_id(&[model, prompt, size], index);
            match format {
                Format::Url => json!({ "url": image_url(&base, &id) }),
                Format::Base64 => json!({ "b64_json": encoded_picture(&id) }),
            }
        })
        .collect();
    let body = json!({ "created": clock::unix_now(), "data": data });
    Ok(respond::deliver(body.to_string().into_bytes(), &faults))
}

fn validate(request: &GenerationRequest) -> Result<(&str, u32, Format), ApiError> {
    let prompt = request
        .prompt
        .as_deref()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request("Missing required parameter: 'prompt'.")
                .param("prompt")
                .code("missing_required_parameter")
        })?;
    let count = request.n.unwrap_or(1);
    if !(1..=MAX_IMAGES).contains(&count) {
        return Err(ApiError::bad_request(format!(
            "Invalid 'n': expected a value between 1 and {MAX_IMAGES}."
        ))
        .param("n"));
    }
    let format = match request.response_format.as_deref() {
        None | Some("url") => Format::Url,
        Some("b64_json") => Format::Base64,
        Some(_) => {
            return Err(ApiError::bad_request(
                "Invalid 'response_format': expected 'url' or 'b64_json'.",
            )
            .param("response_format"))
        }
    };
    Ok((prompt, count, format))
}

/// The PNG for `GET /_sim/images/<name>`, when `name` is `<id>.png` with a plausible id.
pub fn serve(name: &str) -> Option<Response<SimBody>> {
    let id = name.strip_suffix(".png")?;
    let plausible = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    plausible.then(|| respond::png(png::picture(digest::fnv1a(id.as_bytes()))))
}

/// A deterministic image id from what the request asked for and the image's position.
fn image_id(fields: &[&str], index: u32) -> String {
    let mut key = fields.join("\u{0}");
    key.push('\u{0}');
    key.push_str(&index.to_string());
    digest::hex_id(key.as_bytes())
}

fn image_url(base: &str, id: &str) -> String {
    format!("{base}{IMAGE_PATH}{id}.png")
}

fn encoded_picture(id: &str) -> String {
    let picture = png::picture(digest::fnv1a(id.as_bytes()));
    base64::engine::general_purpose::STANDARD.encode(picture)
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
        assert!(serve("abc123.png").is_some());
        assert!(serve("abc123").is_none());
        assert!(serve(".png").is_none());
        assert!(serve("../etc.png").is_none());
    }

    #[test]
    fn ids_depend_on_every_field_and_the_index() {
        let a = image_id(&["m", "p", "s"], 0);
        assert_eq!(a, image_id(&["m", "p", "s"], 0));
        assert_ne!(a, image_id(&["m", "p", "s"], 1));
        assert_ne!(a, image_id(&["m", "q", "s"], 0));
    }
}
