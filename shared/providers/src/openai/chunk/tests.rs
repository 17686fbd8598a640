use super::*;

fn payloads(frames: &[String]) -> Vec<Value> {
    frames
        .iter()
        .map(|frame| {
            let data = frame
                .strip_prefix("data: ")
                .and_then(|rest| rest.strip_suffix("\n\n"))
                .unwrap();
            serde_json::from_str(data).unwrap()
        })
        .collect()
}

fn run(encoder: &mut ChunkEncoder, deltas: &[Delta]) -> Vec<String> {
    deltas.iter().flat_map(|d| encoder.encode(d)).collect()
}

fn sample() -> Vec<Delta> {
    vec![
        Delta::Start {
            id: "msg_1".into(),
            model: "claude".into(),
        },
        Delta::Text("Hel".into()),
        Delta::Text(String::new()),
        Delta::Text("lo".into()),
        Delta::Finish(FinishReason::Stop),
        Delta::Usage(Usage {
            prompt_tokens: 10,
            completion_tokens: 2,
        }),
    ]
}

#[test]
fn stream_with_usage() {
    let mut encoder = ChunkEncoder::new("chatcmpl-x", "fast", 1_700_000_000, true);
    let frames = run(&mut encoder, &sample());
    let chunks = payloads(&frames);
    assert_eq!(chunks.len(), 4);
    assert_eq!(
        chunks[0],
        json!({"id": "chatcmpl-x", "object": "chat.completion.chunk", "created": 1_700_000_000,
               "model": "fast", "usage": null,
               "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                            "logprobs": null, "finish_reason": null}]})
    );
    assert_eq!(chunks[1]["choices"][0]["delta"], json!({"content": "Hel"}));
    assert_eq!(chunks[2]["choices"][0]["delta"], json!({"content": "lo"}));
    assert_eq!(chunks[3]["choices"][0]["finish_reason"], "stop");
    assert_eq!(chunks[3]["choices"][0]["delta"], json!({}));

    let done = encoder.done();
    let (usage_frame, tail) = done.split_once("\n\n").unwrap();
    assert_eq!(tail, "data: [DONE]\n\n");
    let usage: Value = serde_json::from_str(usage_frame.strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(
        usage["usage"],
        json!({"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12})
    );
}

#[test]
fn stream_without_usage() {
    let mut encoder = ChunkEncoder::new("chatcmpl-x", "fast", 1, false);
    let chunks = payloads(&run(&mut encoder, &sample()));
    assert!(chunks.iter().all(|chunk| chunk.get("usage").is_none()));
    assert_eq!(encoder.done(), "data: [DONE]\n\n");
    assert_eq!(encoder.usage().map(|u| u.total_tokens()), Some(12));
}

#[test]
fn text_before_start_still_opens_with_the_role() {
    let mut encoder = ChunkEncoder::new("c", "m", 1, false);
    let chunks = payloads(&encoder.encode(&Delta::Text("x".into())));
    assert_eq!(chunks.len(), 2);
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(encoder
        .encode(&Delta::Start {
            id: "i".into(),
            model: "m".into()
        })
        .is_empty());
}

#[test]
fn error_frame_is_our_envelope() {
    let frame = ChunkEncoder::error_frame(
        &ApiError::upstream("the provider's stream ended early"),
        "req_1",
    );
    let body = payloads(std::slice::from_ref(&frame)).remove(0);
    assert_eq!(body["error"]["type"], "upstream_error");
    assert_eq!(body["error"]["request_id"], "req_1");
    assert!(!frame.contains("[DONE]"));
}
