//! Upstream answers → [`ImageResponse`], and what our clients are sent.

use serde_json::{json, Map, Value};

use super::{
    GeneratedImage, ImageContent, ImageResponse, ImageUsage, OutputFormat, ResponseFormat,
    StoredImage,
};
use crate::upstream::{self, ProviderKind, UpstreamError};

/// Reads an upstream answer. A non-2xx is classified (a refused prompt becomes
/// [`UpstreamError::ContentPolicy`]). OpenAI-style: `data[].b64_json` (or `url`, from a compatible server
/// that ignored `response_format`), the mime type from the answer's `output_format` (PNG when absent),
/// and gpt-image's token `usage`. Ideogram: `data[].url`; images marked `is_image_safe: false` carry no
/// URL and are skipped and counted, and when every image was withheld that is a content-policy refusal.
pub fn parse_response(
    kind: ProviderKind,
    status: u16,
    body: &[u8],
) -> Result<ImageResponse, UpstreamError> {
    if !(200..300).contains(&status) {
        return Err(upstream::classify(status, None, body));
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|_| malformed("the body is not JSON"))?;
    if let Some(err) = upstream::error_in_body(&value) {
        return Err(err);
    }
    let data = value
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("data missing"))?;
    let response = match kind {
        ProviderKind::OpenAi | ProviderKind::OpenAiCompatible => openai(&value, data)?,
        ProviderKind::Ideogram => ideogram(data)?,
        ProviderKind::Anthropic => return Err(malformed("anthropic has no image generation")),
    };
    if response.images.is_empty() {
        return Err(if response.unsafe_skipped > 0 {
            UpstreamError::ContentPolicy {
                message: "the provider withheld every image as unsafe".to_owned(),
            }
        } else {
            malformed("the answer holds no image")
        });
    }
    Ok(response)
}

fn openai(value: &Value, data: &[Value]) -> Result<ImageResponse, UpstreamError> {
    let mime = text(value, "output_format")
        .and_then(|format| OutputFormat::parse(&format))
        .unwrap_or(OutputFormat::Png)
        .mime();
    let images = data
        .iter()
        .map(|item| {
            let content = match (text(item, "b64_json"), text(item, "url")) {
                (Some(b64), _) => ImageContent::Bytes { b64, mime },
                (None, Some(url)) => ImageContent::Url { url },
                (None, None) => return Err(malformed("an image has neither b64_json nor url")),
            };
            Ok(GeneratedImage {
                content,
                revised_prompt: text(item, "revised_prompt"),
            })
        })
        .collect::<Result<_, _>>()?;
    let usage = match value.get("usage").filter(|usage| !usage.is_null()) {
        None => None,
        Some(usage) => {
            let tokens = |key: &str| usage.get(key).and_then(Value::as_u64);
            let (Some(input_tokens), Some(output_tokens)) =
                (tokens("input_tokens"), tokens("output_tokens"))
            else {
                return Err(malformed("usage unreadable"));
            };
            Some(ImageUsage {
                input_tokens,
                output_tokens,
            })
        }
    };
    Ok(ImageResponse {
        images,
        usage,
        unsafe_skipped: 0,
    })
}

fn ideogram(data: &[Value]) -> Result<ImageResponse, UpstreamError> {
    let mut images = Vec::with_capacity(data.len());
    let mut unsafe_skipped = 0u32;
    for item in data {
        if item.get("is_image_safe").and_then(Value::as_bool) == Some(false) {
            unsafe_skipped = unsafe_skipped.saturating_add(1);
            continue;
        }
        let url = text(item, "url").ok_or_else(|| malformed("a safe image has no url"))?;
        images.push(GeneratedImage {
            content: ImageContent::Url { url },
            // Ideogram answers with the prompt it rendered (rewritten when magic prompt is on).
            revised_prompt: text(item, "prompt"),
        });
    }
    Ok(ImageResponse {
        images,
        usage: None,
        unsafe_skipped,
    })
}

/// The answer in OpenAI's images shape: `{created, data: [{url} | {b64_json}, revised_prompt?], usage?}`.
/// With `b64_json`, an image whose bytes the shell did not keep is given by URL.
pub fn render_response(
    images: &[StoredImage],
    created: i64,
    format: ResponseFormat,
    usage: Option<ImageUsage>,
) -> Value {
    let data: Vec<Value> = images
        .iter()
        .map(|image| {
            let mut item = Map::new();
            match (&image.b64, format) {
                (Some(b64), ResponseFormat::B64Json) => item.insert("b64_json".into(), json!(b64)),
                _ => item.insert("url".into(), json!(image.url)),
            };
            if let Some(prompt) = &image.revised_prompt {
                item.insert("revised_prompt".into(), json!(prompt));
            }
            Value::Object(item)
        })
        .collect();
    let mut body = json!({ "created": created, "data": data });
    if let (Some(usage), Some(fields)) = (usage, body.as_object_mut()) {
        fields.insert(
            "usage".into(),
            json!({
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "total_tokens": usage.input_tokens.saturating_add(usage.output_tokens),
            }),
        );
    }
    body
}

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn malformed(detail: &str) -> UpstreamError {
    UpstreamError::Malformed {
        detail: detail.to_owned(),
    }
}
