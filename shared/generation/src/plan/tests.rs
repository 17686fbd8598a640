use super::*;
use crate::catalog::tests::{key, model};
use crate::catalog::Policy;
use providers::upstream::{build_request, Credentials};
use serde_json::{json, Value};
use tenancy::inputs::Provider;

fn principal() -> Principal {
    Principal {
        key_id: "key_1".into(),
        key_prefix: "de_test_x".into(),
        name: "k".into(),
        org_id: "org_1".into(),
        instance_id: "ins_1".into(),
        project_id: Some("prj_1".into()),
        user_id: None,
        role: None,
        scopes: vec![tenancy::roles::Scope::Generate],
        expires_at: None,
        revoked_at: None,
        allowed_models: None,
        access_revoked: false,
    }
}

fn catalog() -> Catalog {
    let mut gpt = model("gpt", Provider::Openai, "gpt-4o-mini");
    gpt.fallbacks = vec![
        "off".into(),
        "embedder".into(),
        "keyless".into(),
        "claude".into(),
        "gpt".into(),
        "gpt2".into(),
        "gpt3".into(),
    ];
    let mut off = model("off", Provider::Openai, "x");
    off.enabled = false;
    let mut embedder = model("embedder", Provider::Openai, "e");
    embedder.capabilities = vec![tenancy::inputs::Capability::Image];
    let mut keyless = model("keyless", Provider::OpenaiCompatible, "local");
    keyless.provider_key = Some("nowhere".into());
    let mut claude = model("claude", Provider::Anthropic, "claude-3-5-haiku");
    claude.max_output_tokens = Some(1000);
    Catalog::new(
        vec![
            gpt,
            off,
            embedder,
            keyless,
            claude,
            model("gpt2", Provider::Openai, "g2"),
            model("gpt3", Provider::Openai, "g3"),
        ],
        vec![
            key("openai", Provider::Openai, None),
            key("anthropic", Provider::Anthropic, None),
        ],
        vec![
            Policy {
                scope: "key".into(),
                target: "*".into(),
                requests_per_minute: Some(10),
                tokens_per_minute: Some(100_000),
                images_per_minute: None,
            },
            Policy {
                scope: "provider".into(),
                target: "anthropic".into(),
                requests_per_minute: Some(5),
                tokens_per_minute: None,
                images_per_minute: None,
            },
        ],
    )
}

fn request(body: Value) -> ChatRequest {
    providers::openai::parse_request(body.to_string().as_bytes()).unwrap()
}

fn plan_of(
    body: Value,
    principal: &Principal,
    catalog: &Catalog,
    cache: bool,
) -> Result<Plan, ApiError> {
    plan(PlanInput {
        format: Format::OpenAi,
        principal,
        request: request(body),
        catalog,
        timeout_ms: 1_000,
        budget_ms: 10_000,
        cache,
    })
}

fn chat(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hello there"}]})
}

fn upstream_body(leg: &Leg) -> Value {
    let creds = Credentials {
        api_key: "sk",
        base_url: None,
    };
    let http = build_request(
        leg.route.kind().unwrap(),
        &leg.request,
        &leg.route.config.upstream_model,
        &creds,
    )
    .unwrap();
    serde_json::from_slice(&http.body).unwrap()
}

/// Without max_tokens, OpenAI got no limit and Anthropic 4096 while 1024 was reserved.
#[test]
fn the_reserved_completion_limit_is_always_sent_upstream() {
    let c = catalog();
    let p = plan_of(chat("gpt"), &principal(), &c, false).unwrap();
    let first = &p.legs[0];
    assert_eq!(
        first.completion_tokens,
        u64::from(DEFAULT_COMPLETION_TOKENS)
    );
    assert_eq!(
        first.reserved_tokens,
        first.prompt_tokens + first.completion_tokens
    );
    assert_eq!(
        upstream_body(first)["max_completion_tokens"],
        json!(DEFAULT_COMPLETION_TOKENS)
    );
    let claude = p
        .legs
        .iter()
        .find(|l| l.route.config.id == "claude")
        .unwrap();
    assert_eq!(claude.completion_tokens, 1000, "the model's cap");
    assert_eq!(upstream_body(claude)["max_tokens"], json!(1000));
}

/// The model's max_output_tokens was only checked when the caller sent max_tokens.
#[test]
fn the_model_cap_applies_with_and_without_max_tokens() {
    let c = catalog();
    let p = plan_of(chat("claude"), &principal(), &c, false).unwrap();
    assert_eq!(p.legs[0].request.max_tokens, Some(1000));
    let mut body = chat("claude");
    body["max_tokens"] = json!(1001);
    let err = plan_of(body, &principal(), &c, false).unwrap_err();
    assert_eq!((err.status(), &*err.code), (400, "invalid_field"));
    assert!(err.message.starts_with("max_tokens"), "{}", err.message);
}

