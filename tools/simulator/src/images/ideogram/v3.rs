//! Ideogram 3.0: `POST /v1/ideogram-v3/generate`, a `multipart/form-data` body with the key in an
//! `Api-Key` header. Fields: `prompt` (required), `num_images` 1–8, `aspect_ratio` (`1x1`, `16x9`…)
//! or `resolution` (`WxH`), `rendering_speed` FLASH/TURBO/DEFAULT/QUALITY, `magic_prompt`
//! AUTO/ON/OFF, `style_type` AUTO/GENERAL/REALISTIC/DESIGN/FICTION, `seed` 0–2147483647,
//! `negative_prompt`; other fields (and file parts) are accepted and ignored. A bad value is a 400
//! `{"detail": ...}`.

use hyper::body::Incoming;
use hyper::header::CONTENT_TYPE;
use hyper::{Request, Response};

use super::{authenticate, render, seed, Batch, MAX_IMAGES, SEED_SPACE};
use crate::attempts::Attempts;
use crate::body::SimBody;
use crate::directive::Directive;
use crate::errors::{ApiError, Shape};
use crate::images::{base_url, link};
use crate::multipart::{self, Field};
use crate::{clock, faults, intake, respond};

/// Ideogram 3.0's aspect ratios and the resolution each renders at.
const ASPECT_RATIOS: &[(&str, &str)] = &[
    ("1x1", "1024x1024"),
    ("16x9", "1312x736"),
    ("9x16", "736x1312"),
    ("4x3", "1152x864"),
    ("3x4", "864x1152"),
    ("3x2", "1248x832"),
    ("2x3", "832x1248"),
    ("16x10", "1280x800"),
    ("10x16", "800x1280"),
    ("5x4", "1120x896"),
    ("4x5", "896x1120"),
    ("2x1", "1408x704"),
    ("1x2", "704x1408"),
    ("3x1", "1536x512"),
    ("1x3", "512x1536"),
];
const RENDERING_SPEEDS: &[&str] = &["FLASH", "TURBO", "DEFAULT", "QUALITY"];
const MAGIC_PROMPTS: &[&str] = &["AUTO", "ON", "OFF"];
const STYLE_TYPES: &[&str] = &["AUTO", "GENERAL", "REALISTIC", "DESIGN", "FICTION"];
/// What `magic_prompt=ON` appends to the prompt it reports, so a rewrite can be told apart.
const MAGIC_SUFFIX: &str = " (magic prompt)";

/// A form Ideogram would accept.
#[derive(Debug, PartialEq, Eq)]
struct Generation<'a> {
    prompt: &'a str,
    count: u32,
    resolution: &'a str,
    rendering_speed: &'static str,
    magic_prompt: &'static str,
    /// AUTO resolves to GENERAL, as the answer reports it.
    style_type: &'static str,
    seed: Option<u64>,
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
    let content_type = intake::header(&parts.headers, CONTENT_TYPE.as_str()).unwrap_or_default();
    let boundary = multipart::boundary(content_type).map_err(|e| rejected(form_error(e)))?;
    let bytes = intake::read_body(body).await.map_err(rejected)?;
    let fields = multipart::parse(&bytes, &boundary).map_err(|e| rejected(form_error(e)))?;
    let generation = Generation::read(&fields).map_err(rejected)?;
    let directive = Directive::scan([generation.prompt]);
    if let Some(key) = &directive.key {
        attempts.remember_value(key, multipart::as_json(&fields));
    }
    let faults = faults::admit(Shape::Ideogram, directive, attempts).await?;
    let now_ms = clock::unix_millis();
    let base = base_url(&parts.headers, fallback_host);
    let expires_ms = link::expiry(now_ms, faults.url_ttl_ms);
    let unsafe_count = faults.unsafe_images.unwrap_or(0);
    let body = generation.render(unsafe_count, &base, expires_ms, now_ms / 1000);
    Ok(respond::deliver(body.to_string().into_bytes(), &faults))
}

fn form_error(error: multipart::FormError) -> ApiError {
    ApiError::bad_request(error.message())
}

