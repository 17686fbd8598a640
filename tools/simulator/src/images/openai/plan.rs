//! An OpenAI images request checked against its model family's rules, and what it will be answered
//! with. Error messages, `param` and `code` follow the real API (`invalid_value`,
//! `unknown_parameter`, `missing_required_parameter`).

use serde::Deserialize;

use crate::errors::ApiError;

/// OpenAI's limit on `n`.
const MAX_IMAGES: u32 = 10;
const GPT_QUALITIES: &[&str] = &["low", "medium", "high", "auto"];
const GPT_SIZES: &[&str] = &["1024x1024", "1536x1024", "1024x1536", "auto"];
const GPT_BACKGROUNDS: &[&str] = &["transparent", "opaque", "auto"];
const GPT_FORMATS: &[&str] = &["png", "jpeg", "webp"];
const GPT_MODERATIONS: &[&str] = &["low", "auto"];
const DALL_E_2_SIZES: &[&str] = &["256x256", "512x512", "1024x1024"];
const DALL_E_3_SIZES: &[&str] = &["1024x1024", "1792x1024", "1024x1792"];
const DALL_E_QUALITIES: &[&str] = &["standard", "hd"];
const STYLES: &[&str] = &["vivid", "natural"];
const RESPONSE_FORMATS: &[&str] = &["url", "b64_json"];

#[derive(Deserialize)]
pub struct GenerationRequest {
    prompt: Option<String>,
    model: Option<String>,
    n: Option<u32>,
    size: Option<String>,
    response_format: Option<String>,
    quality: Option<String>,
    style: Option<String>,
    background: Option<String>,
    output_format: Option<String>,
    output_compression: Option<u64>,
    moderation: Option<String>,
}

/// A request the real API would accept.
pub struct Plan<'a> {
    pub prompt: &'a str,
    pub model: &'a str,
    pub count: u32,
    pub kind: Kind<'a>,
}

pub enum Kind<'a> {
    /// dall-e and any other model: the size as asked, URL or base64, `revised_prompt` for dall-e-3.
    Classic {
        size: &'a str,
        format: Format,
        revised: bool,
    },
    GptImage(GptImage),
}

/// How a classic model hands an image back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Url,
    Base64,
}

/// gpt-image's options with `auto` resolved, as its answer reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GptImage {
    pub quality: &'static str,
    pub size: &'static str,
    pub background: &'static str,
    pub output_format: &'static str,
}

impl GptImage {
    /// gpt-image-1's published image-token counts by quality and shape.
    pub fn output_tokens_per_image(&self) -> u64 {
        let shape = match self.size {
            "1024x1536" => 1,
            "1536x1024" => 2,
            _ => 0,
        };
        let row: [u64; 3] = match self.quality {
            "low" => [272, 408, 400],
            "medium" => [1056, 1584, 1568],
            _ => [4160, 6240, 6208],
        };
        row.get(shape).copied().unwrap_or(0)
    }
}