/// The parser refuses `n` > 1 today; the reservation would still cover every choice.
#[test]
fn every_choice_is_reserved() {
    let mut body = chat("gpt");
    body["max_tokens"] = json!(100);
    let mut req = request(body);
    req.extra.insert("n".into(), json!(3));
    let c = catalog();
    let p = plan(PlanInput {
        format: Format::OpenAi,
        principal: &principal(),
        request: req,
        catalog: &c,
        timeout_ms: 1,
        budget_ms: 1,
        cache: false,
    })
    .unwrap();
    assert_eq!(p.legs[0].completion_tokens, 300);
}

/// Fallbacks skipped their provider's limit, `enabled`, allow-lists, capabilities and caps.
#[test]
fn fallbacks_are_vetted_and_checked_like_the_model() {
    let c = catalog();
    let p = plan_of(chat("gpt"), &principal(), &c, false).unwrap();
    let ids: Vec<&str> = p.legs.iter().map(|l| l.route.config.id.as_str()).collect();
    assert_eq!(
        ids,
        ["gpt", "claude", "gpt2"],
        "disabled, non-chat, keyless, repeated and surplus routes left out"
    );
    let claude = &p.legs[1];
    let scopes: Vec<&str> = claude.checks.iter().map(|c| c.scope.as_str()).collect();
    assert_eq!(
        scopes,
        ["key:key_1", "provider:anthropic"],
        "the fallback's own provider limit"
    );
    let mut narrow = principal();
    narrow.allowed_models = Some(vec!["gpt".into(), "gpt2".into()]);
    let p = plan_of(chat("gpt"), &narrow, &c, false).unwrap();
    let ids: Vec<&str> = p.legs.iter().map(|l| l.route.config.id.as_str()).collect();
    assert_eq!(
        ids,
        ["gpt", "gpt2"],
        "a fallback outside the key's allow-list is left out"
    );
}

#[test]
fn a_fallback_clamps_to_its_cap() {
    let mut body = chat("gpt");
    body["max_tokens"] = json!(5000);
    let c = catalog();
    let p = plan_of(body, &principal(), &c, false).unwrap();
    assert_eq!(p.legs[0].completion_tokens, 5000);
    assert_eq!(p.legs[1].completion_tokens, 1000);
}

#[test]
fn the_primary_model_is_refused_with_the_reason() {
    let c = catalog();
    let cases = [
        ("off", 403, "model_disabled"),
        ("embedder", 400, "invalid_field"),
        ("keyless", 422, "invalid_value"),
        ("nope", 404, "model_not_found"),
        ("openai/x", 403, "model_disabled"),
        ("openai/gpt-4o", 404, "model_not_found"),
    ];
    for (model, status, code) in cases {
        let err = plan_of(chat(model), &principal(), &c, false).unwrap_err();
        assert_eq!((err.status(), &*err.code), (status, code), "{model}: {err}");
    }
    let mut narrow = principal();
    narrow.allowed_models = Some(vec!["gpt".into()]);
    for model in ["claude", "anthropic/claude-3-5-haiku", "nope"] {
        let err = plan_of(chat(model), &narrow, &c, false).unwrap_err();
        assert_eq!(&*err.code, "model_not_allowed", "{model}");
    }
    let p = plan_of(chat("openai/gpt-4o-mini"), &narrow, &c, false).unwrap();
    assert_eq!(
        p.legs[0].route.config.id, "gpt",
        "the direct name of an allowed config"
    );
}

/// Direct `provider/model` routes had no price: their cost was 0.
#[test]
fn direct_names_are_priced_by_their_config() {
    let c = catalog();
    let p = plan_of(chat("openai/gpt-4o-mini"), &principal(), &c, false).unwrap();
    let config = &p.legs[0].route.config;
    assert!(config.cost_usd(1_000, 1_000) > 0.0);
}

/// The cache was shared across the projects of an instance and ignored config changes.
#[test]
fn cache_keys_are_per_project_and_per_config_version() {
    let mut body = chat("gpt");
    body["temperature"] = json!(0);
    let c = catalog();
    let key_of = |p: &Principal, c: &Catalog| {
        plan_of(body.clone(), p, c, true)
            .unwrap()
            .cache_key
            .unwrap()
    };
    let here = key_of(&principal(), &c);
    assert!(here.starts_with("resp:v2:ins_1:"));
    let mut other = principal();
    other.project_id = Some("prj_2".into());
    assert_ne!(key_of(&other, &c), here, "another project");
    other.project_id = None;
    assert_ne!(key_of(&other, &c), here, "no project");
    let mut changed = catalog();
    let mut gpt = changed.route("gpt").unwrap().config;
    gpt.updated_at += 1;
    changed = Catalog::new(
        vec![gpt],
        vec![key("openai", Provider::Openai, None)],
        vec![],
    );
    assert_ne!(
        key_of(&principal(), &changed),
        here,
        "a changed model config"
    );
    assert_eq!(key_of(&principal(), &c), here, "stable otherwise");
    assert!(
        plan_of(chat("gpt"), &principal(), &c, true)
            .unwrap()
            .cache_key
            .is_none(),
        "temperature unset"
    );
    assert!(
        plan_of(body.clone(), &principal(), &c, false)
            .unwrap()
            .cache_key
            .is_none(),
        "not asked"
    );
}
