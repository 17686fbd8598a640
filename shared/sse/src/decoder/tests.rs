use super::*;

fn whole(input: &[u8]) -> (Vec<Event>, Option<Event>) {
    let mut decoder = Decoder::new();
    let events = decoder.feed(input).unwrap();
    (events, decoder.finish())
}

fn byte_by_byte(input: &[u8]) -> (Vec<Event>, Option<Event>) {
    let mut decoder = Decoder::new();
    let mut events = Vec::new();
    for byte in input {
        events.extend(decoder.feed(std::slice::from_ref(byte)).unwrap());
    }
    (events, decoder.finish())
}

fn data(text: &str) -> Event {
    Event {
        data: text.to_owned(),
        ..Event::default()
    }
}

const TRANSCRIPT: &str =
    "event: message_start\r\ndata: {\"a\":\"h\u{e9}llo \u{2713} \u{1f600}\"}\r\n\r\n\
: keep-alive\n\nid: 7\ndata: one\ndata: two\n\ndata:no-space\r\rdata:  two-spaces\r\r\
event: ping\ndata\n\ndata: [DONE]\n\n";

#[test]
fn decodes_a_mixed_transcript() {
    let (events, rest) = whole(TRANSCRIPT.as_bytes());
    assert_eq!(rest, None);
    let expected = vec![
        Event {
            event: Some("message_start".into()),
            data: "{\"a\":\"h\u{e9}llo \u{2713} \u{1f600}\"}".into(),
            id: None,
        },
        Event {
            id: Some("7".into()),
            ..data("one\ntwo")
        },
        Event {
            id: Some("7".into()),
            ..data("no-space")
        },
        Event {
            id: Some("7".into()),
            ..data(" two-spaces")
        },
        Event {
            event: Some("ping".into()),
            id: Some("7".into()),
            ..data("")
        },
        Event {
            id: Some("7".into()),
            ..data("[DONE]")
        },
    ];
    assert_eq!(events, expected);
}

#[test]
fn byte_by_byte_equals_whole() {
    assert_eq!(
        byte_by_byte(TRANSCRIPT.as_bytes()),
        whole(TRANSCRIPT.as_bytes())
    );
}

#[test]
fn every_split_point_equals_whole() {
    let input = TRANSCRIPT.as_bytes();
    let reference = whole(input);
    for cut in 0..=input.len() {
        let (head, tail) = input.split_at(cut);
        let mut decoder = Decoder::new();
        let mut events = decoder.feed(head).unwrap();
        events.extend(decoder.feed(tail).unwrap());
        assert_eq!((events, decoder.finish()), reference, "cut at {cut}");
    }
}

#[test]
fn crlf_split_between_cr_and_lf_is_one_line_ending() {
    let mut decoder = Decoder::new();
    assert!(decoder.feed(b"data: a\r").unwrap().is_empty());
    // Had the \n counted as a second line ending, this blank line would dispatch "a" early.
    assert!(decoder.feed(b"\ndata: b\r").unwrap().is_empty());
    let events = decoder.feed(b"\n\r\n").unwrap();
    assert_eq!(events, vec![data("a\nb")]);
}

#[test]
fn comments_are_ignored() {
    let (events, rest) = whole(b": hello\n:\n\n: another\ndata: x\n\n");
    assert_eq!(events, vec![data("x")]);
    assert_eq!(rest, None);
}

#[test]
fn trailing_partial_event_is_flushed_by_finish() {
    let mut decoder = Decoder::new();
    assert_eq!(
        decoder.feed(b"data: a\n\ndata: b").unwrap(),
        vec![data("a")]
    );
    assert!(decoder.has_pending());
    assert_eq!(decoder.finish(), Some(data("b")));
    assert!(!decoder.has_pending());
    assert_eq!(decoder.finish(), None);

    let mut decoder = Decoder::new();
    decoder.feed(b"event: x\ndata: y\n").unwrap();
    assert!(decoder.has_pending());
    assert_eq!(
        decoder.finish(),
        Some(Event {
            event: Some("x".into()),
            ..data("y")
        })
    );
}

#[test]
fn event_without_data_is_dropped() {
    let (events, rest) = whole(b"event: lonely\n\nid: 3\n\n");
    assert!(events.is_empty());
    assert_eq!(rest, None);
}

#[test]
fn field_without_colon_and_unknown_fields() {
    let (events, _) = whole(b"data\ndata\nfoo: bar\n\n");
    assert_eq!(events, vec![data("\n")]);
}

#[test]
fn retry_and_id_fields() {
    let mut decoder = Decoder::new();
    decoder
        .feed(b"retry: 1500\nretry: x\nid: a\0b\ndata: z\n\n")
        .unwrap();
    assert_eq!(decoder.retry(), Some(1500));
    let (events, _) = whole(b"id: 1\ndata: a\n\nid\ndata: b\n\n");
    assert_eq!(events[0].id.as_deref(), Some("1"));
    assert_eq!(events[1].id, None);
}

#[test]
fn leading_bom_is_stripped_once() {
    let (events, _) = whole("\u{feff}data: x\n\n\u{feff}data: y\n\n".as_bytes());
    assert_eq!(events[0], data("x"));
    assert_eq!(events.len(), 1, "a BOM later on makes an unknown field");
}

#[test]
fn invalid_utf8_is_replaced_not_fatal() {
    let (events, _) = whole(b"data: \xff\xfe ok\n\n");
    assert_eq!(events, vec![data("\u{fffd}\u{fffd} ok")]);
}

#[test]
fn oversized_event_is_an_error_and_sticks() {
    let mut decoder = Decoder::with_limit(16);
    assert_eq!(decoder.feed(b"data: 0123456\n").unwrap(), vec![]);
    let err = decoder.feed(b"data: 0123456789\n").unwrap_err();
    assert_eq!(err, SseError::EventTooLarge { limit: 16 });
    assert_eq!(decoder.feed(b"\n").unwrap_err(), err);
    assert!(err.to_string().contains("16 bytes"));
}

#[test]
fn limit_is_per_event() {
    let mut decoder = Decoder::with_limit(16);
    for _ in 0..100 {
        assert_eq!(decoder.feed(b"data: 0123456\n\n").unwrap().len(), 1);
    }
}
