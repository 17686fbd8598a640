use super::*;
use serde_json::{json, Value};

use crate::chat::{Content, Message, Role};

const KEY: &str = "sk-test-1234567890";

fn request(stream: bool) -> ChatRequest {
    let body = json!({
        "model": "fast",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": "Answer in French."},
            {"role": "user", "content": "Hi"},
            {"role": "user", "content": [{"type": "text", "text": "Capital of France?"}]},
            {"role": "assistant", "content": "Paris."},
            {"role": "user", "content": "Thanks"},
        ],
        "max_tokens": 100,
        "temperature": 0.5,
        "stop": ["END"],
        "stream": stream,
        "user": "u-1",
        "seed": 3,
        "logit_bias": {},
        "stream_options": {"include_usage": false},
    });
    crate::openai::parse_request(body.to_string().as_bytes()).unwrap()
}

fn creds(base_url: Option<&str>) -> Credentials<'_> {
    Credentials {
        api_key: KEY,
        base_url,
    }
}

fn body(req: &HttpRequest) -> Value {
    serde_json::from_slice(&req.body).unwrap()
}

#[test]
fn openai_request() {
    let http = build_request(
        ProviderKind::OpenAi,
        &request(true),
        "gpt-4o-mini",
        &creds(None),
    )
    .unwrap();
    assert_eq!(http.method, "POST");
    assert_eq!(http.url, "https://api.openai.com/v1/chat/completions");
    assert_eq!(
        http.header("Authorization"),
        Some("Bearer sk-test-1234567890")
    );
    assert_eq!(http.header("content-type"), Some("application/json"));
    let body = body(&http);
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["max_completion_tokens"], 100);
    assert!(body.get("max_tokens").is_none());
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    assert_eq!(body["messages"].as_array().unwrap().len(), 6);
    assert_eq!(body["messages"][1]["role"], "developer");
    assert_eq!(
        (body["temperature"].as_f64(), &body["stop"]),
        (Some(0.5), &json!(["END"]))
    );
    assert_eq!((&body["user"], &body["seed"]), (&json!("u-1"), &json!(3)));
    assert_eq!(
        body["logit_bias"],
        json!({}),
        "pass-through fields are kept"
    );
}

#[test]
fn openai_compatible_request() {
    let http = build_request(
        ProviderKind::OpenAiCompatible,
        &request(false),
        "llama3.1:8b",
        &Credentials {
            api_key: "",
            base_url: Some("http://127.0.0.1:11434/v1/"),
        },
    )
    .unwrap();
    assert_eq!(http.url, "http://127.0.0.1:11434/v1/chat/completions");
    assert_eq!(http.header("authorization"), None, "no key, no header");
    let body = body(&http);
    assert_eq!(body["max_tokens"], 100);
    assert_eq!(body["messages"][1]["role"], "system");
    assert!(body.get("stream").is_none() && body.get("stream_options").is_none());
}

#[test]
fn openai_tool_call_turns_keep_null_content() {
    let mut req = request(false);
    let mut call = Message::text(Role::Assistant, "");
    call.extra.insert(
        "tool_calls".into(),
        json!([{"id": "call_1", "type": "function"}]),
    );
    req.messages.push(call);
    let http = build_request(ProviderKind::OpenAi, &req, "gpt-4o", &creds(None)).unwrap();
    let last = body(&http)["messages"][6].clone();
    assert_eq!(last["content"], Value::Null);
    assert_eq!(last["tool_calls"][0]["id"], "call_1");
}

#[test]
fn anthropic_request() {
    let http = build_request(
        ProviderKind::Anthropic,
        &request(true),
        "claude-sonnet-4-5",
        &creds(Some("http://localhost:8788/anthropic/v1/")),
    )
    .unwrap();
    assert_eq!(http.url, "http://localhost:8788/anthropic/v1/messages");
    assert_eq!(http.header("x-api-key"), Some(KEY));
    assert_eq!(http.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(http.header("authorization"), None);
    assert_eq!(
        body(&http),
        json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 100,
            "system": "Be brief.\n\nAnswer in French.",
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "Hi"},
                    {"type": "text", "text": "Capital of France?"},
                ]},
                {"role": "assistant", "content": "Paris."},
                {"role": "user", "content": "Thanks"},
            ],
            "temperature": 0.5,
            "stop_sequences": ["END"],
            "stream": true,
            "metadata": {"user_id": "u-1"},
        })
    );
}

