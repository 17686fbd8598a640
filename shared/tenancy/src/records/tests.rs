use super::*;
use serde_json::json;

fn key() -> ApiKeyRecord {
    ApiKeyRecord {
        id: "key_1".into(),
        org_id: "org_1".into(),
        instance_id: "ins_1".into(),
        project_id: None,
        user_id: Some("usr_1".into()),
        name: "ci".into(),
        prefix: "de_test_AbCd".into(),
        scopes: vec![Scope::Generate, Scope::AdminRead],
        environment: KeyEnvironment::Test,
        created_at: 1,
        expires_at: None,
        revoked_at: Some(3),
        last_rotated_at: None,
        allowed_models: None,
    }
}

fn model() -> ModelConfig {
    ModelConfig {
        id: "gpt-4o".into(),
        instance_id: "ins_1".into(),
        provider: Provider::OpenaiCompatible,
        upstream_model: "gpt-4o-2024".into(),
        provider_key: Some("local-llm".into()),
        base_url: Some("http://localhost:8080/v1".into()),
        capabilities: vec![Capability::Chat, Capability::Stream],
        input_price_per_mtok: Some(2.5),
        output_price_per_mtok: None,
        price_per_image: None,
        image_prices: None,
        max_output_tokens: Some(4096),
        fallbacks: vec!["gpt-4o-mini".into()],
        enabled: true,
        created_at: 1,
        updated_at: 2,
    }
}

#[test]
fn org_instance_project_user_shapes() {
    let org = Org {
        id: "org_1".into(),
        name: "Acme".into(),
        slug: "acme".into(),
        created_at: 1,
        updated_at: 2,
    };
    let json = serde_json::to_value(&org).unwrap();
    assert_eq!(
        json,
        json!({"object":"org","id":"org_1","name":"Acme","slug":"acme","created_at":1,"updated_at":2})
    );
    assert_eq!(serde_json::from_value::<Org>(json).unwrap(), org);

    let instance = Instance {
        id: "ins_1".into(),
        org_id: "org_1".into(),
        name: "Prod".into(),
        slug: "prod".into(),
        created_at: 1,
        updated_at: 1,
    };
    assert_eq!(
        serde_json::to_value(&instance).unwrap()["object"],
        "instance"
    );

    let project = Project {
        id: "prj_1".into(),
        org_id: "org_1".into(),
        instance_id: "ins_1".into(),
        name: "Web".into(),
        slug: "web".into(),
        created_at: 1,
        updated_at: 1,
    };
    assert_eq!(serde_json::to_value(&project).unwrap()["object"], "project");

    let user = User {
        id: "usr_1".into(),
        org_id: "org_1".into(),
        email: "a@b.c".into(),
        name: "A".into(),
        role: Role::Member,
        instance_ids: vec!["ins_1".into()],
        created_at: 1,
        updated_at: 1,
    };
    let json = serde_json::to_value(&user).unwrap();
    assert_eq!(json["object"], "user");
    assert_eq!(json["role"], "member");
    assert_eq!(json["instance_ids"], json!(["ins_1"]));
}

#[test]
fn api_key_shape() {
    let json = serde_json::to_value(key()).unwrap();
    assert_eq!(
        json,
        json!({"object":"api_key","id":"key_1","org_id":"org_1","instance_id":"ins_1",
            "project_id":null,"user_id":"usr_1","name":"ci","prefix":"de_test_AbCd",
            "scopes":["generate","admin:read"],"environment":"test","created_at":1,
            "expires_at":null,"revoked_at":3,"last_rotated_at":null,"allowed_models":null})
    );
    assert_eq!(serde_json::from_value::<ApiKeyRecord>(json).unwrap(), key());
}

#[test]
fn key_with_secret_adds_only_the_secret() {
    let created = ApiKeyWithSecret {
        key: key(),
        secret: "de_test_secretsecret".into(),
    };
    let json = serde_json::to_value(&created).unwrap();
    let mut expected = serde_json::to_value(key()).unwrap();
    expected["secret"] = json!("de_test_secretsecret");
    assert_eq!(json, expected);
    assert!(!format!("{created:?}").contains("secretsecret"));
}

#[test]
fn provider_key_shape() {
    let record = ProviderKeyRecord {
        name: "openai".into(),
        provider: Provider::Openai,
        configured: true,
        hint: "sk-…wxyz".into(),
        base_url: None,
        created_at: 1,
        updated_at: 2,
    };
    assert_eq!(
        serde_json::to_value(&record).unwrap(),
        json!({"object":"provider_key","name":"openai","provider":"openai","configured":true,
            "hint":"sk-…wxyz","base_url":null,"created_at":1,"updated_at":2})
    );
}

#[test]
fn model_config_shape_round_trips() {
    let json = serde_json::to_value(model()).unwrap();
    assert_eq!(json["object"], "model");
    assert_eq!(json["provider"], "openai_compatible");
    assert_eq!(json["capabilities"], json!(["chat", "stream"]));
    assert_eq!(json["output_price_per_mtok"], Value::Null);
    assert_eq!(
        serde_json::from_value::<ModelConfig>(json).unwrap(),
        model()
    );
}

#[test]
fn audit_entry_shape() {
    let entry = AuditEntry {
        id: "aud_1".into(),
        org_id: "org_1".into(),
        instance_id: None,
        actor: "platform".into(),
        action: "org.create".into(),
        target_type: "org".into(),
        target_id: "org_1".into(),
        request_id: "req_1".into(),
        detail: json!({"slug":"acme"}),
        created_at: 5,
    };
    assert_eq!(
        serde_json::to_value(&entry).unwrap(),
        json!({"object":"audit_entry","id":"aud_1","org_id":"org_1","instance_id":null,
            "actor":"platform","action":"org.create","target_type":"org","target_id":"org_1",
            "request_id":"req_1","detail":{"slug":"acme"},"created_at":5})
    );
}
