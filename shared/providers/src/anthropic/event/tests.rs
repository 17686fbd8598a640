use super::*;

/// (event name, payload) of every frame.
fn parse(frames: &str) -> Vec<(String, Value)> {
    let mut decoder = sse::Decoder::new();
    decoder
        .feed(frames.as_bytes())
        .unwrap()
        .into_iter()
        .map(|event| {
            (
                event.event.unwrap(),
                serde_json::from_str(&event.data).unwrap(),
            )
        })
        .collect()
}

fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(name, _)| name.as_str()).collect()
}

#[test]
fn full_sequence() {
    let mut encoder = EventEncoder::new("msg_gw_1", "smart");
    let deltas = [
        Delta::Start {
            id: "chatcmpl-1".into(),
            model: "gpt-4o".into(),
        },
        Delta::Text("Hel".into()),
        Delta::Text("lo".into()),
        Delta::Finish(FinishReason::Length),
        Delta::Usage(Usage {
            prompt_tokens: 7,
            completion_tokens: 2,
        }),
    ];
    let mut out: String = deltas.iter().flat_map(|d| encoder.encode(d)).collect();
    out.extend(encoder.finish());
    let events = parse(&out);
    assert_eq!(
        names(&events),
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let start = &events[0].1["message"];
    assert_eq!(
        (start["id"].as_str(), start["model"].as_str()),
        (Some("msg_gw_1"), Some("smart"))
    );
    assert_eq!(
        start["usage"],
        json!({"input_tokens": 0, "output_tokens": 0})
    );
    assert_eq!(
        events[1].1["content_block"],
        json!({"type": "text", "text": ""})
    );
    assert_eq!(
        events[3].1["delta"],
        json!({"type": "text_delta", "text": "Hel"})
    );
    assert_eq!(
        events[6].1,
        json!({"type": "message_delta",
               "delta": {"stop_reason": "max_tokens", "stop_sequence": null},
               "usage": {"input_tokens": 7, "output_tokens": 2}})
    );
    assert_eq!(events[7].1, json!({"type": "message_stop"}));
}

#[test]
fn finish_without_deltas_is_still_a_complete_message() {
    let mut encoder = EventEncoder::new("m", "a");
    let events = parse(&encoder.finish().concat());
    assert_eq!(
        names(&events),
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(events[4].1["delta"]["stop_reason"], "end_turn");
}

#[test]
fn error_frame_uses_anthropic_shape() {
    let err = ApiError::rate_limited(3, "slow down");
    let events = parse(&EventEncoder::error_frame(&err, "req_7"));
    assert_eq!(names(&events), ["error"]);
    assert_eq!(
        events[0].1,
        json!({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}, "request_id": "req_7"})
    );
}
