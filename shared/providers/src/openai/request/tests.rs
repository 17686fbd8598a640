use super::*;
use serde_json::json;

fn parse(value: Value) -> Result<ChatRequest, ApiError> {
    parse_request(value.to_string().as_bytes())
}

fn error(value: Value) -> (u16, String, String) {
    let err = parse(value).unwrap_err();
    (err.status(), err.code.to_string(), err.message)
}

#[test]
fn parses_a_full_request() {
    let req = parse(json!({
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "hi"}], "name": "ann"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"x\":1}"}},
            ]},
            {"role": "tool", "content": "42", "tool_call_id": "call_1"},
        ],
        "max_completion_tokens": 64,
        "temperature": 0.2,
        "top_p": 1,
        "stop": "\n\n",
        "stream": true,
        "stream_options": {"include_usage": true},
        "user": "u-1",
        "seed": -7,
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "n": 1,
    }))
    .unwrap();
    assert_eq!(req.model, "gpt-4o-mini");
    assert_eq!(req.messages.len(), 4);
    assert_eq!(req.messages[1].name.as_deref(), Some("ann"));
    assert_eq!(req.messages[1].content.text(), "hi");
    assert_eq!(req.messages[2].content, Content::Text(String::new()));
    assert_eq!(
        req.messages[2].tool_calls,
        [crate::chat::ToolCall {
            id: "call_1".into(),
            name: "f".into(),
            arguments: "{\"x\":1}".into()
        }]
    );
    assert_eq!(req.messages[3].tool_call_id.as_deref(), Some("call_1"));
    assert_eq!(req.tools[0].name, "f");
    assert_eq!(
        req.tools[0].parameters,
        json!({"type": "object", "properties": {}})
    );
    assert_eq!(req.max_tokens, Some(64));
    assert_eq!((req.temperature, req.top_p), (Some(0.2), Some(1.0)));
    assert_eq!(req.stop, vec!["\n\n"]);
    assert!(req.stream && req.include_usage());
    assert_eq!((req.user.as_deref(), req.seed), (Some("u-1"), Some(-7)));
    let mut extra: Vec<&str> = req.extra.keys().map(String::as_str).collect();
    extra.sort_unstable();
    assert_eq!(extra, ["n", "stream_options"]);
}

#[test]
fn minimal_request_has_defaults() {
    let req = parse(json!({"model": "m", "messages": [{"role": "user", "content": "x"}]})).unwrap();
    assert_eq!(req.max_tokens, None);
    assert!(!req.stream);
    assert!(req.stop.is_empty() && req.extra.is_empty());
}

#[test]
fn messages_must_be_present_and_non_empty() {
    assert_eq!(
        error(json!({"model": "m", "messages": []})),
        (
            400,
            "invalid_field".into(),
            "messages: must not be empty".into()
        )
    );
    assert_eq!(
        error(json!({"model": "m"})),
        (400, "missing_field".into(), "messages: is required".into())
    );
    assert_eq!(error(json!({"model": "m", "messages": {}})).0, 400);
}

#[test]
fn unknown_role_names_the_index() {
    let (status, _, message) = error(json!({"model": "m", "messages": [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "robot", "content": "c"},
    ]}));
    assert_eq!(status, 400);
    assert!(
        message.starts_with("messages[2].role: unknown role \"robot\""),
        "{message}"
    );
}

#[test]
fn message_shape_errors_name_the_field() {
    let cases = [
        (json!([{"content": "x"}]), "messages[0].role: is required"),
        (
            json!([{"role": "user"}]),
            "messages[0].content: is required",
        ),
        (
            json!([{"role": "user", "content": 5}]),
            "messages[0].content: must be a string or an array of content parts",
        ),
        (
            json!([{"role": "user", "content": [{"text": "x"}]}]),
            "messages[0].content[0]: must be a content part object with a type",
        ),
        (json!(["hi"]), "messages[0]: must be an object"),
        (
            json!([{"role": "user", "content": "x", "name": 3}]),
            "messages[0].name: must be a string",
        ),
    ];
    for (messages, expected) in cases {
        let (status, _, message) = error(json!({"model": "m", "messages": messages}));
        assert_eq!((status, message.as_str()), (400, expected));
    }
}

#[test]
fn numeric_limits() {
    let base = |key: &str, value: Value| {
        let mut body = json!({"model": "m", "messages": [{"role": "user", "content": "x"}]});
        body[key] = value;
        error(body)
    };
    assert_eq!(base("max_tokens", json!(0)).0, 422);
    assert_eq!(
        base("max_tokens", json!(-1)).2,
        "max_tokens: must be at least 1"
    );
    assert_eq!(base("max_completion_tokens", json!("10")).0, 400);
    assert_eq!(
        base("temperature", json!(2.5)),
        (
            422,
            "invalid_value".into(),
            "temperature: must be between 0 and 2".into()
        )
    );
    assert_eq!(base("temperature", json!(-0.1)).0, 422);
    assert_eq!(base("top_p", json!(1.5)).0, 422);
    assert_eq!(base("stream", json!("yes")).0, 400);
    assert_eq!(base("stop", json!([1])).0, 400);
    assert_eq!(base("n", json!(2)).2, "n: only 1 is supported");
    assert_eq!(base("stream_options", json!(true)).0, 400);
}

#[test]
fn both_token_fields_must_agree() {
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 5, "max_completion_tokens": 5});
    assert_eq!(parse(body).unwrap().max_tokens, Some(5));
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 5, "max_completion_tokens": 6});
    assert_eq!(parse(body).unwrap_err().status(), 400);
}

#[test]
fn model_is_required() {
    let (status, code, message) = error(json!({"messages": [{"role": "user", "content": "x"}]}));
    assert_eq!(
        (status, code.as_str(), message.as_str()),
        (400, "missing_field", "model: is required")
    );
    assert_eq!(
        error(json!({"model": "", "messages": []})).2,
        "model: must not be empty"
    );
}

#[test]
fn body_must_be_a_json_object() {
    assert_eq!(parse_request(b"").unwrap_err().code, "invalid_json");
    assert_eq!(parse_request(b"{nope").unwrap_err().code, "invalid_json");
    assert_eq!(parse_request(b"[1]").unwrap_err().status(), 400);
}
