//! One provider's stream re-encoded in the other wire format, and read back.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{decode, fixture, text};
use providers::anthropic::{self, EventEncoder};
use providers::chat::{Delta, FinishReason, Usage};
use providers::openai::{self, ChunkEncoder};
use providers::upstream::{build_request, parse_response, Credentials, ProviderKind};
use serde_json::{json, Value};

#[test]
fn anthropic_stream_to_openai_chunks() {
    let upstream = decode(ProviderKind::Anthropic, &fixture("anthropic/stream.sse"), 1);
    assert_eq!(upstream.end, Ok(()));
    let mut encoder = ChunkEncoder::new("chatcmpl-gw1", "smart", 1_750_000_000, true);
    let mut out: String = upstream
        .deltas
        .iter()
        .flat_map(|d| encoder.encode(d))
        .collect();
    out.push_str(&encoder.done());

    assert!(out.ends_with("data: [DONE]\n\n"));
    let ours = decode(ProviderKind::OpenAi, out.as_bytes(), 5);
    assert_eq!(ours.end, Ok(()));
    assert_eq!(text(&ours.deltas), "The capital of France is Paris.");
    assert_eq!(
        ours.usage,
        Some(Usage {
            prompt_tokens: 14,
            completion_tokens: 10
        })
    );
    assert_eq!(
        ours.deltas.first(),
        Some(&Delta::Start {
            id: "chatcmpl-gw1".into(),
            model: "smart".into()
        })
    );
    assert!(ours.deltas.contains(&Delta::Finish(FinishReason::Stop)));
}

#[test]
fn openai_stream_to_anthropic_events() {
    let upstream = decode(ProviderKind::OpenAi, &fixture("openai/stream.sse"), 1);
    let mut encoder = EventEncoder::new("msg_gw1", "fast");
    let mut out: String = upstream
        .deltas
        .iter()
        .flat_map(|d| encoder.encode(d))
        .collect();
    out.extend(encoder.finish());

    let ours = decode(ProviderKind::Anthropic, out.as_bytes(), 3);
    assert_eq!(ours.end, Ok(()));
    assert_eq!(text(&ours.deltas), "The capital of France is Paris.");
    assert_eq!(
        ours.usage,
        Some(Usage {
            prompt_tokens: 24,
            completion_tokens: 8
        })
    );
    assert!(ours.deltas.contains(&Delta::Finish(FinishReason::Stop)));

    let names: Vec<&str> = out
        .lines()
        .filter_map(|line| line.strip_prefix("event: "))
        .collect();
    assert_eq!(names[..3], ["message_start", "content_block_start", "ping"]);
    assert_eq!(
        names[names.len() - 3..],
        ["content_block_stop", "message_delta", "message_stop"]
    );
}

#[test]
fn cut_upstream_becomes_an_error_frame_without_done() {
    let upstream = decode(
        ProviderKind::Anthropic,
        &fixture("anthropic/stream_truncated.sse"),
        4,
    );
    let err = upstream.end.unwrap_err().to_api_error();
    let mut encoder = ChunkEncoder::new("c", "smart", 1, true);
    let mut out: String = upstream
        .deltas
        .iter()
        .flat_map(|d| encoder.encode(d))
        .collect();
    out.push_str(&ChunkEncoder::error_frame(&err, "req_1"));
    assert!(!out.contains("[DONE]"));
    let ours = decode(ProviderKind::OpenAi, out.as_bytes(), 1);
    assert!(
        ours.end.is_err(),
        "a client reading our stream sees the failure"
    );
    assert_eq!(text(&ours.deltas), "The capital");
}

#[test]
fn non_streamed_answers_cross_over() {
    let claude = parse_response(
        ProviderKind::Anthropic,
        200,
        &fixture("anthropic/message.json"),
    )
    .unwrap();
    let as_openai = openai::render_response(&claude, "smart");
    assert_eq!(as_openai["object"], "chat.completion");
    assert_eq!(
        as_openai["choices"][0]["message"]["content"],
        "The capital of France is Paris."
    );
    assert_eq!(
        as_openai["usage"],
        json!({"prompt_tokens": 2062, "completion_tokens": 10, "total_tokens": 2072})
    );

    let gpt = parse_response(
        ProviderKind::OpenAi,
        200,
        &fixture("openai/chat_completion.json"),
    )
    .unwrap();
    let as_anthropic = anthropic::render_response(&gpt, "fast");
    assert_eq!(as_anthropic["type"], "message");
    assert_eq!(as_anthropic["stop_reason"], "end_turn");
    assert_eq!(
        as_anthropic["usage"],
        json!({"input_tokens": 24, "output_tokens": 8})
    );
}

#[test]
fn requests_cross_over() {
    let creds = Credentials {
        api_key: "k",
        base_url: None,
    };
    let anthropic_body = json!({
        "model": "smart", "max_tokens": 300, "system": "Be terse.", "stream": true,
        "messages": [{"role": "user", "content": "Hi"}],
    });
    let req = anthropic::parse_request(anthropic_body.to_string().as_bytes()).unwrap();
    let http = build_request(ProviderKind::OpenAi, &req, "gpt-4o-mini", &creds).unwrap();
    let body: Value = serde_json::from_slice(&http.body).unwrap();
    assert_eq!(
        body,
        json!({
            "model": "gpt-4o-mini", "max_completion_tokens": 300, "stream": true,
            "stream_options": {"include_usage": true},
            "messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}],
        })
    );

    let openai_body = json!({"model": "fast", "messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}]});
    let req = openai::parse_request(openai_body.to_string().as_bytes()).unwrap();
    let http = build_request(ProviderKind::Anthropic, &req, "claude-haiku-4-5", &creds).unwrap();
    let body: Value = serde_json::from_slice(&http.body).unwrap();
    assert_eq!(
        body,
        json!({
            "model": "claude-haiku-4-5", "max_tokens": 4096, "system": "Be terse.",
            "messages": [{"role": "user", "content": "Hi"}],
        })
    );
}
