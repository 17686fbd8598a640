//! `encode` / `encode_data`: events rendered as `text/event-stream` frames.

/// One frame: an optional `event:` line, one `data:` line per line of `data`, a blank line.
///
/// Any of `\n`, `\r\n` or `\r` in `data` starts a new `data:` line (a raw `\r` would otherwise
/// end the line on the reader's side); line breaks in `event` are dropped so that it cannot
/// inject fields.
pub fn encode(event: Option<&str>, data: &str) -> String {
    let mut out = String::with_capacity(data.len() + 16);
    if let Some(name) = event {
        out.push_str("event: ");
        out.extend(name.chars().filter(|c| !matches!(c, '\r' | '\n')));
        out.push('\n');
    }
    for line in lines(data) {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out
}

/// `data: …\n\n` (several `data:` lines for multi-line data).
pub fn encode_data(data: &str) -> String {
    encode(None, data)
}

/// Splits at `\r\n`, `\n` or `\r`; an empty string is one empty line.
fn lines(data: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let text = rest?;
        match text.find(['\r', '\n']) {
            None => {
                rest = None;
                Some(text)
            }
            Some(i) => {
                let (line, tail) = text.split_at(i);
                let skip = if tail.starts_with("\r\n") { 2 } else { 1 };
                rest = tail.get(skip..);
                Some(line)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Decoder;

    #[test]
    fn single_line_data() {
        assert_eq!(encode_data("{\"a\":1}"), "data: {\"a\":1}\n\n");
        assert_eq!(encode_data(""), "data: \n\n");
    }

    #[test]
    fn named_event_with_multi_line_data() {
        assert_eq!(
            encode(Some("ping"), "a\nb\r\nc\rd"),
            "event: ping\ndata: a\ndata: b\ndata: c\ndata: d\n\n"
        );
        assert_eq!(encode(Some("x\r\ny"), "z"), "event: xy\ndata: z\n\n");
    }

    #[test]
    fn round_trips_through_the_decoder() {
        for data in [
            "",
            "one",
            "a\nb",
            "trailing\n",
            "\n\nlead",
            " spaced ",
            "é\r\n✓",
        ] {
            let frame = encode(Some("message_delta"), data);
            let mut decoder = Decoder::new();
            let events = decoder.feed(frame.as_bytes()).unwrap();
            assert_eq!(events.len(), 1, "{data:?}");
            let expected = data.replace("\r\n", "\n").replace('\r', "\n");
            assert_eq!(events[0].data, expected);
            assert_eq!(events[0].event.as_deref(), Some("message_delta"));
            assert!(!decoder.has_pending());
        }
    }
}
