use super::*;
use tenancy::inputs::Capability;

pub(crate) fn model(id: &str, provider: Provider, upstream: &str) -> ModelConfig {
    ModelConfig {
        id: id.into(),
        instance_id: "ins_1".into(),
        provider,
        upstream_model: upstream.into(),
        provider_key: None,
        base_url: None,
        capabilities: vec![Capability::Chat],
        input_price_per_mtok: Some(1.0),
        output_price_per_mtok: Some(2.0),
        price_per_image: None,
        image_prices: None,
        max_output_tokens: None,
        fallbacks: Vec::new(),
        enabled: true,
        created_at: 1,
        updated_at: 2,
    }
}

pub(crate) fn key(name: &str, provider: Provider, base_url: Option<&str>) -> ProviderKeyEntry {
    ProviderKeyEntry {
        name: name.into(),
        provider,
        sealed_key: format!("sealed-{name}"),
        base_url: base_url.map(str::to_string),
        updated_at: 5,
    }
}

fn catalog() -> Catalog {
    let mut redirected = model("gpt", Provider::Openai, "gpt-4o-mini");
    // Left in a row by an older version: routing ignores it.
    redirected.base_url = Some("http://attacker.example/v1".into());
    Catalog::new(
        vec![
            redirected,
            model("claude", Provider::Anthropic, "claude-3-5-haiku"),
        ],
        vec![
            key("openai", Provider::Openai, Some("https://proxy.example/v1")),
            key("anthropic", Provider::Anthropic, None),
        ],
        vec![
            Policy {
                scope: "key".into(),
                target: "*".into(),
                requests_per_minute: Some(10),
                tokens_per_minute: None,
                images_per_minute: None,
            },
            Policy {
                scope: "provider".into(),
                target: "openai".into(),
                requests_per_minute: None,
                tokens_per_minute: Some(1_000),
                images_per_minute: None,
            },
        ],
    )
}

#[test]
fn a_model_id_routes_to_its_config_and_key() {
    let route = catalog().route("gpt").unwrap();
    assert_eq!(route.provider_key, "openai");
    assert_eq!(route.sealed_key.as_deref(), Some("sealed-openai"));
    assert_eq!(route.config.id, "gpt");
    assert_eq!(route.key_updated_at, 5);
}

/// A model config's own base_url could send the provider key's secret to any host.
#[test]
fn only_the_provider_keys_base_url_is_used() {
    let route = catalog().route("gpt").unwrap();
    assert_eq!(route.base_url.as_deref(), Some("https://proxy.example/v1"));
}

/// `provider/model` names used to skip pricing, `enabled` and caps: they now resolve to a config.
#[test]
fn direct_names_resolve_to_a_matching_config_only() {
    let c = catalog();
    let route = c.route("openai/gpt-4o-mini").unwrap();
    assert_eq!(route.config.id, "gpt");
    assert_eq!(route.model, "openai/gpt-4o-mini");
    assert!(c.route("openai/gpt-4o").is_none(), "no config for it");
    assert!(c.route("anthropic/gpt-4o-mini").is_none(), "wrong key");
    assert!(c.route("nokey/gpt-4o-mini").is_none());
}

#[test]
fn specific_policies_win_over_defaults() {
    let (key, provider) = catalog().limits_for("key_1", "openai");
    assert_eq!(key.unwrap().requests_per_minute, Some(10));
    assert_eq!(provider.unwrap().tokens_per_minute, Some(1_000));
    let (_, none) = catalog().limits_for("key_1", "anthropic");
    assert!(none.is_none());
}

#[test]
fn image_models_cannot_chat() {
    let c = Catalog::new(
        vec![model("ideo", Provider::Ideogram, "V_3")],
        vec![key("ideogram", Provider::Ideogram, None)],
        vec![],
    );
    let err = c.route("ideo").unwrap().kind().unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(!err.message.contains("/v1/images"), "{}", err.message);
}

#[test]
fn image_kind_takes_image_providers_and_refuses_anthropic() {
    let c = Catalog::new(
        vec![
            model("ideo", Provider::Ideogram, "V_3"),
            model("gpt", Provider::Openai, "gpt-image-1"),
            model("local", Provider::OpenaiCompatible, "sdxl"),
            model("claude", Provider::Anthropic, "claude-3-5-haiku"),
        ],
        vec![],
        vec![],
    );
    let kind = |id: &str| c.route(id).unwrap().image_kind();
    assert_eq!(kind("ideo").unwrap(), ProviderKind::Ideogram);
    assert_eq!(kind("gpt").unwrap(), ProviderKind::OpenAi);
    assert_eq!(kind("local").unwrap(), ProviderKind::OpenAiCompatible);
    let err = kind("claude").unwrap_err();
    assert_eq!((err.status(), err.param.as_deref()), (400, Some("model")));
    // Chat still refuses the image provider with its own message.
    let chat = c.route("ideo").unwrap().kind().unwrap_err();
    assert!(chat.message.contains("is an image model, not a chat model"));
}

fn policy(target: &str, rpm: Option<u64>, tpm: Option<u64>, ipm: Option<u64>) -> Policy {
    Policy {
        scope: "key".into(),
        target: target.into(),
        requests_per_minute: rpm,
        tokens_per_minute: tpm,
        images_per_minute: ipm,
    }
}

/// The limiter's tokens are images on the image scopes; the specific policy replaces `*` whole.
#[test]
fn image_limits_read_requests_and_images_per_minute() {
    let c = Catalog::new(
        vec![],
        vec![],
        vec![
            policy("*", Some(10), Some(1_000), Some(5)),
            policy("key_2", None, Some(1_000), None),
            policy("key_3", None, None, Some(7)),
        ],
    );
    let images = |key: &str| c.image_limits_for(key, "openai").0;
    assert_eq!(
        images("key_1"),
        Some(Limit {
            requests_per_minute: Some(10),
            tokens_per_minute: Some(5)
        })
    );
    assert_eq!(images("key_2"), None, "limits text only");
    assert_eq!(
        images("key_3"),
        Some(Limit {
            requests_per_minute: None,
            tokens_per_minute: Some(7)
        })
    );
    assert_eq!(c.image_limits_for("key_1", "openai").1, None);
    // A policy of images only sets no text check.
    assert_eq!(c.limits_for("key_3", "openai").0, None);
    assert_eq!(
        c.limits_for("key_2", "openai").0,
        Some(Limit {
            requests_per_minute: None,
            tokens_per_minute: Some(1_000)
        })
    );
}
