use super::*;
use crate::catalog::tests::{key, model};
use crate::catalog::Policy;
use serde_json::json;
use tenancy::inputs::Provider;
use tenancy::records::ModelConfig;

fn principal(models: Option<Vec<String>>) -> Principal {
    Principal {
        key_id: "key_1".into(),
        key_prefix: "de_test_x".into(),
        name: "k".into(),
        org_id: "org_1".into(),
        instance_id: "ins_1".into(),
        project_id: None,
        user_id: None,
        role: None,
        scopes: vec![tenancy::roles::Scope::Generate],
        expires_at: None,
        revoked_at: None,
        allowed_models: models,
        access_revoked: false,
    }
}

fn image_model(id: &str, provider: Provider, upstream: &str) -> ModelConfig {
    let mut config = model(id, provider, upstream);
    config.capabilities = vec![Capability::Image];
    config.input_price_per_mtok = None;
    config.output_price_per_mtok = None;
    config
}

fn policy(
    scope: &str,
    target: &str,
    rpm: Option<u64>,
    tpm: Option<u64>,
    ipm: Option<u64>,
) -> Policy {
    Policy {
        scope: scope.into(),
        target: target.into(),
        requests_per_minute: rpm,
        tokens_per_minute: tpm,
        images_per_minute: ipm,
    }
}

/// `gpt` falls back over every kind of unusable model to `ideo` and `local`; `claude` can never draw.
fn catalog(policies: Vec<Policy>) -> Catalog {
    let mut gpt = image_model("gpt", Provider::Openai, "gpt-image-1");
    gpt.fallbacks = [
        "off", "chat", "claude", "keyless", "nope", "gpt", "ideo", "local", "dalle",
    ]
    .map(String::from)
    .to_vec();
    let mut off = image_model("off", Provider::Openai, "gpt-image-1");
    off.enabled = false;
    let mut claude = image_model("claude", Provider::Anthropic, "claude-3-5-haiku");
    claude.capabilities = vec![Capability::Image, Capability::Chat];
    let mut keyless = image_model("keyless", Provider::OpenaiCompatible, "sdxl");
    keyless.provider_key = Some("nowhere".into());
    let mut local = image_model("local", Provider::OpenaiCompatible, "sdxl");
    local.provider_key = Some("local".into());
    Catalog::new(
        vec![
            gpt,
            off,
            claude,
            keyless,
            local,
            model("chat", Provider::Openai, "gpt-4o-mini"),
            image_model("ideo", Provider::Ideogram, "V_3"),
            image_model("dalle", Provider::Openai, "dall-e-3"),
        ],
        vec![
            key("openai", Provider::Openai, None),
            key("anthropic", Provider::Anthropic, None),
            key("ideogram", Provider::Ideogram, None),
            key(
                "local",
                Provider::OpenaiCompatible,
                Some("http://127.0.0.1:9/v1"),
            ),
        ],
        policies,
    )
}

fn request(model: &str, n: u32) -> ImageRequest {
    providers::images::parse_request(
        json!({"model": model, "prompt": "a red fox", "n": n})
            .to_string()
            .as_bytes(),
    )
    .unwrap()
}

fn plan_of(model: &str, n: u32, who: Principal) -> Result<ImagePlan, ApiError> {
    plan(&who, request(model, n), &catalog(vec![]), 1_000, 5_000)
}

fn ids(plan: &ImagePlan) -> Vec<&str> {
    plan.legs
        .iter()
        .map(|l| l.route.config.id.as_str())
        .collect()
}

