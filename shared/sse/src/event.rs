//! `Event`: one dispatched server-sent event.

/// One event, dispatched by a blank line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Event {
    /// The `event:` field, when the event set one (the standard's default type is `message`).
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The last event id seen on the stream so far (`id:` persists across events).
    pub id: Option<String>,
}
