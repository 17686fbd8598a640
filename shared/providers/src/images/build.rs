//! [`ImageRequest`] → the upstream request: OpenAI-style JSON or Ideogram 3.0 multipart.

use envelope::ApiError;
use serde_json::{json, Map, Value};

use super::multipart::{Multipart, Part};
use super::{aspect_ratio, is_gpt_image, ImageRequest, Quality, MAX_IDEOGRAM_IMAGES};
use crate::upstream::{self, Credentials, HttpRequest, ProviderKind};

/// Ideogram 3.0's generate endpoint, under the provider's base URL.
const IDEOGRAM_PATH: &str = "v1/ideogram-v3/generate";
/// The options of [`ImageRequest::extra`] passed on to Ideogram.
const IDEOGRAM_OPTIONS: &[&str] = &["magic_prompt", "negative_prompt", "seed", "style_type"];

/// The upstream request for `req`, with `upstream_model` in place of the caller's model name.
///
/// OpenAI-style: `POST {base}/images/generations` with bearer auth. gpt-image models always answer
/// with base64 and are sent their own options (`quality`, `background`, `output_format`,
/// `output_compression`, `moderation`) but never `response_format`; other models are asked for
/// `b64_json` (the gateway stores the bytes itself) and are not sent gpt-image's options.
/// Ideogram: `POST {base}/v1/ideogram-v3/generate`, `Api-Key` header, a multipart body; it has no model
/// field, so `upstream_model` is not sent. Anthropic has no image generation: 400.
pub fn build_request(
    kind: ProviderKind,
    req: &ImageRequest,
    upstream_model: &str,
    creds: &Credentials,
) -> Result<HttpRequest, ApiError> {
    match kind {
        ProviderKind::OpenAi | ProviderKind::OpenAiCompatible => {
            let body = openai_body(req, upstream_model);
            upstream::openai_post(kind, "images/generations", &body, creds)
        }
        ProviderKind::Ideogram => ideogram(req, creds),
        ProviderKind::Anthropic => Err(ApiError::invalid_field(
            "model",
            "anthropic has no image generation; use an OpenAI, OpenAI-compatible or Ideogram model",
        )),
    }
}

fn openai_body(req: &ImageRequest, model: &str) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("prompt".into(), json!(req.prompt));
    body.insert("n".into(), json!(req.n));
    if let Some(size) = req.size {
        body.insert("size".into(), json!(size.to_wire()));
    }
    let gpt_image = is_gpt_image(model);
    if let Some(quality) = req.quality.and_then(|q| quality_for(model, q)) {
        body.insert("quality".into(), json!(quality));
    }
    if gpt_image {
        let options = [
            ("background", req.background.map(|b| json!(b.as_str()))),
            (
                "output_format",
                req.output_format.map(|f| json!(f.as_str())),
            ),
            (
                "output_compression",
                req.output_compression.map(|c| json!(c)),
            ),
            ("moderation", req.moderation.map(|m| json!(m.as_str()))),
        ];
        for (key, value) in options {
            if let Some(value) = value {
                body.insert(key.into(), value);
            }
        }
    } else {
        body.insert("response_format".into(), json!("b64_json"));
        if let Some(style) = req.style {
            body.insert("style".into(), json!(style.as_str()));
        }
    }
    if let Some(user) = &req.user {
        body.insert("user".into(), json!(user));
    }
    Value::Object(body)
}

/// `quality` in the words the model family knows (gpt-image: low/medium/high/auto; dall-e:
/// standard/hd, where `auto` is left to the default). Other servers get it as sent.
fn quality_for(model: &str, quality: Quality) -> Option<&'static str> {
    if is_gpt_image(model) {
        return Some(match quality {
            Quality::Standard => "medium",
            Quality::Hd => "high",
            other => other.as_str(),
        });
    }
    if model.starts_with("dall-e") {
        return match quality {
            Quality::Auto => None,
            Quality::High | Quality::Hd => Some("hd"),
            Quality::Low | Quality::Medium | Quality::Standard => Some("standard"),
        };
    }
    Some(quality.as_str())
}

fn ideogram(req: &ImageRequest, creds: &Credentials) -> Result<HttpRequest, ApiError> {
    let base = upstream::base_url(ProviderKind::Ideogram, creds.base_url)?;
    upstream::check_key(creds)?;
    if creds.api_key.is_empty() {
        return Err(ApiError::upstream("the provider has no key configured"));
    }
    if req.n > MAX_IDEOGRAM_IMAGES {
        return Err(ApiError::invalid_field(
            "n",
            format_args!("ideogram generates at most {MAX_IDEOGRAM_IMAGES} images per request"),
        ));
    }
    let form = Multipart::encode(&ideogram_parts(req));
    Ok(HttpRequest {
        method: "POST",
        url: format!("{base}/{IDEOGRAM_PATH}"),
        headers: vec![
            ("content-type".to_owned(), form.content_type()),
            ("api-key".to_owned(), creds.api_key.to_owned()),
        ],
        body: form.body,
    })
}

fn ideogram_parts(req: &ImageRequest) -> Vec<Part> {
    let mut parts = vec![
        Part::new("prompt", req.prompt.as_str()),
        Part::new("num_images", req.n.to_string()),
    ];
    if let Some(ratio) = req.size.and_then(aspect_ratio) {
        parts.push(Part::new("aspect_ratio", ratio));
    }
    if let Some(quality) = req.quality {
        parts.push(Part::new("rendering_speed", rendering_speed(quality)));
    }
    for key in IDEOGRAM_OPTIONS {
        let text = match req.extra.get(*key) {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Number(number)) => number.to_string(),
            _ => continue,
        };
        parts.push(Part::new(key, text));
    }
    parts
}

fn rendering_speed(quality: Quality) -> &'static str {
    match quality {
        Quality::Low => "TURBO",
        Quality::Medium | Quality::Standard | Quality::Auto => "DEFAULT",
        Quality::High | Quality::Hd => "QUALITY",
    }
}