impl<'a> Plan<'a> {
    pub fn check(request: &'a GenerationRequest) -> Result<Plan<'a>, ApiError> {
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
        let model = request.model.as_deref().unwrap_or("dall-e-2");
        let kind = if model.starts_with("gpt-image") {
            Kind::GptImage(gpt_image(request)?)
        } else {
            classic(request, model, count)?
        };
        Ok(Plan {
            prompt,
            model,
            count,
            kind,
        })
    }
}

fn gpt_image(request: &GenerationRequest) -> Result<GptImage, ApiError> {
    for (param, present) in [
        ("response_format", request.response_format.is_some()),
        ("style", request.style.is_some()),
    ] {
        if present {
            return Err(unknown(param));
        }
    }
    if let Some(compression) = request.output_compression.filter(|c| *c > 100) {
        return Err(ApiError::bad_request(format!(
            "Invalid 'output_compression': {compression} is greater than the maximum of 100."
        ))
        .param("output_compression")
        .code("integer_above_max_value"));
    }
    one_of("moderation", request.moderation.as_deref(), GPT_MODERATIONS)?;
    let quality = one_of("quality", request.quality.as_deref(), GPT_QUALITIES)?;
    let size = one_of("size", request.size.as_deref(), GPT_SIZES)?;
    let background = one_of("background", request.background.as_deref(), GPT_BACKGROUNDS)?;
    let output_format = one_of(
        "output_format",
        request.output_format.as_deref(),
        GPT_FORMATS,
    )?;
    Ok(GptImage {
        quality: resolve(quality, "high"),
        size: resolve(size, "1024x1024"),
        background: resolve(background, "opaque"),
        output_format: output_format.unwrap_or("png"),
    })
}

fn classic<'a>(
    request: &'a GenerationRequest,
    model: &str,
    count: u32,
) -> Result<Kind<'a>, ApiError> {
    let gpt_only = [
        ("background", request.background.is_some()),
        ("output_format", request.output_format.is_some()),
        ("output_compression", request.output_compression.is_some()),
        ("moderation", request.moderation.is_some()),
    ];
    if let Some((param, _)) = gpt_only.into_iter().find(|(_, present)| *present) {
        return Err(unknown(param));
    }
    dall_e(request, model, count)?;
    one_of("style", request.style.as_deref(), STYLES)?;
    let format = match one_of(
        "response_format",
        request.response_format.as_deref(),
        RESPONSE_FORMATS,
    )? {
        Some("b64_json") => Format::Base64,
        _ => Format::Url,
    };
    Ok(Kind::Classic {
        size: request.size.as_deref().unwrap_or("1024x1024"),
        format,
        revised: model == "dall-e-3",
    })
}

/// dall-e-2's and dall-e-3's sizes and qualities, and dall-e-3's single image; other models pass.
fn dall_e(request: &GenerationRequest, model: &str, count: u32) -> Result<(), ApiError> {
    let sizes = match model {
        "dall-e-2" => Some(DALL_E_2_SIZES),
        "dall-e-3" => Some(DALL_E_3_SIZES),
        _ => None,
    };
    if let Some(sizes) = sizes {
        one_of("size", request.size.as_deref(), sizes)?;
    }
    if model.starts_with("dall-e") {
        one_of("quality", request.quality.as_deref(), DALL_E_QUALITIES)?;
    }
    if model == "dall-e-3" && count != 1 {
        return Err(
            ApiError::bad_request("You must provide n=1 for this model.")
                .param("n")
                .code("invalid_value"),
        );
    }
    Ok(())
}

/// `value` as one of `allowed` (`None` when absent), or OpenAI's `invalid_value` error.
fn one_of(
    param: &str,
    value: Option<&str>,
    allowed: &[&'static str],
) -> Result<Option<&'static str>, ApiError> {
    let Some(value) = value else {
        return Ok(None);
    };
    if let Some(known) = allowed.iter().find(|a| **a == value) {
        return Ok(Some(known));
    }
    let listed: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
    Err(ApiError::bad_request(format!(
        "Invalid value: '{value}'. Supported values are: {}.",
        listed.join(", ")
    ))
    .param(param)
    .code("invalid_value"))
}

/// `auto` (or nothing) as the value the model settles on.
fn resolve(value: Option<&'static str>, auto: &'static str) -> &'static str {
    match value {
        None | Some("auto") => auto,
        Some(chosen) => chosen,
    }
}

