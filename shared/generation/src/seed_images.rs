//! The seed's simple shape for image models: `{"prompt", "model_id", "options": {n, size, quality,
//! response_format, …}}` in (the options are those of the OpenAI images API, validated by the one
//! parser), `{"object":"generation", "images": [{"url"…}], …}` out.

use envelope::ApiError;
use providers::images::ImageRequest;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tenancy::inputs::Capability;

use crate::Catalog;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedRequest {
    prompt: String,
    model_id: String,
    #[serde(default)]
    options: Map<String, Value>,
}

/// The options a seed caller may set (the OpenAI images fields other than `prompt` and `model`).
const OPTIONS: &[&str] = &[
    "n",
    "size",
    "quality",
    "response_format",
    "background",
    "output_format",
    "output_compression",
    "moderation",
    "style",
    "user",
];

/// Whether a seed `POST /generate` body names an image model of `catalog` (one that makes images and
/// cannot chat): the image worker answers it. Anything unreadable is left to the text path's errors.
pub fn names_image_model(body: &[u8], catalog: &Catalog) -> bool {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    let Some(route) = value
        .get("model_id")
        .and_then(Value::as_str)
        .and_then(|model| catalog.route(model))
    else {
        return false;
    };
    let capabilities = &route.config.capabilities;
    capabilities.contains(&Capability::Image) && !capabilities.contains(&Capability::Chat)
}

pub fn parse_request(body: &[u8]) -> Result<ImageRequest, ApiError> {
    let seed: SeedRequest = envelope::parse_object(body)?;
    let mut request = Map::new();
    for (key, value) in seed.options {
        if !OPTIONS.contains(&key.as_str()) {
            return Err(ApiError::unknown_field(&format!("options.{key}")));
        }
        request.insert(key, value);
    }
    request.insert("prompt".into(), json!(seed.prompt));
    request.insert("model".into(), json!(seed.model_id));
    providers::images::parse_request(Value::Object(request).to_string().as_bytes()).map_err(
        |mut e| {
            // The caller named `model_id` and `options.*`, not the OpenAI fields.
            e.param = e.param.map(|p| match p.as_str() {
                "model" => "model_id".to_owned(),
                "prompt" => p,
                _ => format!("options.{p}"),
            });
            e
        },
    )
}

/// The seed's answer: the OpenAI images `data` as `images`, with the request's id and model.
pub fn render_response(openai: &Value, model: &str, request_id: &str) -> Value {
    let mut body = json!({
        "object": "generation",
        "id": format!("gen-{request_id}"),
        "model": model,
        "images": openai.get("data").cloned().unwrap_or_else(|| json!([])),
        "request_id": request_id,
    });
    if let (Some(usage), Some(fields)) = (openai.get("usage"), body.as_object_mut()) {
        fields.insert("usage".into(), usage.clone());
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: Value) -> Result<ImageRequest, ApiError> {
        parse_request(body.to_string().as_bytes())
    }

    #[test]
    fn the_seed_shape_reads_as_the_openai_request() {
        let req = parse(json!({"prompt": "a fox", "model_id": "ideo", "options": {"n": 2, "size": "1024x1024"}}))
            .unwrap();
        assert_eq!(
            (req.prompt.as_str(), req.model.as_str(), req.n),
            ("a fox", "ideo", 2)
        );
        assert_eq!(
            parse(json!({"prompt": "a fox", "model_id": "ideo"}))
                .unwrap()
                .n,
            1
        );
    }

    #[test]
    fn errors_name_the_seed_fields() {
        let param = |body: Value| parse(body).unwrap_err().param;
        assert_eq!(
            param(json!({"prompt": "x", "model_id": "m", "options": {"n": 99}})).as_deref(),
            Some("options.n")
        );
        assert_eq!(
            param(json!({"prompt": "x", "model_id": "m", "options": {"seed": 1}})).as_deref(),
            Some("options.seed")
        );
        assert_eq!(
            param(json!({"prompt": "x", "model_id": ""})).as_deref(),
            Some("model_id")
        );
        assert!(parse(json!({"prompt": "x"})).is_err());
    }

    #[test]
    fn the_answer_carries_the_images_and_usage() {
        let openai = json!({"created": 1, "data": [{"url": "https://h/images/k.png"}], "usage": {"input_tokens": 1}});
        let seed = render_response(&openai, "ideo", "req_1");
        assert_eq!(seed["object"], "generation");
        assert_eq!(seed["images"][0]["url"], "https://h/images/k.png");
        assert_eq!(seed["usage"]["input_tokens"], 1);
        assert_eq!(seed["request_id"], "req_1");
    }
}
