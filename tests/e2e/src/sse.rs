//! A small Server-Sent Events reader for whole response bodies, as an SDK sees them: events are
//! separated by blank lines; `event:` names an event, `data:` lines are joined with `\n`, lines starting
//! with `:` are comments. No dependency on the server's crates.

use serde_json::Value;

/// One event of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The `event:` name, when the frame has one.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n` (empty when there were none).
    pub data: String,
    /// Lines that are neither `event:`, `data:` nor comments (`id:`, `retry:`, anything else).
    pub other: Vec<String>,
}

impl Frame {
    /// The data as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.data).ok()
    }

    /// `"event: x / data: …"` cut to 300 chars, for failure messages.
    pub fn describe(&self) -> String {
        let data: String = self.data.chars().take(300).collect();
        match &self.event {
            Some(name) => format!("event: {name} / data: {data}"),
            None => format!("data: {data}"),
        }
    }
}

/// The frames of `body`; frames with no field at all (only comments) are dropped.
pub fn parse(body: &str) -> Vec<Frame> {
    let normalized = body.replace("\r\n", "\n").replace('\r', "\n");
    normalized
        .split("\n\n")
        .filter_map(|block| {
            let mut frame = Frame {
                event: None,
                data: String::new(),
                other: Vec::new(),
            };
            let mut data_lines: Vec<&str> = Vec::new();
            let mut fields = 0;
            for line in block.lines() {
                if line.is_empty() || line.starts_with(':') {
                    continue;
                }
                fields += 1;
                let (name, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match name {
                    "event" => frame.event = Some(value.to_string()),
                    "data" => data_lines.push(value),
                    _ => frame.other.push(line.to_string()),
                }
            }
            frame.data = data_lines.join("\n");
            (fields > 0).then_some(frame)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_events_and_joins_data() {
        let body = "event: ping\ndata: {\"type\":\"ping\"}\n\n: comment\n\ndata: a\ndata: b\n\ndata: [DONE]\n\n";
        let frames = parse(body);
        assert_eq!(frames.len(), 3);
        assert_eq!(
            frames.first().and_then(|f| f.event.as_deref()),
            Some("ping")
        );
        assert_eq!(
            frames.first().and_then(Frame::json),
            Some(serde_json::json!({"type": "ping"}))
        );
        assert_eq!(frames.get(1).map(|f| f.data.as_str()), Some("a\nb"));
        assert_eq!(frames.get(2).map(|f| f.data.as_str()), Some("[DONE]"));
    }

    #[test]
    fn crlf_and_a_missing_final_blank_line() {
        let frames = parse("data: x\r\n\r\nid: 7\r\ndata: y");
        assert_eq!(frames.len(), 2);
        assert_eq!(
            frames.get(1).map(|f| f.other.clone()),
            Some(vec!["id: 7".to_string()])
        );
    }
}
