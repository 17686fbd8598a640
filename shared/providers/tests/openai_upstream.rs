//! OpenAI upstream payloads (tests/fixtures/openai) through the parsers.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{decode, fixture, text};
use providers::chat::{ChatResponse, Choice, Delta, FinishReason, Usage};
use providers::upstream::{classify, parse_response, ProviderKind, UpstreamError};

const USAGE: Usage = Usage {
    prompt_tokens: 24,
    completion_tokens: 8,
};

#[test]
fn non_streamed_completion() {
    for kind in [ProviderKind::OpenAi, ProviderKind::OpenAiCompatible] {
        let resp = parse_response(kind, 200, &fixture("openai/chat_completion.json")).unwrap();
        assert_eq!(
            resp,
            ChatResponse {
                id: "chatcmpl-BHZbT2mHdsDyQ5G7JpkR9vS3uXZ1a".into(),
                model: "gpt-4o-mini-2024-07-18".into(),
                created: 1_743_510_891,
                choices: vec![Choice {
                    index: 0,
                    text: "The capital of France is Paris.".into(),
                    tool_calls: Vec::new(),
                    finish_reason: FinishReason::Stop,
                }],
                usage: USAGE,
            }
        );
    }
}

#[test]
fn malformed_success_bodies() {
    let cases: [&[u8]; 4] = [
        b"<html>oops</html>",
        br#"{"id":"x","choices":[]}"#,
        br#"{"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":1,"completion_tokens":1}}"#,
        br#"{"id":"x","choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":"1"}}"#,
    ];
    for body in cases {
        let err = parse_response(ProviderKind::OpenAi, 200, body).unwrap_err();
        assert!(matches!(err, UpstreamError::Malformed { .. }), "{err:?}");
    }
    // OpenAI itself always reports usage; a compatible server may not.
    let no_usage = br#"{"id":"x","choices":[{"message":{"content":"hi"},"finish_reason":null}]}"#;
    assert!(parse_response(ProviderKind::OpenAi, 200, no_usage).is_err());
    let resp = parse_response(ProviderKind::OpenAiCompatible, 200, no_usage).unwrap();
    assert_eq!((resp.text(), resp.usage), ("hi", Usage::default()));
}

#[test]
fn stream_with_usage_chunk() {
    let decoded = decode(
        ProviderKind::OpenAi,
        &fixture("openai/stream.sse"),
        usize::MAX,
    );
    assert_eq!(decoded.end, Ok(()));
    assert_eq!(decoded.usage, Some(USAGE));
    assert_eq!(
        decoded.deltas.first(),
        Some(&Delta::Start {
            id: "chatcmpl-BHZc1kQm7r0pA9yXvN3dLs2wTzE4f".into(),
            model: "gpt-4o-mini-2024-07-18".into(),
        })
    );
    assert_eq!(text(&decoded.deltas), "The capital of France is Paris.");
    let tail = &decoded.deltas[decoded.deltas.len() - 2..];
    assert_eq!(
        tail,
        [Delta::Finish(FinishReason::Stop), Delta::Usage(USAGE)]
    );
}

#[test]
fn byte_by_byte_equals_whole() {
    for name in ["stream.sse", "stream_truncated.sse", "stream_error.sse"] {
        let bytes = fixture(&format!("openai/{name}"));
        let whole = decode(ProviderKind::OpenAi, &bytes, usize::MAX);
        for chunk in [1, 2, 3, 7, 64] {
            assert_eq!(
                decode(ProviderKind::OpenAi, &bytes, chunk),
                whole,
                "{name} by {chunk}"
            );
        }
    }
}

#[test]
fn truncated_stream_is_an_error() {
    let decoded = decode(
        ProviderKind::OpenAi,
        &fixture("openai/stream_truncated.sse"),
        5,
    );
    assert_eq!(decoded.end, Err(UpstreamError::Truncated));
    assert_eq!(text(&decoded.deltas), "The capital");
    assert_eq!(decoded.usage, None);
}

#[test]
fn error_mid_stream() {
    let decoded = decode(
        ProviderKind::OpenAi,
        &fixture("openai/stream_error.sse"),
        usize::MAX,
    );
    assert!(matches!(
        decoded.end,
        Err(UpstreamError::Server { status: 500, .. })
    ));
    assert_eq!(text(&decoded.deltas), "The capital");
}

#[test]
fn error_bodies() {
    let class = |status, name: &str| classify(status, None, &fixture(&format!("openai/{name}")));
    assert!(matches!(
        class(400, "error_400.json"),
        UpstreamError::BadRequest { status: 400, .. }
    ));
    assert!(matches!(
        class(400, "error_400_content_policy.json"),
        UpstreamError::ContentPolicy { .. }
    ));
    assert!(matches!(
        class(401, "error_401.json"),
        UpstreamError::Auth { status: 401, .. }
    ));
    assert!(matches!(
        class(404, "error_404.json"),
        UpstreamError::NotFound { .. }
    ));
    let quota = class(429, "error_429_quota.json");
    assert!(matches!(quota, UpstreamError::Auth { status: 429, .. }));
    assert!(!quota.is_retryable());
    assert_eq!(quota.to_api_error().status(), 502);
    assert!(matches!(
        class(500, "error_500.json"),
        UpstreamError::Server { status: 500, .. }
    ));
    assert!(matches!(
        class(503, "error_503.json"),
        UpstreamError::Overloaded { status: 503, .. }
    ));

    let rate = classify(429, Some("1"), &fixture("openai/error_429.json"));
    assert!(
        matches!(&rate, UpstreamError::RateLimited { message, .. } if message.starts_with("Rate limit reached"))
    );
    assert_eq!(rate.retry_after_ms(), Some(1_000));
    assert_eq!(rate.to_api_error().retry_after_secs, Some(1));

    let bad = class(400, "error_400.json").to_api_error();
    assert_eq!(bad.status(), 400);
    assert!(bad.message.starts_with("Invalid 'messages[1].content'"));
}

#[test]
fn non_2xx_through_parse_response() {
    let err =
        parse_response(ProviderKind::OpenAi, 401, &fixture("openai/error_401.json")).unwrap_err();
    let api = err.to_api_error();
    assert_eq!(api.status(), 502);
    assert!(
        !api.message.contains("sk-proj"),
        "the key hint never reaches the client"
    );
}
