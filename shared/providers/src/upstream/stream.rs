//! [`StreamDecoder`]: an upstream's SSE bytes → [`Delta`]s, with its usage and its end.

mod anthropic;
mod openai;

use serde_json::Value;

use super::{ProviderKind, UpstreamError};
use crate::chat::{Delta, Usage};

/// Decodes one upstream stream, fed in chunks of any size.
///
/// A stream is complete only once its terminal marker arrived (OpenAI: `data: [DONE]`;
/// Anthropic: `message_stop`); [`StreamDecoder::finish`] reports anything else as
/// [`UpstreamError::Truncated`], so a cut stream never passes for a clean finish. An error the
/// upstream sends mid-stream is returned as the matching [`UpstreamError`]; deltas decoded
/// before it in the same chunk are returned first, and the error on the next call (`feed` or
/// `finish`). Once failed, the decoder keeps returning that error.
#[derive(Debug, Clone)]
pub struct StreamDecoder {
    kind: ProviderKind,
    sse: sse::Decoder,
    state: State,
    failed: Option<UpstreamError>,
}

/// What the per-provider readers keep between events.
#[derive(Debug, Clone, Default)]
struct State {
    started: bool,
    done: bool,
    usage: Option<Usage>,
    /// Anthropic: whether the combined usage delta went out yet.
    usage_sent: bool,
    /// Anthropic: the content block index of each tool call so far (the call's index is its position).
    tool_blocks: Vec<u64>,
}

impl StreamDecoder {
    pub fn new(kind: ProviderKind) -> Self {
        Self {
            kind,
            sse: sse::Decoder::new(),
            state: State::default(),
            failed: None,
        }
    }

    /// The deltas the next bytes complete. Bytes after the terminal marker are ignored.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Delta>, UpstreamError> {
        self.check()?;
        let mut deltas = Vec::new();
        match self.sse.feed(bytes) {
            Ok(events) => {
                for event in events {
                    if let Err(err) = self.apply(&event, &mut deltas) {
                        return self.fail(err, deltas);
                    }
                }
            }
            Err(err) => {
                let detail = err.to_string();
                return self.fail(UpstreamError::Malformed { detail }, deltas);
            }
        }
        Ok(deltas)
    }

    /// Ends the stream: the deltas of a last event not followed by a blank line, or
    /// [`UpstreamError::Truncated`] when the terminal marker never came.
    pub fn finish(&mut self) -> Result<Vec<Delta>, UpstreamError> {
        self.check()?;
        let mut deltas = Vec::new();
        if let Some(event) = self.sse.finish() {
            // A cut-off last event usually fails to parse; that is truncation, not garbage.
            self.apply(&event, &mut deltas).map_err(|err| match err {
                UpstreamError::Malformed { .. } => UpstreamError::Truncated,
                other => other,
            })?;
        }
        if self.state.done {
            Ok(deltas)
        } else {
            Err(UpstreamError::Truncated)
        }
    }

    /// What the upstream has reported as billed so far, even if the stream was cut.
    /// Anthropic reports input tokens at the start, so this is `Some` from then on.
    pub fn usage(&self) -> Option<Usage> {
        self.state.usage
    }

    /// Whether the terminal marker arrived.
    pub fn is_done(&self) -> bool {
        self.state.done
    }

    fn check(&self) -> Result<(), UpstreamError> {
        self.failed.clone().map_or(Ok(()), Err)
    }

    /// Remembers `err`; returns the deltas decoded before it, or the error if there are none.
    fn fail(
        &mut self,
        err: UpstreamError,
        deltas: Vec<Delta>,
    ) -> Result<Vec<Delta>, UpstreamError> {
        self.failed = Some(err.clone());
        if deltas.is_empty() {
            Err(err)
        } else {
            Ok(deltas)
        }
    }

    fn apply(&mut self, event: &sse::Event, deltas: &mut Vec<Delta>) -> Result<(), UpstreamError> {
        if self.state.done {
            return Ok(());
        }
        match self.kind {
            ProviderKind::OpenAi | ProviderKind::OpenAiCompatible => {
                openai::apply(&mut self.state, event, deltas)
            }
            ProviderKind::Anthropic => anthropic::apply(&mut self.state, event, deltas),
            ProviderKind::Ideogram => Err(UpstreamError::Malformed {
                detail: "ideogram has no chat stream".to_owned(),
            }),
        }
    }
}

fn parse(data: &str) -> Result<Value, UpstreamError> {
    serde_json::from_str(data).map_err(|_| UpstreamError::Malformed {
        detail: "a stream event is not JSON".to_owned(),
    })
}

fn str_at<'v>(value: &'v Value, path: &[&str]) -> Option<&'v str> {
    path.iter()
        .try_fold(value, |value, key| value.get(key))
        .and_then(Value::as_str)
}

#[cfg(test)]
mod tests;
