//! Ideogram's legacy generate endpoint: `{"image_request": {"prompt", "aspect_ratio"?, "model"?,
//! "num_images"?, "seed"?, "style_type"?}}` in JSON with the key in an `Api-Key` header. The
//! resolution follows the `ASPECT_W_H` value; `style_type` is echoed only when sent.

use hyper::body::Incoming;
use hyper::{Request, Response};
use serde::Deserialize;

use super::{authenticate, render, seed, Batch, MAX_IMAGES};
use crate::attempts::Attempts;
use crate::body::SimBody;
use crate::directive::Directive;
use crate::errors::{ApiError, Shape};
use crate::images::{base_url, link};
use crate::{clock, faults, intake, respond};

#[derive(Deserialize)]
struct GenerateBody {
    image_request: Option<ImageRequest>,
}

#[derive(Deserialize)]
struct ImageRequest {
    prompt: Option<String>,
    aspect_ratio: Option<String>,
    model: Option<String>,
    num_images: Option<u32>,
    seed: Option<u64>,
    style_type: Option<String>,
}

pub async fn generate(
    request: Request<Incoming>,
    attempts: &Attempts,
    fallback_host: &str,
) -> Response<SimBody> {
    match answer(request, attempts, fallback_host).await {
        Ok(response) | Err(response) => response,
    }
}

async fn answer(
    request: Request<Incoming>,
    attempts: &Attempts,
    fallback_host: &str,
) -> Result<Response<SimBody>, Response<SimBody>> {
    let rejected = |error: ApiError| error.render(Shape::Ideogram);
    let (parts, body) = request.into_parts();
    authenticate(&parts.headers).map_err(rejected)?;
    let bytes = intake::read_body(body).await.map_err(rejected)?;
    let body: GenerateBody = intake::parse_json(&bytes).map_err(rejected)?;
    let request = body
        .image_request
        .ok_or_else(|| ApiError::bad_request("image_request: Field required"))
        .map_err(rejected)?;
    let (prompt, count) = validate(&request).map_err(rejected)?;
    let directive = Directive::scan([prompt]);
    if let Some(key) = &directive.key {
        attempts.remember(key, &bytes);
    }
    let faults = faults::admit(Shape::Ideogram, directive, attempts).await?;

    let model = request.model.as_deref().unwrap_or("V_2");
    let aspect = request.aspect_ratio.as_deref().unwrap_or("ASPECT_1_1");
    let batch = Batch {
        id_fields: &[model, prompt, aspect],
        prompt,
        resolution: resolution(aspect),
        seed: seed(request.seed, prompt),
        style_type: request.style_type.as_deref(),
        count,
        unsafe_count: faults.unsafe_images.unwrap_or(0),
    };
    let now_ms = clock::unix_millis();
    let base = base_url(&parts.headers, fallback_host);
    let expires_ms = link::expiry(now_ms, faults.url_ttl_ms);
    let body = render(&batch, &base, expires_ms, now_ms / 1000);
    Ok(respond::deliver(body.to_string().into_bytes(), &faults))
}

fn validate(request: &ImageRequest) -> Result<(&str, u32), ApiError> {
    let prompt = request
        .prompt
        .as_deref()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::bad_request("image_request.prompt: Field required"))?;
    let count = request.num_images.unwrap_or(1);
    if !(1..=MAX_IMAGES).contains(&count) {
        let message = format!("image_request.num_images: must be between 1 and {MAX_IMAGES}");
        return Err(ApiError::bad_request(message));
    }
    Ok((prompt, count))
}

/// The pixel size Ideogram renders for a legacy `ASPECT_W_H` value (square when unknown).
fn resolution(aspect_ratio: &str) -> &'static str {
    match aspect_ratio {
        "ASPECT_16_9" => "1312x736",
        "ASPECT_9_16" => "736x1312",
        "ASPECT_4_3" => "1152x864",
        "ASPECT_3_4" => "864x1152",
        "ASPECT_3_2" => "1248x832",
        "ASPECT_2_3" => "832x1248",
        "ASPECT_16_10" => "1280x800",
        "ASPECT_10_16" => "800x1280",
        "ASPECT_3_1" => "1728x576",
        "ASPECT_1_3" => "576x1728",
        _ => "1024x1024",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_aspect_ratios() {
        assert_eq!(resolution("ASPECT_16_9"), "1312x736");
        assert_eq!(resolution("ASPECT_1_1"), "1024x1024");
        assert_eq!(resolution("nonsense"), "1024x1024");
    }
}
