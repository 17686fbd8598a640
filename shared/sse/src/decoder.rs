//! `Decoder`: bytes in, whole events out, at any chunking.

use crate::{Event, SseError};

/// The default cap on one event's buffered bytes: 1 MiB.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 1 << 20;

const BOM: char = '\u{feff}';

/// An incremental `text/event-stream` parser.
///
/// Lines are kept as bytes until their end is seen, so a chunk boundary inside a multi-byte
/// character is harmless; a `\r` at the end of a chunk remembers that a `\n` starting the next
/// chunk belongs to the same line ending.
#[derive(Debug, Clone)]
pub struct Decoder {
    limit: usize,
    line: Vec<u8>,
    after_cr: bool,
    started: bool,
    pending: Pending,
    last_id: Option<String>,
    retry: Option<u64>,
    failed: bool,
}

/// The fields of the event being built.
#[derive(Debug, Clone, Default)]
struct Pending {
    event: Option<String>,
    data: String,
    has_data: bool,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder capping each event at [`DEFAULT_MAX_EVENT_BYTES`].
    pub fn new() -> Self {
        Self::with_limit(DEFAULT_MAX_EVENT_BYTES)
    }

    /// A decoder capping each event (unfinished line plus data so far) at `max_event_bytes`.
    pub fn with_limit(max_event_bytes: usize) -> Self {
        Self {
            limit: max_event_bytes,
            line: Vec::new(),
            after_cr: false,
            started: false,
            pending: Pending::default(),
            last_id: None,
            retry: None,
            failed: false,
        }
    }

    /// Consumes the next bytes of the stream and returns the events they complete.
    ///
    /// Once an event has exceeded the limit every later call fails the same way.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Event>, SseError> {
        if self.failed {
            return Err(self.overflow());
        }
        let mut events = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            if std::mem::take(&mut self.after_cr) && rest.first() == Some(&b'\n') {
                rest = rest.get(1..).unwrap_or_default();
                continue;
            }
            let end = rest.iter().position(|b| matches!(b, b'\n' | b'\r'));
            let Some((head, tail)) = end.and_then(|i| rest.split_at_checked(i)) else {
                self.extend_line(rest)?;
                break;
            };
            self.extend_line(head)?;
            self.after_cr = tail.first() == Some(&b'\r');
            rest = tail.get(1..).unwrap_or_default();
            if let Some(event) = self.end_line() {
                events.push(event);
            }
        }
        Ok(events)
    }

    /// Ends the stream: returns the event still being built (its last line need not end with a
    /// line break), if it has any data. Whether that counts as a truncated stream is the
    /// caller's call. The decoder is then ready for a new stream (the last event id is kept).
    pub fn finish(&mut self) -> Option<Event> {
        if !self.line.is_empty() {
            // A non-empty line only sets a field; it never dispatches by itself.
            let _ = self.end_line();
        }
        self.after_cr = false;
        self.dispatch()
    }

    /// Whether bytes or fields of an undispatched event are buffered.
    pub fn has_pending(&self) -> bool {
        !self.line.is_empty() || self.pending.has_data || self.pending.event.is_some()
    }

    /// The last `retry:` value (milliseconds) the stream sent.
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }

    fn extend_line(&mut self, bytes: &[u8]) -> Result<(), SseError> {
        let buffered = self.line.len() + self.pending.data.len();
        if buffered.saturating_add(bytes.len()) > self.limit {
            self.failed = true;
            self.line.clear();
            self.pending = Pending::default();
            return Err(self.overflow());
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn overflow(&self) -> SseError {
        SseError::EventTooLarge { limit: self.limit }
    }

    fn end_line(&mut self) -> Option<Event> {
        let raw = std::mem::take(&mut self.line);
        let decoded = String::from_utf8_lossy(&raw);
        let mut line: &str = &decoded;
        if !std::mem::replace(&mut self.started, true) {
            line = line.strip_prefix(BOM).unwrap_or(line);
        }
        if line.is_empty() {
            return self.dispatch();
        }
        self.apply_field(line);
        None
    }

    fn apply_field(&mut self, line: &str) {
        if line.starts_with(':') {
            return; // a comment, typically a keep-alive
        }
        let (name, value) = match line.split_once(':') {
            Some((name, value)) => (name, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match name {
            "event" => self.pending.event = Some(value.to_owned()).filter(|v| !v.is_empty()),
            "data" => {
                if self.pending.has_data {
                    self.pending.data.push('\n');
                }
                self.pending.data.push_str(value);
                self.pending.has_data = true;
            }
            "id" if !value.contains('\0') => {
                self.last_id = Some(value.to_owned()).filter(|v| !v.is_empty());
            }
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.retry = value.parse().ok();
            }
            _ => {} // unknown fields are ignored, as the standard says
        }
    }

    fn dispatch(&mut self) -> Option<Event> {
        let pending = std::mem::take(&mut self.pending);
        // An event without any data line is dropped, as the standard says.
        pending.has_data.then(|| Event {
            event: pending.event,
            data: pending.data,
            id: self.last_id.clone(),
        })
    }
}

#[cfg(test)]
mod tests;