#[test]
fn plans_the_model_then_its_usable_fallbacks() {
    let plan = plan_of("gpt", 2, principal(None)).unwrap();
    assert_eq!(ids(&plan), ["gpt", "ideo", "local"], "at most MAX_LEGS");
    let kinds: Vec<ProviderKind> = plan.legs.iter().map(|l| l.kind).collect();
    assert_eq!(
        kinds,
        [
            ProviderKind::OpenAi,
            ProviderKind::Ideogram,
            ProviderKind::OpenAiCompatible
        ]
    );
    assert!(plan.legs.iter().all(|l| l.reserved_images == 2));
    assert!(plan.legs.iter().all(|l| l.request == request("gpt", 2)));
    assert_eq!(plan.timeout_ms, 1_000);
    assert_eq!(
        (
            plan.retry.max_attempts,
            plan.retry.base_delay_ms,
            plan.retry.max_delay_ms
        ),
        (3, 200, 2_000)
    );
    assert_eq!(plan.retry.total_budget_ms, 5_000);
}

#[test]
fn an_ideogram_fallback_is_skipped_above_its_image_limit() {
    let plan = plan_of("gpt", 9, principal(None)).unwrap();
    assert_eq!(ids(&plan), ["gpt", "local", "dalle"]);
}

#[test]
fn fallbacks_the_key_may_not_use_are_skipped() {
    let plan = plan_of(
        "gpt",
        1,
        principal(Some(vec!["gpt".into(), "local".into()])),
    )
    .unwrap();
    assert_eq!(ids(&plan), ["gpt", "local"]);
}

#[test]
fn refuses_what_cannot_draw() {
    let param = |model: &str, n: u32, who: Principal| {
        let err = plan_of(model, n, who).unwrap_err();
        (
            err.status(),
            err.code.to_string(),
            err.param.unwrap_or_default(),
        )
    };
    let everyone = || principal(None);
    let bad = |field: &str| (400, "invalid_field".to_string(), field.to_string());
    assert_eq!(param("chat", 1, everyone()), bad("model"));
    assert_eq!(param("claude", 1, everyone()), bad("model"));
    assert_eq!(param("ideo", 9, everyone()), bad("n"));
    assert_eq!(
        param("off", 1, everyone()),
        (403, "model_disabled".into(), "model".into())
    );
    assert_eq!(
        param("nope", 1, everyone()),
        (404, "model_not_found".into(), "model".into())
    );
    assert_eq!(
        param("keyless", 1, everyone()),
        (422, "invalid_value".into(), "model".into())
    );
    assert_eq!(
        param("gpt", 1, principal(Some(vec!["chat".into()]))),
        (403, "model_not_allowed".into(), "model".into())
    );
    assert!(plan_of("ideo", 8, everyone()).is_ok());
}

#[test]
fn anthropics_refusal_names_the_model_field_and_the_way_out() {
    let err = plan_of("claude", 1, principal(None)).unwrap_err();
    assert!(
        err.message.starts_with("model: 'claude'"),
        "{}",
        err.message
    );
    assert!(err.message.contains("Ideogram"), "{}", err.message);
}

#[test]
fn checks_use_the_image_scopes_and_images_per_minute() {
    let policies = vec![
        policy("key", "*", Some(10), Some(100_000), Some(20)),
        policy("provider", "openai", None, Some(5_000), Some(50)),
        // Limits text only: no image check for the Ideogram key.
        policy("provider", "ideogram", None, Some(5_000), None),
    ];
    let plan = plan(
        &principal(None),
        request("gpt", 1),
        &catalog(policies),
        1,
        1,
    )
    .unwrap();
    let gpt = &plan.legs[0];
    assert_eq!(
        gpt.checks,
        [
            Check::new(
                "key:key_1:images",
                limits::Limit {
                    requests_per_minute: Some(10),
                    tokens_per_minute: Some(20)
                }
            ),
            Check::new(
                "provider:openai:images",
                limits::Limit {
                    requests_per_minute: None,
                    tokens_per_minute: Some(50)
                }
            ),
        ]
    );
    let ideo = &plan.legs[1];
    assert_eq!(ideo.route.config.id, "ideo");
    let scopes: Vec<&str> = ideo.checks.iter().map(|c| c.scope.as_str()).collect();
    assert_eq!(scopes, ["key:key_1:images"]);
}

