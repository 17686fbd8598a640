//! `POST /v1/embeddings` in the OpenAI wire format, both sides: the caller's request validated, the
//! upstream request for OpenAI and OpenAI-compatible servers (Anthropic has no embeddings API), the
//! upstream answer read, and the answer rendered under the caller's model name. The vectors pass through
//! as the upstream sent them (floats or, with `encoding_format: base64`, base64 strings).

use envelope::ApiError;
use serde_json::{json, Map, Value};

use crate::field::{self, echo};
use crate::tokens::estimate_text_tokens;
use crate::upstream::{self, Credentials, HttpRequest, ProviderKind, UpstreamError};

/// OpenAI's limit on inputs per request.
pub const MAX_INPUTS: usize = 2048;

/// A validated embeddings request.
#[derive(Clone, Debug, PartialEq)]
pub struct EmbeddingRequest {
    pub model: String,
    pub input: Input,
    /// `float` (the default) or `base64`.
    pub encoding_format: Option<String>,
    pub dimensions: Option<u32>,
    pub user: Option<String>,
}

/// What is embedded: texts, or token arrays (OpenAI accepts both).
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// One string was sent (`"input": "…"`) or several.
    Texts { texts: Vec<String>, single: bool },
    /// Arrays of token ids (one array sent as `[1,2,3]` is `single`).
    Tokens { tokens: Vec<Vec<u64>>, single: bool },
}

impl Input {
    /// How many vectors the answer must hold.
    pub fn len(&self) -> usize {
        match self {
            Input::Texts { texts, .. } => texts.len(),
            Input::Tokens { tokens, .. } => tokens.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn to_json(&self) -> Value {
        match self {
            Input::Texts { texts, single } => match (single, texts.as_slice()) {
                (true, [one]) => json!(one),
                _ => json!(texts),
            },
            Input::Tokens { tokens, single } => match (single, tokens.as_slice()) {
                (true, [one]) => json!(one),
                _ => json!(tokens),
            },
        }
    }
}

/// Validates an OpenAI embeddings body: `model`; `input` a non-empty string, an array of 1..=2048
/// non-empty strings, an array of token ids, or an array of such arrays; `encoding_format` `float` or
/// `base64`; `dimensions` ≥ 1; `user`. Unknown fields are refused.
pub fn parse_request(body: &[u8]) -> Result<EmbeddingRequest, ApiError> {
    let mut map = field::object(envelope::parse_value(body)?, "")?;
    let model = field::required_string(&mut map, "model", "")?;
    let input = input(field::take(&mut map, "input"))?;
    let encoding_format = field::string(&mut map, "encoding_format", "")?;
    if let Some(format) = &encoding_format {
        if format != "float" && format != "base64" {
            return Err(ApiError::invalid_field(
                "encoding_format",
                format_args!("must be \"float\" or \"base64\", found {}", echo(format)),
            ));
        }
    }
    let dimensions = field::token_count(&mut map, "dimensions")?;
    let user = field::string(&mut map, "user", "")?;
    if let Some(key) = map.keys().next() {
        return Err(ApiError::unknown_field(key));
    }
    Ok(EmbeddingRequest {
        model,
        input,
        encoding_format,
        dimensions,
        user,
    })
}

fn input(value: Option<Value>) -> Result<Input, ApiError> {
    let at = "input";
    let items = match value {
        None => return Err(ApiError::missing_field(at)),
        Some(Value::String(text)) if text.is_empty() => {
            return Err(ApiError::invalid_field(at, "must not be empty"))
        }
        Some(Value::String(text)) => {
            return Ok(Input::Texts {
                texts: vec![text],
                single: true,
            })
        }
        Some(Value::Array(items)) if items.is_empty() => {
            return Err(ApiError::invalid_field(at, "must not be empty"))
        }
        Some(Value::Array(items)) if items.len() > MAX_INPUTS => {
            return Err(ApiError::invalid_field(
                at,
                format_args!("at most {MAX_INPUTS} inputs per request"),
            ))
        }
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(ApiError::invalid_field(
                at,
                "must be a string, an array of strings, or token arrays",
            ))
        }
    };
    if items.iter().all(Value::is_u64) {
        let tokens = items.iter().filter_map(Value::as_u64).collect();
        return Ok(Input::Tokens {
            tokens: vec![tokens],
            single: true,
        });
    }
    if items.iter().all(Value::is_array) {
        let mut tokens = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let ids: Vec<u64> = item
                .as_array()
                .map(|ids| ids.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default();
            if ids.is_empty() || Some(ids.len()) != item.as_array().map(Vec::len) {
                return Err(ApiError::invalid_field(
                    &format!("input[{index}]"),
                    "must be a non-empty array of token ids",
                ));
            }
            tokens.push(ids);
        }
        return Ok(Input::Tokens {
            tokens,
            single: false,
        });
    }
    let mut texts = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        match item {
            Value::String(text) if !text.is_empty() => texts.push(text),
            _ => {
                return Err(ApiError::invalid_field(
                    &format!("input[{index}]"),
                    "must be a non-empty string",
                ))
            }
        }
    }
    Ok(Input::Texts {
        texts,
        single: false,
    })
}