fn unknown(param: &str) -> ApiError {
    ApiError::bad_request(format!("Unknown parameter: '{param}'."))
        .param(param)
        .code("unknown_parameter")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::Shape;
    use serde_json::{json, Value};

    /// The (param, code) of the error `request` is refused with.
    fn refusal(request: Value) -> (String, String) {
        let request: GenerationRequest = serde_json::from_value(request).unwrap();
        let error = Plan::check(&request).err().expect("refused");
        let body = &error.body(Shape::OpenAi)["error"];
        (
            body["param"].as_str().unwrap_or_default().to_string(),
            body["code"].as_str().unwrap_or_default().to_string(),
        )
    }

    fn pair(param: &str, code: &str) -> (String, String) {
        (param.to_string(), code.to_string())
    }

    #[test]
    fn requires_a_prompt_and_a_sane_n() {
        assert_eq!(
            refusal(json!({})),
            pair("prompt", "missing_required_parameter")
        );
        assert_eq!(refusal(json!({ "prompt": "p", "n": 11 })).0, "n");
        assert_eq!(refusal(json!({ "prompt": "p", "n": 0 })).0, "n");
    }

    #[test]
    fn gpt_image_refuses_classic_parameters_and_bad_values() {
        let gpt = |extra: Value| {
            let mut request = json!({ "model": "gpt-image-1", "prompt": "p" });
            request
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            refusal(request)
        };
        assert_eq!(
            gpt(json!({ "response_format": "b64_json" })),
            pair("response_format", "unknown_parameter")
        );
        assert_eq!(
            gpt(json!({ "style": "vivid" })),
            pair("style", "unknown_parameter")
        );
        assert_eq!(
            gpt(json!({ "quality": "hd" })),
            pair("quality", "invalid_value")
        );
        assert_eq!(
            gpt(json!({ "size": "512x512" })),
            pair("size", "invalid_value")
        );
        assert_eq!(
            gpt(json!({ "output_format": "gif" })),
            pair("output_format", "invalid_value")
        );
        assert_eq!(
            gpt(json!({ "background": "clear" })),
            pair("background", "invalid_value")
        );
        assert_eq!(
            gpt(json!({ "moderation": "high" })),
            pair("moderation", "invalid_value")
        );
        assert_eq!(
            gpt(json!({ "output_compression": 101 })),
            pair("output_compression", "integer_above_max_value")
        );
    }

    #[test]
    fn classic_models_refuse_gpt_image_options() {
        for param in ["background", "output_format", "moderation"] {
            let request = json!({ "model": "dall-e-3", "prompt": "p", param: "auto" });
            assert_eq!(refusal(request), pair(param, "unknown_parameter"));
        }
        let request = json!({ "prompt": "p", "output_compression": 50 });
        assert_eq!(
            refusal(request),
            pair("output_compression", "unknown_parameter")
        );
    }

    #[test]
    fn dall_e_rules() {
        let dalle3 = |extra: Value| {
            let mut request = json!({ "model": "dall-e-3", "prompt": "p" });
            request
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            refusal(request)
        };
        assert_eq!(dalle3(json!({ "n": 2 })), pair("n", "invalid_value"));
        assert_eq!(
            dalle3(json!({ "size": "512x512" })),
            pair("size", "invalid_value")
        );
        assert_eq!(
            dalle3(json!({ "quality": "low" })),
            pair("quality", "invalid_value")
        );
        assert_eq!(
            dalle3(json!({ "style": "bold" })),
            pair("style", "invalid_value")
        );
        assert_eq!(
            dalle3(json!({ "response_format": "png" })),
            pair("response_format", "invalid_value")
        );
        let small = json!({ "model": "dall-e-2", "prompt": "p", "size": "1792x1024" });
        assert_eq!(refusal(small), pair("size", "invalid_value"));
    }

    #[test]
    fn other_models_take_any_size() {
        let request: GenerationRequest =
            serde_json::from_value(json!({ "model": "flux", "prompt": "p", "size": "640x480" }))
                .unwrap();
        assert!(Plan::check(&request).is_ok());
    }

    #[test]
    fn counts_gpt_image_tokens() {
        let options = |quality, size| GptImage {
            quality,
            size,
            background: "opaque",
            output_format: "png",
        };
        assert_eq!(options("low", "1024x1024").output_tokens_per_image(), 272);
        assert_eq!(
            options("medium", "1024x1536").output_tokens_per_image(),
            1584
        );
        assert_eq!(options("high", "1536x1024").output_tokens_per_image(), 6208);
    }
}
