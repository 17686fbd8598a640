//! The one response body type: a queue of frames, optionally paced, optionally ending in an
//! abort that makes hyper drop the connection mid-response (how a cut upstream looks to a client).
//!
//! A hand-written body instead of a channel and a spawned task: a stream is just its frames, so
//! pacing lives in `poll_frame` and a client that hangs up simply drops the body.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

/// How long an aborting body waits after its last frame before failing. Hyper discards what is
/// still in its write buffer when a body fails, so the pause lets the partial response reach the
/// socket first.
const ABORT_GRACE: Duration = Duration::from_millis(20);

/// The error an aborting body ends with; hyper answers it by closing the connection.
#[derive(Debug)]
pub struct Aborted;

impl fmt::Display for Aborted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("response cut short by fault injection")
    }
}

impl std::error::Error for Aborted {}

pub struct SimBody {
    frames: VecDeque<Bytes>,
    /// Pause before every frame but the first (`chunk_delay_ms`).
    gap: Option<Duration>,
    sleep: Option<Pin<Box<Sleep>>>,
    sent_any: bool,
    abort: bool,
    /// A single complete buffer: hyper may then send a `content-length` instead of chunks.
    whole: bool,
}

impl SimBody {
    /// A complete body sent at once.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let mut body = Self::frames(vec![bytes.into()], None);
        body.whole = true;
        body
    }

    /// A streamed (chunked) body, one frame after another.
    pub fn frames(frames: Vec<Bytes>, gap: Option<Duration>) -> Self {
        SimBody {
            frames: frames.into(),
            gap: gap.filter(|g| !g.is_zero()),
            sleep: None,
            sent_any: false,
            abort: false,
            whole: false,
        }
    }

    /// After the last frame, fail instead of ending: the client sees a truncated response.
    pub fn then_abort(mut self) -> Self {
        self.abort = true;
        self.whole = false;
        self
    }

    /// Polls the pending pause, starting one of `length` if none is running.
    fn pause(&mut self, length: Duration, cx: &mut Context<'_>) -> Poll<()> {
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(length)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.sleep = None;
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Body for SimBody {
    type Data = Bytes;
    type Error = Aborted;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Aborted>>> {
        let this = self.get_mut();
        if this.frames.is_empty() {
            if !this.abort {
                return Poll::Ready(None);
            }
            if this.pause(ABORT_GRACE, cx).is_pending() {
                return Poll::Pending;
            }
            this.abort = false;
            return Poll::Ready(Some(Err(Aborted)));
        }
        if let (Some(gap), true) = (this.gap, this.sent_any) {
            if this.pause(gap, cx).is_pending() {
                return Poll::Pending;
            }
        }
        this.sent_any = true;
        Poll::Ready(this.frames.pop_front().map(|bytes| Ok(Frame::data(bytes))))
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty() && !self.abort
    }

    fn size_hint(&self) -> SizeHint {
        if self.whole {
            let length: usize = self.frames.iter().map(Bytes::len).sum();
            SizeHint::with_exact(length as u64)
        } else {
            SizeHint::default()
        }
    }
}
