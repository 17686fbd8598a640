use super::*;
use crate::catalog::tests::{key, model};
use crate::catalog::Policy;
use serde_json::json;
use tenancy::inputs::Provider;

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

fn catalog() -> Catalog {
    let mut embedder = model("embed", Provider::Openai, "text-embedding-3-small");
    embedder.capabilities = vec![Capability::Embeddings];
    let mut claude = model("claude", Provider::Anthropic, "claude-3-5-haiku");
    claude.capabilities = vec![Capability::Embeddings];
    let mut off = model("off", Provider::Openai, "e2");
    off.capabilities = vec![Capability::Embeddings];
    off.enabled = false;
    Catalog::new(
        vec![
            embedder,
            claude,
            off,
            model("chat", Provider::Openai, "gpt-4o-mini"),
        ],
        vec![
            key("openai", Provider::Openai, None),
            key("anthropic", Provider::Anthropic, None),
        ],
        vec![Policy {
            scope: "key".into(),
            target: "*".into(),
            requests_per_minute: None,
            tokens_per_minute: Some(1_000),
            images_per_minute: None,
        }],
    )
}

fn request(model: &str, input: serde_json::Value) -> EmbeddingRequest {
    providers::embeddings::parse_request(
        json!({"model": model, "input": input})
            .to_string()
            .as_bytes(),
    )
    .unwrap()
}

#[test]
fn plans_the_route_checks_and_reservation() {
    let plan = plan(
        &principal(None),
        request("embed", json!(["hello world", "一二三"])),
        &catalog(),
        1_000,
        5_000,
    )
    .unwrap();
    assert_eq!(plan.route.config.upstream_model, "text-embedding-3-small");
    // "hello world" 11 ASCII → 4; three CJK characters → 3.
    assert_eq!(plan.reserved_tokens, 7);
    assert_eq!(plan.checks.len(), 1);
    assert_eq!(plan.checks[0].scope, "key:key_1");
    assert_eq!(plan.retry.total_budget_ms, 5_000);
}

#[test]
fn refuses_what_cannot_embed() {
    let param = |model: &str, who: Principal| {
        let err = plan(&who, request(model, json!("x")), &catalog(), 1, 1).unwrap_err();
        (err.status(), err.code.to_string())
    };
    assert_eq!(
        param("chat", principal(None)),
        (400, "invalid_field".into())
    );
    assert_eq!(
        param("claude", principal(None)),
        (400, "invalid_field".into())
    );
    assert_eq!(
        param("off", principal(None)),
        (403, "model_disabled".into())
    );
    assert_eq!(
        param("nope", principal(None)),
        (404, "model_not_found".into())
    );
    assert_eq!(
        param("embed", principal(Some(vec!["chat".into()]))),
        (403, "model_not_allowed".into())
    );
}