/// A conservative count of the input tokens (texts by [`estimate_text_tokens`], token arrays by length):
/// what the rate limiter reserves.
pub fn estimate_tokens(req: &EmbeddingRequest) -> u64 {
    match &req.input {
        Input::Texts { texts, .. } => texts.iter().map(|t| estimate_text_tokens(t)).sum(),
        Input::Tokens { tokens, .. } => tokens.iter().map(|t| t.len() as u64).sum(),
    }
}

/// An upper bound of the tokens any provider can count for the input: one per byte of text (no
/// tokenizer makes more), the token arrays as they are.
pub fn tokens_bound(req: &EmbeddingRequest) -> u64 {
    match &req.input {
        Input::Texts { texts, .. } => texts.iter().map(|t| crate::tokens::byte_tokens(t)).sum(),
        Input::Tokens { tokens, .. } => tokens.iter().map(|t| t.len() as u64).sum(),
    }
}

/// `POST {base}/embeddings` with `upstream_model`. Anthropic has no embeddings API: 400.
pub fn build_request(
    kind: ProviderKind,
    req: &EmbeddingRequest,
    upstream_model: &str,
    creds: &Credentials,
) -> Result<HttpRequest, ApiError> {
    if kind == ProviderKind::Anthropic {
        return Err(ApiError::invalid_field(
            "model",
            "anthropic models have no embeddings; use an OpenAI or OpenAI-compatible model",
        ));
    }
    if kind == ProviderKind::Ideogram {
        return Err(ApiError::invalid_field(
            "model",
            "ideogram models generate images, not embeddings",
        ));
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(upstream_model));
    body.insert("input".into(), req.input.to_json());
    if let Some(format) = &req.encoding_format {
        body.insert("encoding_format".into(), json!(format));
    }
    if let Some(dimensions) = req.dimensions {
        body.insert("dimensions".into(), json!(dimensions));
    }
    if let Some(user) = &req.user {
        body.insert("user".into(), json!(user));
    }
    upstream::openai_post(kind, "embeddings", &Value::Object(body), creds)
}

/// An upstream answer: the vectors as sent, and the input tokens it billed.
#[derive(Clone, Debug, PartialEq)]
pub struct EmbeddingResponse {
    /// `{"object":"embedding","index","embedding"}` items, in index order.
    pub data: Vec<Value>,
    pub model: String,
    pub prompt_tokens: u64,
}

/// Reads an upstream answer. It must hold one vector per input; OpenAI-compatible servers may omit usage
/// (read as zero, and then the estimate is recorded).
pub fn parse_response(
    kind: ProviderKind,
    status: u16,
    body: &[u8],
    inputs: usize,
) -> Result<EmbeddingResponse, UpstreamError> {
    if !(200..300).contains(&status) {
        return Err(upstream::classify(status, None, body));
    }
    let malformed = |detail: &str| UpstreamError::Malformed {
        detail: detail.to_owned(),
    };
    let value: Value =
        serde_json::from_slice(body).map_err(|_| malformed("the body is not JSON"))?;
    let mut data: Vec<Value> = value
        .get("data")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| malformed("data missing"))?;
    if data.len() != inputs || data.iter().any(|d| d.get("embedding").is_none()) {
        return Err(malformed(
            "the answer does not hold one embedding per input",
        ));
    }
    data.sort_by_key(|d| d.get("index").and_then(Value::as_u64).unwrap_or(u64::MAX));
    let prompt_tokens = match value.get("usage").and_then(|u| u.get("prompt_tokens")) {
        Some(tokens) => tokens
            .as_u64()
            .ok_or_else(|| malformed("usage unreadable"))?,
        None if kind == ProviderKind::OpenAi => return Err(malformed("usage missing")),
        None => 0,
    };
    Ok(EmbeddingResponse {
        data,
        model: value
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        prompt_tokens,
    })
}

/// The answer as the OpenAI SDKs read it, under the caller's model name, with `prompt_tokens` as counted.
pub fn render_response(resp: &EmbeddingResponse, model_alias: &str, prompt_tokens: u64) -> Value {
    json!({
        "object": "list",
        "data": resp.data,
        "model": model_alias,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    })
}

#[cfg(test)]
mod tests;