#[test]
fn anthropic_defaults_and_images() {
    let mut req = request(false);
    req.max_tokens = None;
    req.messages = vec![Message {
        content: Content::Parts(vec![
            json!({"type": "text", "text": "What is this?"}),
            json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}),
            json!({"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}),
        ]),
        ..Message::text(Role::User, "")
    }];
    let http = build_request(ProviderKind::Anthropic, &req, "claude", &creds(None)).unwrap();
    assert_eq!(http.url, "https://api.anthropic.com/v1/messages");
    let body = body(&http);
    assert_eq!(body["max_tokens"], 4096);
    assert!(body.get("system").is_none() && body.get("stream").is_none());
    assert_eq!(
        body["messages"][0]["content"],
        json!([
            {"type": "text", "text": "What is this?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        ])
    );
}

#[test]
fn anthropic_refuses_what_it_cannot_express() {
    let with = |key: &str, value: Value| {
        let mut req = request(false);
        req.extra.insert(key.into(), value);
        build_request(ProviderKind::Anthropic, &req, "claude", &creds(None))
    };
    let err = with("tools", json!([{"type": "function"}])).unwrap_err();
    assert_eq!(
        (err.status(), err.message.as_str()),
        (400, "tools: not supported for anthropic models")
    );
    assert_eq!(
        with("response_format", json!({"type": "json_object"}))
            .unwrap_err()
            .status(),
        400
    );
    assert_eq!(with("logprobs", json!(true)).unwrap_err().status(), 400);
    assert!(with("response_format", json!({"type": "text"})).is_ok());
    assert!(with("frequency_penalty", json!(0)).is_ok());
    assert!(with("tools", json!([])).is_ok());
    assert!(with("n", json!(1)).is_ok());

    let mut req = request(false);
    req.messages[4]
        .extra
        .insert("function_call".into(), json!({"name": "f"}));
    let err = build_request(ProviderKind::Anthropic, &req, "claude", &creds(None)).unwrap_err();
    assert_eq!(
        err.message,
        "messages[4].function_call: not supported for anthropic models"
    );

    let mut req = request(false);
    req.messages.push(Message {
        tool_calls: vec![crate::chat::ToolCall {
            id: "call_1".into(),
            name: "f".into(),
            arguments: "[1]".into(),
        }],
        ..Message::text(Role::Assistant, "")
    });
    let err = build_request(ProviderKind::Anthropic, &req, "claude", &creds(None)).unwrap_err();
    assert_eq!(
        err.message,
        "messages[6].tool_calls[0].function.arguments: must be a JSON object for anthropic models"
    );

    let mut req = request(false);
    req.temperature = Some(1.5);
    let err = build_request(ProviderKind::Anthropic, &req, "claude", &creds(None)).unwrap_err();
    assert_eq!(err.status(), 422);

    let mut req = request(false);
    req.messages.retain(|m| m.role.is_instruction());
    let err = build_request(ProviderKind::Anthropic, &req, "claude", &creds(None)).unwrap_err();
    assert_eq!(err.status(), 400);

    let mut req = request(false);
    req.messages[2].content =
        Content::Parts(vec![json!({"type": "input_audio", "input_audio": {}})]);
    let err = build_request(ProviderKind::Anthropic, &req, "claude", &creds(None)).unwrap_err();
    assert_eq!(
        err.message,
        "messages[2].content[0].type: \"input_audio\" is not supported for anthropic models"
    );
}

#[test]
fn base_url_and_key_problems_are_configuration_errors() {
    let req = request(false);
    let err = build_request(ProviderKind::OpenAiCompatible, &req, "m", &creds(None)).unwrap_err();
    assert_eq!(err.status(), 502);
    let err = build_request(ProviderKind::OpenAi, &req, "m", &creds(Some("ftp://x"))).unwrap_err();
    assert_eq!(err.status(), 502);
    let bad_key = Credentials {
        api_key: "sk\r\nx-evil: 1",
        base_url: None,
    };
    assert_eq!(
        build_request(ProviderKind::OpenAi, &req, "m", &bad_key)
            .unwrap_err()
            .status(),
        502
    );
}

#[test]
fn debug_redacts_keys_and_prompts() {
    for kind in [ProviderKind::OpenAi, ProviderKind::Anthropic] {
        let http = build_request(kind, &request(false), "m", &creds(None)).unwrap();
        let printed = format!("{http:?}");
        assert!(!printed.contains(KEY), "{printed}");
        assert!(!printed.contains("Capital of France"), "{printed}");
        assert!(printed.contains("[redacted]") && printed.contains("bytes"));
    }
    assert!(!format!("{:?}", creds(None)).contains(KEY));
}

#[test]
fn ideogram_is_not_a_chat_or_embeddings_upstream() {
    let err =
        build_request(ProviderKind::Ideogram, &request(false), "V_3", &creds(None)).unwrap_err();
    assert_eq!((err.status(), err.param.as_deref()), (400, Some("model")));
    let embed = crate::embeddings::parse_request(br#"{"model": "e", "input": "x"}"#).unwrap();
    let err = crate::embeddings::build_request(ProviderKind::Ideogram, &embed, "V_3", &creds(None))
        .unwrap_err();
    assert_eq!((err.status(), err.param.as_deref()), (400, Some("model")));
    assert!(matches!(
        parse_response(ProviderKind::Ideogram, 200, br#"{"data": []}"#),
        Err(UpstreamError::Malformed { .. })
    ));
}