fn leg_of(config: ModelConfig) -> ImageLeg {
    let name = config.id.clone();
    ImageLeg {
        route: Route {
            model: name.clone(),
            config,
            provider_key: "openai".into(),
            sealed_key: Some("sealed".into()),
            base_url: None,
            key_updated_at: 0,
        },
        kind: ProviderKind::OpenAi,
        request: request(&name, 1),
        checks: Vec::new(),
        reserved_images: 1,
    }
}

const USAGE: ImageUsage = ImageUsage {
    input_tokens: 1_000,
    output_tokens: 4_000,
};

#[test]
fn gpt_image_costs_its_tokens_when_priced_by_token() {
    let mut config = image_model("gpt", Provider::Openai, "gpt-image-1");
    config.input_price_per_mtok = Some(5.0);
    config.output_price_per_mtok = Some(40.0);
    config.price_per_image = Some(0.5);
    let leg = leg_of(config);
    // 1000 × 5 / 1M + 4000 × 40 / 1M
    assert!((leg.cost_usd(2, Some(USAGE)) - 0.165).abs() < 1e-12);
    // No usage reported: the per-image price.
    assert!((leg.cost_usd(2, None) - 1.0).abs() < 1e-12);
}

#[test]
fn other_models_cost_their_price_per_image() {
    let mut dalle = image_model("dalle", Provider::Openai, "dall-e-3");
    dalle.input_price_per_mtok = Some(5.0);
    dalle.price_per_image = Some(0.04);
    assert!((leg_of(dalle).cost_usd(3, Some(USAGE)) - 0.12).abs() < 1e-12);
    // gpt-image without token prices: per image too.
    let mut gpt = image_model("gpt", Provider::Openai, "gpt-image-1");
    gpt.price_per_image = Some(0.25);
    assert!((leg_of(gpt).cost_usd(2, Some(USAGE)) - 0.5).abs() < 1e-12);
    let unpriced = image_model("free", Provider::OpenaiCompatible, "sdxl");
    assert_eq!(leg_of(unpriced).cost_usd(4, Some(USAGE)), 0.0);
}

fn priced_leg(body: serde_json::Value) -> ImageLeg {
    let mut dalle = image_model("dalle", Provider::Openai, "dall-e-3");
    dalle.price_per_image = Some(0.04);
    dalle.image_prices = Some(
        [("1024x1792", 0.08), ("1024x1792/hd", 0.12), ("*/hd", 0.1)]
            .map(|(k, v)| (k.to_string(), v))
            .into(),
    );
    let mut leg = leg_of(dalle);
    leg.request = providers::images::parse_request(body.to_string().as_bytes()).unwrap();
    leg
}

#[test]
fn image_prices_by_size_and_quality_come_before_the_flat_price() {
    let cost = |extra: serde_json::Value| {
        let mut body = json!({"model": "dalle", "prompt": "p"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        priced_leg(body).cost_usd(2, None)
    };
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    assert!(close(
        cost(json!({"size": "1024x1792", "quality": "hd"})),
        0.24
    ));
    assert!(close(cost(json!({"size": "1024x1792"})), 0.16));
    assert!(close(
        cost(json!({"size": "1024x1792", "quality": "standard"})),
        0.16
    ));
    assert!(close(
        cost(json!({"size": "1024x1024", "quality": "hd"})),
        0.2
    ));
    assert!(close(cost(json!({"size": "1024x1024"})), 0.08));
    assert!(close(cost(json!({})), 0.08), "no size: priced as auto");
}

/// tenancy validates `image_prices` keys without depending on the adapters: the lists must agree.
#[test]
fn the_quality_words_of_image_prices_are_the_requests() {
    assert_eq!(tenancy::inputs::IMAGE_QUALITIES, Quality::ALL);
}
