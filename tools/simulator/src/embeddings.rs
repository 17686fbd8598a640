//! OpenAI embeddings (`POST /v1/embeddings`): deterministic unit vectors. Each input (a string, or an
//! array of token ids) gets `dimensions` (default [`DEFAULT_DIMENSIONS`]) floats derived from FNV-1a of
//! the model and the input, normalised to length 1; the same input always gets the same vector.
//! `encoding_format: base64` sends the little-endian f32 bytes in base64, as OpenAI does.
//! **prompt_tokens** = the inputs' words (token arrays: their length). Faults as for chat, from the
//! directives in the input texts.

use base64::Engine;
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::attempts::Attempts;
use crate::body::SimBody;
use crate::conversation::words;
use crate::digest::fnv1a;
use crate::directive::Directive;
use crate::errors::{ApiError, Shape};
use crate::{faults, intake, respond};

pub const DEFAULT_DIMENSIONS: usize = 8;
const MAX_DIMENSIONS: usize = 4096;

#[derive(Deserialize)]
struct EmbeddingsRequest {
    model: Option<String>,
    input: Option<Value>,
    encoding_format: Option<String>,
    dimensions: Option<u64>,
}

pub async fn handle(request: Request<Incoming>, attempts: &Attempts) -> Response<SimBody> {
    match answer(request, attempts).await {
        Ok(response) | Err(response) => response,
    }
}

async fn answer(
    request: Request<Incoming>,
    attempts: &Attempts,
) -> Result<Response<SimBody>, Response<SimBody>> {
    let rejected = |error: ApiError| error.render(Shape::OpenAi);
    let (parts, body) = request.into_parts();
    intake::check_key(
        intake::bearer(&parts.headers),
        "You didn't provide an API key. Send it in an Authorization header using Bearer auth.",
    )
    .map_err(rejected)?;
    let bytes = intake::read_body(body).await.map_err(rejected)?;
    let request: EmbeddingsRequest = intake::parse_json(&bytes).map_err(rejected)?;
    let model = request.model.filter(|m| !m.is_empty()).ok_or_else(|| {
        rejected(ApiError::bad_request("you must provide a model parameter").param("model"))
    })?;
    let inputs = inputs(request.input.as_ref()).map_err(rejected)?;
    let texts: Vec<&str> = inputs.iter().filter_map(|i| i.text.as_deref()).collect();
    let directive = Directive::scan(texts.iter().copied());
    if let Some(key) = &directive.key {
        attempts.remember(key, &bytes);
    }
    let faults = faults::admit(Shape::OpenAi, directive, attempts).await?;
    let dimensions = request
        .dimensions
        .map_or(DEFAULT_DIMENSIONS, |d| {
            usize::try_from(d).unwrap_or(MAX_DIMENSIONS)
        })
        .clamp(1, MAX_DIMENSIONS);
    let base64 = request.encoding_format.as_deref() == Some("base64");
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, input)| {
            let vector = vector(&model, &input.key, dimensions);
            let embedding = if base64 {
                let bytes: Vec<u8> = vector.iter().flat_map(|f| f.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(vector)
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    let tokens: u64 = inputs.iter().map(|i| i.tokens).sum();
    let body = json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    });
    Ok(respond::deliver(body.to_string().into_bytes(), &faults))
}

struct Item {
    /// What the vector is derived from.
    key: String,
    text: Option<String>,
    tokens: u64,
}

fn inputs(input: Option<&Value>) -> Result<Vec<Item>, ApiError> {
    let invalid = || {
        ApiError::bad_request("'input' must be a string, an array of strings, or token arrays.")
            .param("input")
    };
    let text = |t: &str| Item {
        key: t.to_owned(),
        text: Some(t.to_owned()),
        tokens: words(t),
    };
    let ids = |a: &[Value]| -> Option<Item> {
        let ids: Vec<u64> = a.iter().map(Value::as_u64).collect::<Option<_>>()?;
        Some(Item {
            key: format!("{ids:?}"),
            text: None,
            tokens: ids.len() as u64,
        })
    };
    match input {
        Some(Value::String(t)) if !t.is_empty() => Ok(vec![text(t)]),
        Some(Value::Array(items)) if !items.is_empty() => {
            if items.iter().all(Value::is_u64) {
                return ids(items).map(|i| vec![i]).ok_or_else(invalid);
            }
            items
                .iter()
                .map(|item| match item {
                    Value::String(t) if !t.is_empty() => Ok(text(t)),
                    Value::Array(a) if !a.is_empty() => ids(a).ok_or_else(invalid),
                    _ => Err(invalid()),
                })
                .collect()
        }
        _ => Err(invalid()),
    }
}

/// `dimensions` floats from FNV-1a of (model, input, position), normalised to length 1.
pub fn vector(model: &str, input: &str, dimensions: usize) -> Vec<f32> {
    let raw: Vec<f64> = (0..dimensions)
        .map(|i| {
            let hash = fnv1a(format!("{model}\u{0}{input}\u{0}{i}").as_bytes());
            (hash % 2_000_001) as f64 / 1_000_000.0 - 1.0
        })
        .collect();
    let norm = raw
        .iter()
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE);
    raw.iter().map(|x| (x / norm) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_deterministic_unit_vectors() {
        let a = vector("m", "hello", 8);
        assert_eq!(a, vector("m", "hello", 8));
        assert_ne!(a, vector("m", "hello!", 8));
        assert_ne!(a, vector("m2", "hello", 8));
        let length: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((length - 1.0).abs() < 1e-5);
        assert_eq!(vector("m", "x", 3).len(), 3);
    }

    #[test]
    fn reads_every_input_form() {
        let n = |v: Value| inputs(Some(&v)).map(|i| i.iter().map(|x| x.tokens).collect::<Vec<_>>());
        assert_eq!(n(json!("two words")).unwrap(), [2]);
        assert_eq!(n(json!(["a", "b c"])).unwrap(), [1, 2]);
        assert_eq!(n(json!([1, 2, 3])).unwrap(), [3]);
        assert_eq!(n(json!([[1, 2], [3]])).unwrap(), [2, 1]);
        assert!(n(json!([])).is_err() && n(json!("")).is_err() && n(json!([1, "a"])).is_err());
    }
}
