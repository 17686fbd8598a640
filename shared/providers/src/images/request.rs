//! The caller's `POST /v1/images/generations` body → [`ImageRequest`].

use envelope::ApiError;
use serde_json::{Map, Value};

use super::{
    Background, ImageRequest, Moderation, OutputFormat, Quality, ResponseFormat, Size, Style,
    MAX_IMAGES,
};
use crate::field::{self, echo, Object};

/// Largest side we pass on in a `WxH` size (upstreams refuse what they do not render).
const MAX_SIDE: u32 = 8192;

/// Validates an OpenAI images body: `prompt` and `model` required and non-empty; `n` 1..=10; `size`
/// `auto` or `WxH`; `quality`, `response_format`, `background`, `output_format`, `moderation` and
/// `style` from their sets; `output_compression` 0..=100; `user`. Unknown fields are refused; every
/// error names its field in `param`.
pub fn parse_request(body: &[u8]) -> Result<ImageRequest, ApiError> {
    let mut map = field::object(envelope::parse_value(body)?, "")?;
    let prompt = field::required_string(&mut map, "prompt", "")?;
    let model = field::required_string(&mut map, "model", "")?;
    let n = count(&mut map)?;
    let size = field::string(&mut map, "size", "")?
        .map(|text| size(&text))
        .transpose()?;
    let quality = choice(&mut map, "quality", Quality::parse, Quality::ALL)?;
    let response_format = choice(
        &mut map,
        "response_format",
        ResponseFormat::parse,
        ResponseFormat::ALL,
    )?
    .unwrap_or(ResponseFormat::Url);
    let background = choice(&mut map, "background", Background::parse, Background::ALL)?;
    let output_format = choice(
        &mut map,
        "output_format",
        OutputFormat::parse,
        OutputFormat::ALL,
    )?;
    let output_compression = compression(&mut map)?;
    let moderation = choice(&mut map, "moderation", Moderation::parse, Moderation::ALL)?;
    let style = choice(&mut map, "style", Style::parse, Style::ALL)?;
    let user = field::string(&mut map, "user", "")?;
    if let Some(key) = map.keys().next() {
        return Err(ApiError::unknown_field(key));
    }
    Ok(ImageRequest {
        prompt,
        model,
        n,
        size,
        quality,
        response_format,
        background,
        output_format,
        output_compression,
        moderation,
        style,
        user,
        extra: Map::new(),
    })
}

fn count(map: &mut Object) -> Result<u32, ApiError> {
    let Some(value) = field::take(map, "n") else {
        return Ok(1);
    };
    let n = value
        .as_i64()
        .ok_or_else(|| ApiError::invalid_field("n", "must be an integer"))?;
    u32::try_from(n)
        .ok()
        .filter(|n| (1..=MAX_IMAGES).contains(n))
        .ok_or_else(|| ApiError::invalid_field("n", format_args!("must be 1 to {MAX_IMAGES}")))
}

fn compression(map: &mut Object) -> Result<Option<u8>, ApiError> {
    let at = "output_compression";
    let Some(value) = field::take(map, at) else {
        return Ok(None);
    };
    let n = value
        .as_i64()
        .ok_or_else(|| ApiError::invalid_field(at, "must be an integer"))?;
    u8::try_from(n)
        .ok()
        .filter(|n| *n <= 100)
        .map(Some)
        .ok_or_else(|| ApiError::invalid_field(at, "must be 0 to 100"))
}

/// `auto` or `WxH` with both sides 1..=8192.
fn size(text: &str) -> Result<Size, ApiError> {
    if text == "auto" {
        return Ok(Size::Auto);
    }
    let side = |s: &str| {
        s.parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_SIDE).contains(n) && s.bytes().all(|b| b.is_ascii_digit()))
    };
    text.split_once('x')
        .and_then(|(w, h)| Some((side(w)?, side(h)?)))
        .map(|(width, height)| Size::Pixels { width, height })
        .ok_or_else(|| {
            ApiError::invalid_field(
                "size",
                format_args!(
                    "must be \"auto\" or WIDTHxHEIGHT (e.g. \"1024x1024\"), found {}",
                    echo(text)
                ),
            )
        })
}

/// A string from a closed set.
fn choice<T>(
    map: &mut Object,
    key: &str,
    parse: fn(&str) -> Option<T>,
    all: &[&str],
) -> Result<Option<T>, ApiError> {
    match field::take(map, key) {
        None => Ok(None),
        Some(Value::String(text)) => parse(&text).map(Some).ok_or_else(|| {
            ApiError::invalid_field(
                key,
                format_args!("must be one of {}, found {}", all.join(", "), echo(&text)),
            )
        }),
        Some(_) => Err(ApiError::invalid_field(key, "must be a string")),
    }
}
