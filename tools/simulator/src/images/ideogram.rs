//! Ideogram's generate endpoints — 3.0's multipart `POST /v1/ideogram-v3/generate` and the legacy
//! JSON `POST /generate` — and the answer they share:
//! `{"created": <RFC 3339>, "data": [{"url", "prompt", "resolution", "seed", "is_image_safe", "style_type"?}]}`,
//! where an image withheld as unsafe (`unsafe=K`) has `is_image_safe: false` and no `url`.

pub mod legacy;
pub mod v3;

use hyper::HeaderMap;
use serde_json::{json, Value};

use super::{image_id, link};
use crate::errors::ApiError;
use crate::{clock, digest, intake};

/// Ideogram's limit on `num_images`.
const MAX_IMAGES: u32 = 8;
/// Seeds are 31-bit in Ideogram's API.
const SEED_SPACE: u64 = 2_147_483_648;

/// What one answer is made of.
pub struct Batch<'a> {
    /// What the image ids are derived from (the index is added).
    pub id_fields: &'a [&'a str],
    /// The prompt as rendered (Ideogram reports a magic-prompt rewrite here).
    pub prompt: &'a str,
    pub resolution: &'a str,
    /// The first image's seed; the next ones count up from it.
    pub seed: u64,
    pub style_type: Option<&'a str>,
    pub count: u32,
    /// How many of the first images come back unsafe, without a URL.
    pub unsafe_count: u64,
}

/// The `Api-Key` check both endpoints make.
fn authenticate(headers: &HeaderMap) -> Result<(), ApiError> {
    intake::check_key(
        intake::header(headers, "api-key"),
        "Api-Key header is required.",
    )
}

/// The request's seed, else one derived from the prompt, within Ideogram's range.
fn seed(requested: Option<u64>, prompt: &str) -> u64 {
    requested.unwrap_or_else(|| digest::fnv1a(prompt.as_bytes())) % SEED_SPACE
}

/// The answer to `batch`: URLs under `base` valid until `expires_ms`, `created` at `created_secs`.
fn render(batch: &Batch, base: &str, expires_ms: u64, created_secs: u64) -> Value {
    let data: Vec<Value> = (0..batch.count)
        .map(|index| {
            let safe = u64::from(index) >= batch.unsafe_count;
            let mut image = json!({
                "prompt": batch.prompt,
                "resolution": batch.resolution,
                "seed": (batch.seed + u64::from(index)) % SEED_SPACE,
                "is_image_safe": safe,
            });
            if let Some(fields) = image.as_object_mut() {
                if safe {
                    let id = image_id(batch.id_fields, index);
                    fields.insert("url".into(), json!(link::url(base, &id, expires_ms)));
                }
                if let Some(style) = batch.style_type {
                    fields.insert("style_type".into(), json!(style));
                }
            }
            image
        })
        .collect();
    json!({ "created": clock::rfc3339(created_secs), "data": data })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(unsafe_count: u64) -> Batch<'static> {
        Batch {
            id_fields: &["V_3", "a cat"],
            prompt: "a cat",
            resolution: "1024x1024",
            seed: SEED_SPACE - 1,
            style_type: Some("GENERAL"),
            count: 3,
            unsafe_count,
        }
    }

    #[test]
    fn renders_every_image_with_counting_seeds() {
        let body = render(&batch(0), "http://sim", 9_000, 0);
        assert_eq!(body["created"], "1970-01-01T00:00:00+00:00");
        let data = body["data"].as_array().unwrap();
        assert_eq!(data.len(), 3);
        assert_eq!(
            (&data[0]["seed"], &data[1]["seed"]),
            (&json!(SEED_SPACE - 1), &json!(0))
        );
        assert!(data.iter().all(|image| image["is_image_safe"] == true
            && image["style_type"] == "GENERAL"
            && image["url"].as_str().unwrap().contains("exp_ms=9000")));
        assert_ne!(data[0]["url"], data[1]["url"]);
    }

    #[test]
    fn withholds_the_first_unsafe_images() {
        let body = render(&batch(2), "http://sim", 9_000, 0);
        let safe: Vec<(bool, bool)> = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|image| {
                (
                    image["is_image_safe"].as_bool().unwrap(),
                    image.get("url").is_some(),
                )
            })
            .collect();
        assert_eq!(safe, [(false, false), (false, false), (true, true)]);
        let all = render(&batch(99), "http://sim", 9_000, 0);
        assert!(all["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i.get("url").is_none()));
    }

    #[test]
    fn seeds_come_from_the_request_or_the_prompt() {
        assert_eq!(seed(Some(7), "x"), 7);
        assert_eq!(seed(Some(SEED_SPACE + 7), "x"), 7);
        assert_eq!(seed(None, "x"), seed(None, "x"));
        assert_ne!(seed(None, "x"), seed(None, "y"));
    }
}
