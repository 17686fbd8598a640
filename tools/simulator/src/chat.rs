//! The chat pipeline both providers share: authenticate, read, admit faults, plan the reply, then
//! answer whole or streamed. A [`Dialect`] supplies only the wire format; the faults that act on a
//! stream (cut, malformed, pacing) act here, on frames, the same way for both.

use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{HeaderMap, Request, Response};

use crate::attempts::Attempts;
use crate::body::SimBody;
use crate::clock;
use crate::conversation::Conversation;
use crate::digest;
use crate::directive::Directive;
use crate::errors::{ApiError, Shape};
use crate::faults;
use crate::intake;
use crate::reply::Reply;
use crate::respond;

/// One provider's chat wire format.
pub trait Dialect {
    const SHAPE: Shape;
    /// Prefix of the deterministic response id (`chatcmpl-`, `msg_`).
    const ID_PREFIX: &'static str;

    fn authenticate(headers: &HeaderMap) -> Result<(), ApiError>;
    fn parse(body: &[u8]) -> Result<Conversation, ApiError>;
    /// The whole, non-streamed answer body.
    fn complete(conversation: &Conversation, exchange: &Exchange) -> Vec<u8>;
    /// The streamed answer as SSE events.
    fn stream(conversation: &Conversation, exchange: &Exchange) -> Frames;
}

/// What an answer reports, computed once for both answer forms.
pub struct Exchange {
    pub id: String,
    pub created: u64,
    pub prompt_tokens: u64,
    /// The text (none when the model calls tools).
    pub reply: Reply,
    /// The reply's words, plus `tools::TOKENS_PER_CALL` per tool call.
    pub completion_tokens: u64,
}

/// The SSE events of one streamed answer, split where the faults act on them.
pub struct Frames {
    /// Before the first content delta (role chunk; message_start, content_block_start, ping).
    pub head: Vec<Bytes>,
    /// One event per reply word.
    pub deltas: Vec<Bytes>,
    /// After the last delta: finish, usage, terminator. Never sent by a cut stream.
    pub tail: Vec<Bytes>,
    /// A `data:` line of broken JSON that takes the first delta's place under `malformed=1`.
    pub broken: Bytes,
}

pub async fn handle<D: Dialect>(
    request: Request<Incoming>,
    attempts: &Attempts,
) -> Response<SimBody> {
    match answer::<D>(request, attempts).await {
        Ok(response) | Err(response) => response,
    }
}

async fn answer<D: Dialect>(
    request: Request<Incoming>,
    attempts: &Attempts,
) -> Result<Response<SimBody>, Response<SimBody>> {
    let rejected = |error: ApiError| error.render(D::SHAPE);
    let (parts, body) = request.into_parts();
    D::authenticate(&parts.headers).map_err(rejected)?;
    let bytes = intake::read_body(body).await.map_err(rejected)?;
    let conversation = D::parse(&bytes).map_err(rejected)?;
    let directive = conversation.directive();
    // Before the faults, so a refused attempt is on record too.
    if let Some(key) = &directive.key {
        attempts.remember(key, &bytes);
    }
    let faults = faults::admit(D::SHAPE, directive, attempts).await?;
    let reply = if conversation.calls.is_empty() {
        Reply::plan(faults.tokens, conversation.max_tokens)
    } else {
        Reply::plan(Some(0), None)
    };
    let calls = conversation.calls.len() as u64;
    let exchange = Exchange {
        id: format!("{}{}", D::ID_PREFIX, digest::hex_id(&bytes)),
        created: clock::unix_now(),
        prompt_tokens: conversation.prompt_tokens(),
        completion_tokens: reply.words + calls * crate::tools::TOKENS_PER_CALL,
        reply,
    };
    if conversation.stream {
        Ok(stream(D::stream(&conversation, &exchange), &faults))
    } else {
        Ok(respond::deliver(
            D::complete(&conversation, &exchange),
            &faults,
        ))
    }
}

/// Lays out the frames the faults leave: a cut stream stops after `cut_after` deltas and never
/// sends its tail; a malformed one has its first delta replaced by broken JSON.
fn stream(frames: Frames, faults: &Directive) -> Response<SimBody> {
    let Frames {
        head: mut sent,
        deltas,
        tail,
        broken,
    } = frames;
    let first_delta = sent.len();
    let cut = faults
        .cut_after
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let kept = deltas.len().min(cut.unwrap_or(usize::MAX));
    sent.extend(deltas.into_iter().take(kept));
    if cut.is_none() {
        sent.extend(tail);
    }
    if faults.malformed {
        match sent.get_mut(first_delta) {
            Some(slot) if kept > 0 => *slot = broken,
            _ => sent.insert(first_delta.min(sent.len()), broken),
        }
    }
    let gap = Duration::from_millis(faults.chunk_delay_ms.unwrap_or(0));
    respond::event_stream(sent, gap, cut.is_some())
}

/// One SSE event: an optional `event:` line, then `data:`.
pub fn sse(event: Option<&str>, data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(data.len() + 32);
    if let Some(event) = event {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(event.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn frames() -> Frames {
        let b = |s: &'static str| Bytes::from_static(s.as_bytes());
        Frames {
            head: vec![b("H")],
            deltas: vec![b("1"), b("2"), b("3")],
            tail: vec![b("T")],
            broken: b("X"),
        }
    }

    async fn sent(faults: &str) -> (String, bool) {
        let mut body = stream(frames(), &Directive::scan([faults])).into_body();
        let mut out = String::new();
        loop {
            match body.frame().await {
                None => return (out, false),
                Some(Err(_)) => return (out, true),
                Some(Ok(frame)) => {
                    let data = frame.into_data().unwrap();
                    out.push_str(std::str::from_utf8(&data).unwrap());
                }
            }
        }
    }

    #[tokio::test]
    async fn lays_out_streams_under_faults() {
        assert_eq!(sent("").await, ("H123T".into(), false));
        assert_eq!(sent("[[sim: malformed=1]]").await, ("HX23T".into(), false));
        assert_eq!(sent("[[sim: cut_after=2]]").await, ("H12".into(), true));
        assert_eq!(sent("[[sim: cut_after=9]]").await, ("H123".into(), true));
        assert_eq!(
            sent("[[sim: cut_after=0, malformed=1]]").await,
            ("HX".into(), true)
        );
    }

    #[test]
    fn formats_sse_events() {
        assert_eq!(sse(None, b"{}"), "data: {}\n\n");
        assert_eq!(sse(Some("ping"), b"{}"), "event: ping\ndata: {}\n\n");
    }
}
