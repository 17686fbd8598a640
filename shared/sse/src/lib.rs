//! Server-Sent Events codec (the `text/event-stream` format of the WHATWG HTML standard).
//!
//! Contract: no I/O, no clock. [`Decoder`] takes bytes as they arrive, split anywhere (inside a
//! line, inside a UTF-8 character, between `\r` and `\n`), and returns whole [`Event`]s; it buffers
//! at most a fixed number of bytes per event and reports more as [`SseError::EventTooLarge`].
//! [`encode`] and [`encode_data`] render frames that this decoder (and every browser) reads back
//! unchanged.

mod decoder;
mod encoder;
mod error;
mod event;

pub use decoder::{Decoder, DEFAULT_MAX_EVENT_BYTES};
pub use encoder::{encode, encode_data};
pub use error::SseError;
pub use event::Event;
