//! Ideogram's legacy generate endpoint: `{"image_request": {"prompt", "aspect_ratio"?, "model"?,
//! "num_images"?, "seed"?}}` with the key in an `Api-Key` header, answered with
//! `{"created": <RFC 3339>, "data": [{"url", "prompt", "resolution", "seed", "is_image_safe"}]}`.

use hyper::body::Incoming;
use hyper::{Request, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{base_url, image_id, image_url};
use crate::attempts::Attempts;
use crate::body::SimBody;
use crate::errors::{ApiError, Shape};
use crate::{clock, digest, directive::Directive, faults, intake, respond};

/// Ideogram's limit on `num_images`.
const MAX_IMAGES: u32 = 8;
/// Seeds are 31-bit in Ideogram's API.
const SEED_SPACE: u64 = 2_147_483_648;

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
    intake::check_key(
        intake::header(&parts.headers, "api-key"),
        "Api-Key header is required.",
    )
    .map_err(rejected)?;
    let bytes = intake::read_body(body).await.map_err(rejected)?;
    let body: GenerateBody = intake::parse_json(&bytes).map_err(rejected)?;
    let request = body
        .image_request
        .ok_or_else(|| ApiError::bad_request("image_request: Field required"))
        .map_err(rejected)?;
    let prompt = request
        .prompt
        .as_deref()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::bad_request("image_request.prompt: Field required"))
        .map_err(rejected)?;
    let count = request.num_images.unwrap_or(1);
    if !(1..=MAX_IMAGES).contains(&count) {
        let message = format!("image_request.num_images: must be between 1 and {MAX_IMAGES}");
        return Err(rejected(ApiError::bad_request(message)));
    }
    let faults = faults::admit(Shape::Ideogram, Directive::scan([prompt]), attempts).await?;

    let base = base_url(&parts.headers, fallback_host);
    let model = request.model.as_deref().unwrap_or("V_2");
    let aspect = request.aspect_ratio.as_deref().unwrap_or("ASPECT_1_1");
    let seed = request
        .seed
        .unwrap_or_else(|| digest::fnv1a(prompt.as_bytes()))
        % SEED_SPACE;
    let data: Vec<Value> = (0..count)
        .map(|index| {
            let id = image_id(&[model, prompt, aspect], index);
            let mut image = json!({
                "url": image_url(&base, &id),
                "prompt": prompt,
                "resolution": resolution(aspect),
                "seed": (seed + u64::from(index)) % SEED_SPACE,
                "is_image_safe": true,
            });
            if let (Some(style), Some(fields)) = (&request.style_type, image.as_object_mut()) {
                fields.insert("style_type".into(), json!(style));
            }
            image
        })
        .collect();
    let body = json!({ "created": clock::rfc3339(clock::unix_now()), "data": data });
    Ok(respond::deliver(body.to_string().into_bytes(), &faults))
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
