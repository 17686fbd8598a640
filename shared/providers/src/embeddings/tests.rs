use super::*;

fn parse(body: Value) -> Result<EmbeddingRequest, ApiError> {
    parse_request(body.to_string().as_bytes())
}

const CREDS: Credentials = Credentials {
    api_key: "sk-test",
    base_url: None,
};

#[test]
fn reads_every_input_form() {
    let one = parse(json!({"model": "e", "input": "hello"})).unwrap();
    assert_eq!(one.input.len(), 1);
    assert_eq!(one.input.to_json(), json!("hello"));
    let many = parse(
        json!({"model": "e", "input": ["a", "b"], "encoding_format": "base64", "dimensions": 8}),
    )
    .unwrap();
    assert_eq!((many.input.len(), many.dimensions), (2, Some(8)));
    let ids = parse(json!({"model": "e", "input": [1, 2, 3]})).unwrap();
    assert_eq!(ids.input.to_json(), json!([1, 2, 3]));
    assert_eq!(estimate_tokens(&ids), 3);
    let arrays = parse(json!({"model": "e", "input": [[1, 2], [3]]})).unwrap();
    assert_eq!((arrays.input.len(), estimate_tokens(&arrays)), (2, 3));
}

#[test]
fn bad_bodies_name_the_field() {
    let param = |body: Value| parse(body).unwrap_err().param;
    assert_eq!(param(json!({"model": "e"})).as_deref(), Some("input"));
    assert_eq!(
        param(json!({"model": "e", "input": ""})).as_deref(),
        Some("input")
    );
    assert_eq!(
        param(json!({"model": "e", "input": []})).as_deref(),
        Some("input")
    );
    assert_eq!(
        param(json!({"model": "e", "input": ["a", ""]})).as_deref(),
        Some("input[1]")
    );
    assert_eq!(
        param(json!({"model": "e", "input": ["a", 1]})).as_deref(),
        Some("input[1]")
    );
    assert_eq!(
        param(json!({"model": "e", "input": [[1], []]})).as_deref(),
        Some("input[1]")
    );
    assert_eq!(
        param(json!({"model": "e", "input": "x", "encoding_format": "int8"})).as_deref(),
        Some("encoding_format")
    );
    assert_eq!(
        param(json!({"model": "e", "input": "x", "dimensions": 0})).as_deref(),
        Some("dimensions")
    );
    assert_eq!(
        param(json!({"model": "e", "input": "x", "extra": 1})).as_deref(),
        Some("extra")
    );
    let too_many: Vec<String> = (0..=MAX_INPUTS).map(|i| i.to_string()).collect();
    assert_eq!(
        param(json!({"model": "e", "input": too_many})).as_deref(),
        Some("input")
    );
}

#[test]
fn builds_the_upstream_request_and_refuses_anthropic() {
    let req = parse(json!({"model": "alias", "input": ["a", "b"], "dimensions": 4, "user": "u"}))
        .unwrap();
    let http = build_request(ProviderKind::OpenAi, &req, "text-embedding-3-small", &CREDS).unwrap();
    assert_eq!(http.url, "https://api.openai.com/v1/embeddings");
    assert_eq!(http.header("authorization"), Some("Bearer sk-test"));
    let body: Value = serde_json::from_slice(&http.body).unwrap();
    assert_eq!(
        body,
        json!({"model": "text-embedding-3-small", "input": ["a", "b"], "dimensions": 4, "user": "u"})
    );
    let err = build_request(ProviderKind::Anthropic, &req, "claude", &CREDS).unwrap_err();
    assert_eq!(err.param.as_deref(), Some("model"));
}

#[test]
fn reads_and_renders_the_answer() {
    let body = json!({
        "object": "list",
        "data": [
            {"object": "embedding", "index": 1, "embedding": [0.5, -0.25]},
            {"object": "embedding", "index": 0, "embedding": [0.125, 1.0]},
        ],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 7, "total_tokens": 7},
    });
    let resp = parse_response(ProviderKind::OpenAi, 200, body.to_string().as_bytes(), 2).unwrap();
    assert_eq!(resp.prompt_tokens, 7);
    assert_eq!(resp.data[0]["index"], 0);
    let rendered = render_response(&resp, "alias", 7);
    assert_eq!(rendered["model"], "alias");
    assert_eq!(rendered["data"][1]["embedding"], json!([0.5, -0.25]));
    assert_eq!(
        rendered["usage"],
        json!({"prompt_tokens": 7, "total_tokens": 7})
    );
    // One vector short, or no usage from OpenAI itself: malformed.
    assert!(parse_response(ProviderKind::OpenAi, 200, body.to_string().as_bytes(), 3).is_err());
    let mut no_usage = body.clone();
    no_usage.as_object_mut().unwrap().remove("usage");
    assert!(parse_response(
        ProviderKind::OpenAi,
        200,
        no_usage.to_string().as_bytes(),
        2
    )
    .is_err());
    let compatible = parse_response(
        ProviderKind::OpenAiCompatible,
        200,
        no_usage.to_string().as_bytes(),
        2,
    )
    .unwrap();
    assert_eq!(compatible.prompt_tokens, 0);
    assert!(matches!(
        parse_response(ProviderKind::OpenAi, 429, b"{}", 2),
        Err(UpstreamError::RateLimited { .. })
    ));
}
