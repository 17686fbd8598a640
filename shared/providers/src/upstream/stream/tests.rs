use super::*;
use crate::chat::FinishReason;

fn decode(
    kind: ProviderKind,
    input: &str,
) -> (Vec<Delta>, Result<Vec<Delta>, UpstreamError>, Option<Usage>) {
    let mut decoder = StreamDecoder::new(kind);
    let deltas = decoder.feed(input.as_bytes()).unwrap();
    let end = decoder.finish();
    (deltas, end, decoder.usage())
}

#[test]
fn anthropic_cumulative_usage_in_message_delta_wins() {
    let input = "event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude\",\"usage\":{\"input_tokens\":5,\"cache_read_input_tokens\":100,\"output_tokens\":1}}}\r\n\r\n\
event: message_delta\r\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\",\"stop_sequence\":null},\"usage\":{\"input_tokens\":5,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":100,\"output_tokens\":30}}\r\n\r\n\
event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n";
    let (deltas, end, usage) = decode(ProviderKind::Anthropic, input);
    let expected_usage = Usage {
        prompt_tokens: 105,
        completion_tokens: 30,
    };
    assert_eq!(
        deltas,
        vec![
            Delta::Start {
                id: "msg_1".into(),
                model: "claude".into()
            },
            Delta::Finish(FinishReason::Length),
            Delta::Usage(expected_usage),
        ]
    );
    assert_eq!(end, Ok(vec![]));
    assert_eq!(usage, Some(expected_usage));
}

#[test]
fn anthropic_usage_is_sent_at_message_stop_without_message_delta_usage() {
    let input = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\",\"usage\":{\"input_tokens\":7,\"output_tokens\":1}}}\n\n\
event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    let (deltas, _, _) = decode(ProviderKind::Anthropic, input);
    assert_eq!(
        deltas.last(),
        Some(&Delta::Usage(Usage {
            prompt_tokens: 7,
            completion_tokens: 1
        }))
    );
}

#[test]
fn anthropic_ignores_non_text_blocks() {
    let input = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"ok\"}}\n\n";
    let (deltas, end, _) = decode(ProviderKind::Anthropic, input);
    assert_eq!(deltas, vec![Delta::Text("ok".into())]);
    assert_eq!(end, Err(UpstreamError::Truncated));
}

#[test]
fn openai_done_without_final_blank_line_is_complete() {
    let input = "data: {\"id\":\"c1\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]";
    let (deltas, end, usage) = decode(ProviderKind::OpenAiCompatible, input);
    assert_eq!(
        deltas,
        vec![
            Delta::Start {
                id: "c1".into(),
                model: "m".into()
            },
            Delta::Text("hi".into()),
            Delta::Finish(FinishReason::Stop),
        ]
    );
    assert_eq!(end, Ok(vec![]));
    assert_eq!(usage, None, "a server that sends no usage reports none");
}

#[test]
fn events_after_the_terminal_marker_are_ignored() {
    let input = "data: [DONE]\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"late\"}}]}\n\ndata: garbage\n\n";
    let (deltas, end, _) = decode(ProviderKind::OpenAi, input);
    assert!(deltas.is_empty());
    assert_eq!(end, Ok(vec![]));
}

#[test]
fn garbage_mid_stream_is_malformed() {
    let mut decoder = StreamDecoder::new(ProviderKind::OpenAi);
    let err = decoder.feed(b"data: {not json\n\n").unwrap_err();
    assert!(matches!(err, UpstreamError::Malformed { .. }));
}

#[test]
fn an_empty_stream_is_truncated() {
    for kind in [ProviderKind::OpenAi, ProviderKind::Anthropic] {
        let (deltas, end, usage) = decode(kind, "");
        assert!(deltas.is_empty());
        assert_eq!((end, usage), (Err(UpstreamError::Truncated), None));
    }
}

#[test]
fn openai_named_error_event() {
    let mut decoder = StreamDecoder::new(ProviderKind::OpenAiCompatible);
    let err = decoder
        .feed(b"event: error\ndata: {\"message\":\"boom\"}\n\n")
        .unwrap_err();
    assert!(matches!(err, UpstreamError::Server { .. }));
}

#[test]
fn oversized_event_is_malformed() {
    let mut decoder = StreamDecoder::new(ProviderKind::OpenAi);
    let huge = vec![b'a'; sse::DEFAULT_MAX_EVENT_BYTES + 1];
    assert!(decoder.feed(b"data: ").unwrap().is_empty());
    assert!(matches!(
        decoder.feed(&huge),
        Err(UpstreamError::Malformed { .. })
    ));
}

#[test]
fn deltas_before_an_error_come_first_then_the_error_sticks() {
    let mut decoder = StreamDecoder::new(ProviderKind::Anthropic);
    let chunk = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n\
event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"Internal server error\"}}\n\n";
    assert_eq!(
        decoder.feed(chunk.as_bytes()).unwrap(),
        vec![Delta::Text("Hi".into())]
    );
    let err = decoder.finish().unwrap_err();
    assert!(matches!(err, UpstreamError::Server { status: 500, .. }));
    assert_eq!(decoder.feed(b"data: {}\n\n").unwrap_err(), err);
}