impl<'a> Generation<'a> {
    fn read(fields: &'a [Field]) -> Result<Generation<'a>, ApiError> {
        let prompt = text(fields, "prompt")?
            .filter(|p| !p.is_empty())
            .ok_or_else(|| ApiError::bad_request("prompt: Field required"))?;
        let count = number(fields, "num_images", 1, u64::from(MAX_IMAGES))?
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(1);
        let seed = number(fields, "seed", 0, SEED_SPACE - 1)?;
        let style_type = one_of(fields, "style_type", STYLE_TYPES)?.unwrap_or("AUTO");
        Ok(Generation {
            prompt,
            count,
            resolution: resolution(fields)?,
            rendering_speed: one_of(fields, "rendering_speed", RENDERING_SPEEDS)?
                .unwrap_or("DEFAULT"),
            magic_prompt: one_of(fields, "magic_prompt", MAGIC_PROMPTS)?.unwrap_or("AUTO"),
            style_type: if style_type == "AUTO" {
                "GENERAL"
            } else {
                style_type
            },
            seed,
        })
    }

    fn render(
        &self,
        unsafe_count: u64,
        base: &str,
        expires_ms: u64,
        created_secs: u64,
    ) -> serde_json::Value {
        let seed = seed(self.seed, self.prompt);
        let seed_text = seed.to_string();
        let rendered = match self.magic_prompt {
            "ON" => format!("{}{MAGIC_SUFFIX}", self.prompt),
            _ => self.prompt.to_string(),
        };
        let id_fields = [
            "V_3",
            self.prompt,
            self.resolution,
            self.rendering_speed,
            &seed_text,
        ];
        let batch = Batch {
            id_fields: &id_fields,
            prompt: &rendered,
            resolution: self.resolution,
            seed,
            style_type: Some(self.style_type),
            count: self.count,
            unsafe_count,
        };
        render(&batch, base, expires_ms, created_secs)
    }
}

/// The text of the first field called `name`; a file part there is a 400.
fn text<'a>(fields: &'a [Field], name: &str) -> Result<Option<&'a str>, ApiError> {
    match fields.iter().find(|f| f.name == name) {
        None => Ok(None),
        Some(field) => field
            .text()
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(format!("{name}: must be a text field"))),
    }
}

/// The integer in field `name`, which must lie in `low..=high`.
fn number(fields: &[Field], name: &str, low: u64, high: u64) -> Result<Option<u64>, ApiError> {
    let Some(value) = text(fields, name)? else {
        return Ok(None);
    };
    match value.trim().parse::<u64>() {
        Ok(n) if (low..=high).contains(&n) => Ok(Some(n)),
        _ => Err(ApiError::bad_request(format!(
            "{name}: must be an integer between {low} and {high}"
        ))),
    }
}

fn one_of(
    fields: &[Field],
    name: &str,
    allowed: &[&'static str],
) -> Result<Option<&'static str>, ApiError> {
    let Some(value) = text(fields, name)? else {
        return Ok(None);
    };
    match allowed.iter().find(|a| **a == value.trim()) {
        Some(known) => Ok(Some(known)),
        None => Err(ApiError::bad_request(format!(
            "{name}: must be one of {}",
            allowed.join(", ")
        ))),
    }
}

/// From `aspect_ratio` (Ideogram 3.0's list) or `resolution` (`WxH`, 256–2048, multiples of 16),
/// never both; square when neither.
fn resolution(fields: &[Field]) -> Result<&str, ApiError> {
    let aspect = text(fields, "aspect_ratio")?;
    let pixels = text(fields, "resolution")?;
    match (aspect, pixels) {
        (Some(_), Some(_)) => Err(ApiError::bad_request(
            "aspect_ratio and resolution cannot be used together",
        )),
        (Some(aspect), None) => ASPECT_RATIOS
            .iter()
            .find(|(ratio, _)| *ratio == aspect.trim())
            .map(|(_, pixels)| *pixels)
            .ok_or_else(|| {
                let ratios: Vec<&str> = ASPECT_RATIOS.iter().map(|(ratio, _)| *ratio).collect();
                ApiError::bad_request(format!(
                    "aspect_ratio: must be one of {}",
                    ratios.join(", ")
                ))
            }),
        (None, Some(pixels)) => {
            let side = |s: &str| {
                s.parse::<u32>()
                    .ok()
                    .filter(|n| (256..=2048).contains(n) && n % 16 == 0)
            };
            match pixels.trim().split_once('x') {
                Some((w, h)) if side(w).is_some() && side(h).is_some() => Ok(pixels.trim()),
                _ => Err(ApiError::bad_request(
                    "resolution: must be WIDTHxHEIGHT, each 256-2048 and a multiple of 16",
                )),
            }
        }
        (None, None) => Ok("1024x1024"),
    }
}

#[cfg(test)]
#[path = "v3/tests.rs"]
mod tests;
