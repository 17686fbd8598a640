use super::*;

fn parse(value: Value) -> Result<ChatRequest, ApiError> {
    parse_request(value.to_string().as_bytes())
}

fn message_of(value: Value) -> String {
    parse(value).unwrap_err().message
}

#[test]
fn parses_a_messages_request() {
    let req = parse(json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "!"}]},
            {"role": "user", "content": [{"type": "text", "text": "Weather?"}]},
        ],
        "stop_sequences": ["\n\nHuman:"],
        "temperature": 0.7,
        "top_k": 5,
        "stream": true,
        "metadata": {"user_id": "u-9"},
    }))
    .unwrap();
    assert_eq!(req.model, "claude-sonnet-4-5");
    assert_eq!(req.max_tokens, Some(1024));
    let roles: Vec<Role> = req.messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [Role::System, Role::User, Role::Assistant, Role::User]
    );
    assert_eq!(
        req.messages[0].content,
        Content::Text("You are terse.".into())
    );
    assert_eq!(req.messages[2].content.text(), "Hi!");
    assert!(matches!(req.messages[2].content, Content::Parts(ref p) if p.len() == 2));
    assert_eq!(req.messages[3].content, Content::Text("Weather?".into()));
    assert_eq!(req.stop, vec!["\n\nHuman:"]);
    assert_eq!(req.temperature, Some(0.7));
    assert!(req.stream);
    assert_eq!(req.user.as_deref(), Some("u-9"));
    assert!(req.extra.is_empty());
}

#[test]
fn max_tokens_is_required() {
    let err =
        parse(json!({"model": "c", "messages": [{"role": "user", "content": "x"}]})).unwrap_err();
    assert_eq!(
        (err.status(), &*err.code, err.message.as_str()),
        (400, "missing_field", "max_tokens: is required")
    );
}

#[test]
fn roles_are_user_or_assistant() {
    let message = message_of(json!({"model": "c", "max_tokens": 5, "messages": [
        {"role": "user", "content": "x"},
        {"role": "system", "content": "y"},
    ]}));
    assert_eq!(
        message,
        "messages[1].role: must be \"user\" or \"assistant\", found \"system\""
    );
}

#[test]
fn non_text_blocks_are_rejected_by_path() {
    let message = message_of(json!({"model": "c", "max_tokens": 5, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "x"}, {"type": "document", "source": {}}]},
    ]}));
    assert_eq!(
        message,
        "messages[0].content[1].type: block type \"document\" is not supported (text, image, tool_use, tool_result)"
    );
    let message = message_of(json!({"model": "c", "max_tokens": 5, "messages": [
        {"role": "user", "content": [{"type": "image", "source": {}}]},
    ]}));
    assert_eq!(
        message,
        "messages[0].content[0].source.type: must be \"base64\" or \"url\""
    );
}

#[test]
fn unsupported_and_unknown_fields() {
    let base =
        json!({"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]});
    let mut thinking = base.clone();
    thinking["thinking"] = json!({"type": "enabled", "budget_tokens": 1024});
    let err = parse(thinking).unwrap_err();
    assert_eq!(
        (&*err.code, err.message.as_str()),
        (
            "unsupported_field",
            "thinking: not supported by this gateway"
        )
    );
    let mut with_unknown = base.clone();
    with_unknown["frequency_penalty"] = json!(1);
    assert_eq!(parse(with_unknown).unwrap_err().code, "unknown_field");
    let mut temp = base;
    temp["temperature"] = json!(1.5);
    assert_eq!(parse(temp).unwrap_err().status(), 422);
}

#[test]
fn empty_messages_and_bad_system() {
    assert_eq!(
        message_of(json!({"model": "c", "max_tokens": 5, "messages": []})),
        "messages: must not be empty"
    );
    assert_eq!(
        message_of(
            json!({"model": "c", "max_tokens": 5, "system": 3, "messages": [{"role": "user", "content": "x"}]})
        ),
        "system: must be a string or an array of text blocks"
    );
    assert_eq!(
        message_of(
            json!({"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "x", "extra": 1}]})
        ),
        "messages[0].extra: unknown field"
    );
}
