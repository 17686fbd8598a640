//! Anthropic upstream payloads (tests/fixtures/anthropic) through the parsers.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{decode, fixture, text};
use providers::chat::{Delta, FinishReason, Usage};
use providers::upstream::{classify, parse_response, ProviderKind, UpstreamError};

const KIND: ProviderKind = ProviderKind::Anthropic;

#[test]
fn non_streamed_message() {
    let resp = parse_response(KIND, 200, &fixture("anthropic/message.json")).unwrap();
    assert_eq!(resp.id, "msg_01XFDUDYJgAACzvnptvVoYEL");
    assert_eq!(resp.model, "claude-sonnet-4-5-20250929");
    assert_eq!(resp.text(), "The capital of France is Paris.");
    assert_eq!(resp.finish_reason(), FinishReason::Stop);
    // 14 uncached + 2048 read from the cache.
    assert_eq!(
        resp.usage,
        Usage {
            prompt_tokens: 2062,
            completion_tokens: 10
        }
    );
    assert_eq!(
        resp.created, 0,
        "Anthropic sends no timestamp; the shell fills it in"
    );
}

#[test]
fn malformed_success_bodies() {
    let cases: [&[u8]; 3] = [
        b"not json",
        br#"{"id":"msg_1","type":"message","content":[{"type":"text","text":"x"}]}"#,
        br#"{"type":"message","content":[],"usage":{"input_tokens":1,"output_tokens":1}}"#,
    ];
    for body in cases {
        assert!(matches!(
            parse_response(KIND, 200, body),
            Err(UpstreamError::Malformed { .. })
        ));
    }
}

#[test]
fn stream_combines_split_usage_into_one_delta() {
    let decoded = decode(KIND, &fixture("anthropic/stream.sse"), usize::MAX);
    let usage = Usage {
        prompt_tokens: 14,
        completion_tokens: 10,
    };
    assert_eq!(decoded.end, Ok(()));
    assert_eq!(decoded.usage, Some(usage));
    assert_eq!(
        decoded.deltas,
        vec![
            Delta::Start {
                id: "msg_01LqV5CVsmYyh2aUMJpCbZre".into(),
                model: "claude-sonnet-4-5-20250929".into(),
            },
            Delta::Text("The capital".into()),
            Delta::Text(" of France is".into()),
            Delta::Text(" Paris.".into()),
            Delta::Finish(FinishReason::Stop),
            Delta::Usage(usage),
        ]
    );
    let usages = decoded
        .deltas
        .iter()
        .filter(|d| matches!(d, Delta::Usage(_)))
        .count();
    assert_eq!(usages, 1);
}

#[test]
fn byte_by_byte_equals_whole() {
    for name in ["stream.sse", "stream_truncated.sse", "stream_error.sse"] {
        let bytes = fixture(&format!("anthropic/{name}"));
        let whole = decode(KIND, &bytes, usize::MAX);
        for chunk in [1, 2, 3, 7, 64] {
            assert_eq!(decode(KIND, &bytes, chunk), whole, "{name} by {chunk}");
        }
    }
}

#[test]
fn crlf_transcript_decodes_the_same() {
    let lf = fixture("anthropic/stream.sse");
    let crlf = String::from_utf8(lf.clone()).unwrap().replace('\n', "\r\n");
    assert_eq!(
        decode(KIND, crlf.as_bytes(), 1),
        decode(KIND, &lf, usize::MAX)
    );
}

#[test]
fn truncated_stream_keeps_the_billed_input() {
    let decoded = decode(KIND, &fixture("anthropic/stream_truncated.sse"), 3);
    assert_eq!(decoded.end, Err(UpstreamError::Truncated));
    assert_eq!(text(&decoded.deltas), "The capital");
    assert_eq!(
        decoded.usage,
        Some(Usage {
            prompt_tokens: 14,
            completion_tokens: 1
        })
    );
    assert!(!decoded.deltas.iter().any(|d| matches!(d, Delta::Finish(_))));
}

#[test]
fn overloaded_mid_stream() {
    let decoded = decode(KIND, &fixture("anthropic/stream_error.sse"), usize::MAX);
    assert!(matches!(
        decoded.end,
        Err(UpstreamError::Overloaded { status: 529, .. })
    ));
    assert_eq!(text(&decoded.deltas), "The capital");
}

#[test]
fn error_bodies() {
    let class = |status, name: &str| classify(status, None, &fixture(&format!("anthropic/{name}")));
    let bad = class(400, "error_400.json");
    assert!(
        matches!(&bad, UpstreamError::BadRequest { status: 400, message } if message.starts_with("messages: roles must alternate"))
    );
    assert!(matches!(
        class(401, "error_401.json"),
        UpstreamError::Auth { status: 401, .. }
    ));
    assert!(matches!(
        class(500, "error_500.json"),
        UpstreamError::Server { status: 500, .. }
    ));
    let overloaded = class(529, "error_529.json");
    assert!(matches!(
        overloaded,
        UpstreamError::Overloaded { status: 529, .. }
    ));
    assert!(overloaded.is_retryable());

    let rate = classify(429, Some("12"), &fixture("anthropic/error_429.json"));
    assert!(matches!(
        rate,
        UpstreamError::RateLimited {
            retry_after_ms: Some(12_000),
            ..
        }
    ));
    let api = rate.to_api_error();
    assert_eq!(
        (api.status(), &*api.code, api.retry_after_secs),
        (429, "rate_limited", Some(12))
    );
    assert!(
        !api.message.contains("3f2c0a1e"),
        "the provider's org id stays in the logs"
    );
}
