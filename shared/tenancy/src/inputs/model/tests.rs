use super::*;
use crate::inputs::parse_input;

const NOW: i64 = 1_700_000_000_000;

fn parse<T: serde::de::DeserializeOwned + Validate>(json: &str) -> Result<T, ApiError> {
    parse_input(json.as_bytes(), NOW)
}

fn failure<T: serde::de::DeserializeOwned + Validate + std::fmt::Debug>(
    json: &str,
) -> (u16, String) {
    let err = parse::<T>(json).unwrap_err();
    (err.status(), err.message)
}

fn stored(json: &str) -> ModelConfig {
    parse::<NewModelConfig>(json)
        .unwrap()
        .into_record("ins_1", NOW)
}

#[test]
fn model_ids() {
    for id in [
        "gpt-4o",
        "claude-3.5:sonnet",
        "org/model_v2",
        "a",
        &"m".repeat(64),
    ] {
        assert!(model_id("id", id).is_ok(), "{id:?}");
    }
    for id in ["", "/abs", "has space", "ümlaut", "a?b", &"m".repeat(65)] {
        let err = model_id("id", id).unwrap_err();
        assert_eq!((err.status(), &*err.code), (400, "invalid_field"), "{id:?}");
    }
}

#[test]
fn defaults_on_create() {
    let config = stored(r#"{"id":"gpt-4o","provider":"openai","upstream_model":"gpt-4o"}"#);
    assert_eq!(
        config.capabilities,
        vec![Capability::Chat, Capability::Stream]
    );
    assert!(config.enabled);
    assert!(config.fallbacks.is_empty());
    assert_eq!((config.created_at, config.updated_at), (NOW, NOW));
    assert_eq!(config.instance_id, "ins_1");

    let image = stored(r#"{"id":"ideo","provider":"ideogram","upstream_model":"V_2"}"#);
    assert_eq!(image.capabilities, vec![Capability::Image]);
}

#[test]
fn full_create_body() {
    let config = stored(
        r#"{"id":"local","provider":"openai_compatible","upstream_model":"llama-3",
        "provider_key":"local-llm",
        "capabilities":["chat"],"input_price_per_mtok":0,"output_price_per_mtok":1.5,
        "price_per_image":null,"max_output_tokens":1000000,"fallbacks":["gpt-4o"],"enabled":false}"#,
    );
    assert_eq!(config.provider, Provider::OpenaiCompatible);
    assert_eq!(config.base_url, None);
    assert_eq!(config.capabilities, vec![Capability::Chat]);
    assert_eq!(config.input_price_per_mtok, Some(0.0));
    assert_eq!(config.max_output_tokens, Some(1_000_000));
    assert_eq!(config.fallbacks, vec!["gpt-4o".to_string()]);
    assert!(!config.enabled);
}

#[test]
fn create_rejections() {
    let base = r#""provider":"openai","upstream_model":"u""#;
    let cases = [
        (
            format!(r#"{{"id":"/x",{base}}}"#),
            400,
            "id: must be 1-64 characters",
        ),
        (
            format!(r#"{{"id":"x",{base},"base_url":"http://evil.example.test/v1"}}"#),
            422,
            "base_url: a model config cannot set base_url; set it on the provider key",
        ),
        (
            format!(r#"{{"id":"x",{base},"base_url":"https://api.openai.com/v1"}}"#),
            422,
            "base_url: a model config cannot set base_url",
        ),
        (
            format!(r#"{{"id":"x",{base},"provider_key":"Bad"}}"#),
            400,
            "provider_key: must be 1-48",
        ),
        (
            r#"{"id":"x","provider":"openai","upstream_model":""}"#.to_string(),
            400,
            "upstream_model: must be 1-128",
        ),
        (
            format!(r#"{{"id":"x",{base},"capabilities":[]}}"#),
            422,
            "capabilities: must not be empty",
        ),
        (
            format!(r#"{{"id":"x",{base},"capabilities":["chat","chat"]}}"#),
            422,
            "capabilities[1]: listed twice",
        ),
        (
            format!(r#"{{"id":"x",{base},"capabilities":["audio"]}}"#),
            400,
            "capabilities[0]: unknown capability \"audio\"",
        ),
        (
            format!(r#"{{"id":"x",{base},"input_price_per_mtok":-1}}"#),
            422,
            "input_price_per_mtok: must be a number >= 0",
        ),
        (
            format!(r#"{{"id":"x",{base},"price_per_image":-0.01}}"#),
            422,
            "price_per_image: must be",
        ),
        (
            format!(r#"{{"id":"x",{base},"max_output_tokens":0}}"#),
            422,
            "max_output_tokens: must be from 1 to 1000000",
        ),
        (
            format!(r#"{{"id":"x",{base},"max_output_tokens":1000001}}"#),
            422,
            "max_output_tokens: must be",
        ),
        (
            format!(r#"{{"id":"x",{base},"fallbacks":["a","b","c","d","e","f"]}}"#),
            400,
            "fallbacks: at most 5 models",
        ),
        (
            format!(r#"{{"id":"x",{base},"fallbacks":["a","/b"]}}"#),
            400,
            "fallbacks[1]: must be 1-64",
        ),
        (
            format!(r#"{{"id":"x",{base},"fallbacks":["a","x"]}}"#),
            422,
            "fallbacks[1]: a model cannot fall back to itself",
        ),
        (
            format!(r#"{{"id":"x",{base},"fallbacks":["a","a"]}}"#),
            422,
            "fallbacks[1]: listed twice",
        ),
        (
            format!(r#"{{"id":"x",{base},"provider":"openai"}}"#),
            400,
            "provider: duplicate field",
        ),
        (
            format!(r#"{{"id":"x",{base},"temperature":1}}"#),
            400,
            "temperature: unknown field",
        ),
        (
            format!(r#"{{"id":"x",{base},"provider":"azure"}}"#),
            400,
            "",
        ),
    ];
    for (json, status, prefix) in cases {
        let (got_status, message) = failure::<NewModelConfig>(&json);
        assert_eq!(got_status, status, "{json} → {message}");
        assert!(message.starts_with(prefix), "{json} → {message}");
    }
}

fn current() -> ModelConfig {
    stored(
        r#"{"id":"gpt","provider":"openai","upstream_model":"gpt-4o","provider_key":"main",
        "input_price_per_mtok":2.5,"max_output_tokens":100,"fallbacks":["mini"]}"#,
    )
}

fn patched(json: &str) -> Result<ModelConfig, ApiError> {
    let patch: ModelConfigPatch = parse(json)?;
    patch.apply(&current(), NOW + 10)
}

#[test]
fn empty_patch_changes_only_updated_at() {
    let next = patched("{}").unwrap();
    let mut expected = current();
    expected.updated_at = NOW + 10;
    assert_eq!(next, expected);
}

#[test]
fn patch_sets_and_clears() {
    let next = patched(
        r#"{"upstream_model":"gpt-4.1","provider_key":null,"input_price_per_mtok":null,
        "output_price_per_mtok":3,"max_output_tokens":null,"fallbacks":null,"enabled":false}"#,
    )
    .unwrap();
    assert_eq!(next.upstream_model, "gpt-4.1");
    assert_eq!(next.provider_key, None);
    assert_eq!(next.input_price_per_mtok, None);
    assert_eq!(next.output_price_per_mtok, Some(3.0));
    assert_eq!(next.max_output_tokens, None);
    assert!(next.fallbacks.is_empty());
    assert!(!next.enabled);
    assert_eq!(next.id, "gpt");
    assert_eq!(next.created_at, NOW);
}

#[test]
fn patch_capabilities_null_restores_provider_defaults() {
    let next = patched(r#"{"provider":"ideogram","capabilities":null}"#).unwrap();
    assert_eq!(next.capabilities, vec![Capability::Image]);
    let next = patched(r#"{"capabilities":["chat"]}"#).unwrap();
    assert_eq!(next.capabilities, vec![Capability::Chat]);
}

#[test]
fn patch_rules_span_fields() {
    // An openai_compatible model is served where its provider key's base_url says.
    let ok = patched(r#"{"provider":"openai_compatible"}"#);
    assert_eq!(ok.unwrap().provider, Provider::OpenaiCompatible);
    let err = patched(r#"{"fallbacks":["gpt"]}"#).unwrap_err();
    assert_eq!(
        err.message,
        "fallbacks[0]: a model cannot fall back to itself"
    );
}

#[test]
fn patch_field_rejections() {
    let cases = [
        (r#"{"id":"other"}"#, 400, "id: unknown field"),
        (
            r#"{"base_url":"https://evil.example.test/v1"}"#,
            422,
            "base_url: a model config cannot set base_url",
        ),
        (
            r#"{"price_per_image":-2}"#,
            422,
            "price_per_image: must be a number >= 0",
        ),
        (
            r#"{"max_output_tokens":0}"#,
            422,
            "max_output_tokens: must be from 1",
        ),
        (
            r#"{"capabilities":[]}"#,
            422,
            "capabilities: must not be empty",
        ),
        (
            r#"{"upstream_model":""}"#,
            400,
            "upstream_model: must be 1-128",
        ),
    ];
    for (json, status, prefix) in cases {
        let err = patched(json).unwrap_err();
        assert_eq!(err.status(), status, "{json} → {}", err.message);
        assert!(err.message.starts_with(prefix), "{json} → {}", err.message);
    }
}

#[test]
fn a_patch_clears_a_stored_model_base_url() {
    let mut legacy = current();
    legacy.base_url = Some("http://evil.example.test/v1".into());
    let patch: ModelConfigPatch = parse(r#"{"base_url":null}"#).unwrap();
    assert_eq!(patch.apply(&legacy, NOW + 1).unwrap().base_url, None);
    let patch: ModelConfigPatch = parse(r#"{"enabled":false}"#).unwrap();
    assert_eq!(patch.apply(&legacy, NOW + 1).unwrap().base_url, None);
}

#[test]
fn absent_and_null_differ() {
    let patch: ModelConfigPatch = parse(r#"{"base_url":null}"#).unwrap();
    assert_eq!(patch.base_url, Some(None));
    assert_eq!(patch.provider_key, None);
}

#[test]
fn image_prices_are_checked_and_stored() {
    let base = r#""id":"d","provider":"openai","upstream_model":"dall-e-3""#;
    let config = stored(&format!(
        r#"{{{base},"price_per_image":0.04,"image_prices":{{"1024x1792":0.08,"1024x1792/hd":0.12,"*/hd":0.1}}}}"#
    ));
    let prices = config.image_prices.clone().unwrap();
    assert_eq!(prices.len(), 3);
    assert_eq!(config.image_price("1024x1792", Some("hd")), Some(0.12));
    assert_eq!(
        config.image_price("1024x1792", Some("standard")),
        Some(0.08)
    );
    assert_eq!(config.image_price("1024x1024", Some("hd")), Some(0.1));
    assert_eq!(config.image_price("1024x1024", None), Some(0.04));
    let empty = stored(&format!(r#"{{{base},"image_prices":{{}}}}"#));
    assert_eq!(empty.image_price("auto", None), None);
    assert_eq!(empty.image_prices, None);

    let many: Vec<String> = (1..=33).map(|n| format!(r#""{n}x{n}":1"#)).collect();
    let cases = [
        (
            r#"{"1024":0.1}"#.to_string(),
            400,
            "image_prices: keys are SIZE",
        ),
        (
            r#"{"*":0.1}"#.to_string(),
            400,
            "image_prices: keys are SIZE",
        ),
        (
            r#"{"1024x1024/ultra":0.1}"#.to_string(),
            400,
            "image_prices: keys are SIZE",
        ),
        (
            r#"{"1024x1024":-1}"#.to_string(),
            422,
            "image_prices.1024x1024: must be a number >= 0",
        ),
        (r#"{"1024x1024":"cheap"}"#.to_string(), 400, ""),
        (
            format!("{{{}}}", many.join(",")),
            400,
            "image_prices: at most 32 prices",
        ),
    ];
    for (prices, status, prefix) in cases {
        let json = format!(r#"{{{base},"image_prices":{prices}}}"#);
        let (got, message) = failure::<NewModelConfig>(&json);
        assert_eq!(got, status, "{json} → {message}");
        assert!(message.starts_with(prefix), "{json} → {message}");
    }
}

#[test]
fn a_patch_sets_and_clears_image_prices() {
    let next = patched(r#"{"image_prices":{"auto/high":0.2}}"#).unwrap();
    assert_eq!(next.image_price("auto", Some("high")), Some(0.2));
    let mut priced = current();
    priced.image_prices = next.image_prices;
    let patch: ModelConfigPatch = parse(r#"{"image_prices":null}"#).unwrap();
    assert_eq!(patch.apply(&priced, NOW + 1).unwrap().image_prices, None);
    let patch: ModelConfigPatch = parse(r#"{"enabled":true}"#).unwrap();
    assert!(patch
        .apply(&priced, NOW + 1)
        .unwrap()
        .image_prices
        .is_some());
    let err = patched(r#"{"image_prices":{"x":1}}"#).unwrap_err();
    assert_eq!(err.status(), 400);
}
