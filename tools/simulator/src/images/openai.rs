//! OpenAI `POST /v1/images/generations`, by model family, with the real API's rules:
//! - gpt-image (`gpt-image*`): always base64; `quality` low/medium/high/auto, `size`
//!   1024x1024/1536x1024/1024x1536/auto, `background`, `output_format` png/jpeg/webp,
//!   `output_compression` 0–100, `moderation` low/auto; `response_format` and `style` are unknown
//!   parameters. The answer echoes the resolved `background`, `output_format`, `quality` and `size`
//!   and carries token `usage`.
//! - everything else (dall-e-2 by default): `response_format` url/b64_json, `style`, `quality`; the
//!   gpt-image options are unknown parameters. dall-e-2/dall-e-3 sizes are checked, dall-e-3 takes
//!   only `n=1` and answers a `revised_prompt`.

mod plan;

use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{json, Value};

use self::plan::{Format, GptImage, Kind, Plan};
use super::{base_url, encoded_picture, image_id, link};
use crate::attempts::Attempts;
use crate::body::SimBody;
use crate::conversation::words;
use crate::directive::Directive;
use crate::errors::{ApiError, Shape};
use crate::{clock, faults, intake, respond};

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
    let rejected = |error: ApiError| error.render(Shape::OpenAi);
    let (parts, body) = request.into_parts();
    intake::check_key(
        intake::bearer(&parts.headers),
        "You didn't provide an API key.",
    )
    .map_err(rejected)?;
    let bytes = intake::read_body(body).await.map_err(rejected)?;
    let request: plan::GenerationRequest = intake::parse_json(&bytes).map_err(rejected)?;
    let plan = Plan::check(&request).map_err(rejected)?;
    let directive = Directive::scan([plan.prompt]);
    if let Some(key) = &directive.key {
        attempts.remember(key, &bytes);
    }
    let faults = faults::admit(Shape::OpenAi, directive, attempts).await?;
    let base = base_url(&parts.headers, fallback_host);
    let expires_ms = link::expiry(clock::unix_millis(), faults.url_ttl_ms);
    let body = render(&plan, &base, expires_ms, clock::unix_now());
    Ok(respond::deliver(body.to_string().into_bytes(), &faults))
}

/// The answer to `plan`: image URLs under `base` valid until `expires_ms`, `created` as given.
fn render(plan: &Plan, base: &str, expires_ms: u64, created: u64) -> Value {
    match &plan.kind {
        Kind::GptImage(options) => gpt_image(plan, options, created),
        Kind::Classic {
            size,
            format,
            revised,
        } => {
            let data: Vec<Value> = (0..plan.count)
                .map(|index| {
                    let id = image_id(&[plan.model, plan.prompt, size], index);
                    let mut image = match format {
                        Format::Url => json!({ "url": link::url(base, &id, expires_ms) }),
                        Format::Base64 => json!({ "b64_json": encoded_picture(&id, "png") }),
                    };
                    if let (true, Some(fields)) = (*revised, image.as_object_mut()) {
                        fields.insert("revised_prompt".into(), json!(plan.prompt));
                    }
                    image
                })
                .collect();
            json!({ "created": created, "data": data })
        }
    }
}

/// gpt-image's answer: base64 images, the resolved options, token usage.
fn gpt_image(plan: &Plan, options: &GptImage, created: u64) -> Value {
    let data: Vec<Value> = (0..plan.count)
        .map(|index| {
            let id = image_id(
                &[plan.model, plan.prompt, options.size, options.quality],
                index,
            );
            json!({ "b64_json": encoded_picture(&id, options.output_format) })
        })
        .collect();
    let input = words(plan.prompt);
    let output = u64::from(plan.count) * options.output_tokens_per_image();
    json!({
        "created": created,
        "background": options.background,
        "data": data,
        "output_format": options.output_format,
        "quality": options.quality,
        "size": options.size,
        "usage": {
            "input_tokens": input,
            "input_tokens_details": { "image_tokens": 0, "text_tokens": input },
            "output_tokens": output,
            "total_tokens": input + output,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer_to(request: Value) -> Value {
        let request: plan::GenerationRequest = serde_json::from_value(request).unwrap();
        let plan = Plan::check(&request).unwrap();
        render(&plan, "http://sim", 5_000, 1_700_000_000)
    }

    #[test]
    fn dall_e_answers_expiring_urls_by_default() {
        let body = answer_to(json!({ "prompt": "a lighthouse", "n": 2 }));
        assert_eq!(body["created"], 1_700_000_000);
        let first = body["data"][0]["url"].as_str().unwrap();
        assert!(first.starts_with("http://sim/_sim/images/") && first.contains("exp_ms=5000&sig="));
        assert_ne!(body["data"][0], body["data"][1]);
        assert!(body.get("usage").is_none() && body["data"][0].get("revised_prompt").is_none());
        assert_eq!(body, answer_to(json!({ "prompt": "a lighthouse", "n": 2 })));
    }

    #[test]
    fn dall_e_3_revises_and_inlines() {
        let body = answer_to(json!({
            "model": "dall-e-3", "prompt": "a fox", "response_format": "b64_json", "style": "vivid",
        }));
        let image = &body["data"][0];
        assert_eq!(image["revised_prompt"], "a fox");
        assert!(image["b64_json"]
            .as_str()
            .unwrap()
            .starts_with("iVBORw0KGgo"));
    }

    #[test]
    fn gpt_image_answers_base64_with_usage_and_resolved_options() {
        let body = answer_to(json!({
            "model": "gpt-image-1", "prompt": "two words", "n": 2, "quality": "low",
            "size": "1536x1024", "output_format": "webp", "output_compression": 80,
            "moderation": "low",
        }));
        assert_eq!(body["data"].as_array().unwrap().len(), 2);
        assert!(body["data"][0]["b64_json"].is_string() && body["data"][0].get("url").is_none());
        assert_eq!(
            (
                &body["output_format"],
                &body["quality"],
                &body["size"],
                &body["background"]
            ),
            (
                &json!("webp"),
                &json!("low"),
                &json!("1536x1024"),
                &json!("opaque")
            )
        );
        assert_eq!(
            body["usage"],
            json!({
                "input_tokens": 2,
                "input_tokens_details": { "image_tokens": 0, "text_tokens": 2 },
                "output_tokens": 800,
                "total_tokens": 802,
            })
        );
    }

    #[test]
    fn gpt_image_resolves_auto() {
        let body = answer_to(json!({ "model": "gpt-image-1", "prompt": "p", "quality": "auto" }));
        assert_eq!(
            (&body["quality"], &body["size"], &body["output_format"]),
            (&json!("high"), &json!("1024x1024"), &json!("png"))
        );
        assert_eq!(body["usage"]["output_tokens"], 4160);
    }
}
