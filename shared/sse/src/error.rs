//! `SseError`: what can go wrong while decoding a stream.

/// A stream that cannot be decoded any further.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    /// One event (its unfinished line plus its `data` so far) grew past the decoder's limit.
    /// The decoder stays in this state: the stream is unusable from here on.
    #[error("server-sent event exceeds {limit} bytes")]
    EventTooLarge { limit: usize },
}
