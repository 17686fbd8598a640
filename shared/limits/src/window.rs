//! One scope's sliding window: at most 60 one-second buckets, oldest first.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// Length of the sliding window, in seconds. A bucket counts while it is younger than this.
pub const WINDOW_SECS: u64 = 60;
const MS_PER_SEC: u64 = 1_000;

/// The one-second bucket that `ms` falls in.
pub(crate) fn second_of(ms: u64) -> u64 {
    ms / MS_PER_SEC
}

/// The instant the bucket of second `sec` stops counting.
pub(crate) fn expires_at_ms(sec: u64) -> u64 {
    sec.saturating_add(WINDOW_SECS).saturating_mul(MS_PER_SEC)
}

/// Whether the bucket of second `sec` still counts at second `now_sec`.
pub(crate) fn is_live(sec: u64, now_sec: u64) -> bool {
    sec.saturating_add(WINDOW_SECS) > now_sec
}

/// Requests and tokens, used or needed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    pub requests: u64,
    pub tokens: u64,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
struct Bucket {
    sec: u64,
    requests: u64,
    tokens: u64,
}

/// Buckets in ascending `sec` order. The caller's clock must not run backwards (the
/// [`crate::Limiter`] clamps it), which keeps the order and the 60-bucket bound.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(transparent)]
pub(crate) struct Window {
    buckets: VecDeque<Bucket>,
}

impl Window {
    fn live(&self, now_ms: u64) -> impl DoubleEndedIterator<Item = &Bucket> + '_ {
        let now_sec = second_of(now_ms);
        self.buckets.iter().filter(move |b| is_live(b.sec, now_sec))
    }

    /// What counts against the limits at `now_ms`.
    pub(crate) fn usage(&self, now_ms: u64) -> Usage {
        self.live(now_ms).fold(Usage::default(), |sum, b| Usage {
            requests: sum.requests.saturating_add(b.requests),
            tokens: sum.tokens.saturating_add(b.tokens),
        })
    }

    /// Records `requests` requests and `tokens` tokens in the current second (a lease's capacity).
    pub(crate) fn record_many(&mut self, now_ms: u64, requests: u64, tokens: u64) {
        self.expire(now_ms);
        let now_sec = second_of(now_ms);
        match self.buckets.back_mut() {
            Some(b) if b.sec == now_sec => {
                b.requests = b.requests.saturating_add(requests);
                b.tokens = b.tokens.saturating_add(tokens);
            }
            _ => self.buckets.push_back(Bucket {
                sec: now_sec,
                requests,
                tokens,
            }),
        }
    }

    /// Replaces `reserved` tokens by `actual` in the bucket of second `sec`. Once that bucket has left the
    /// window, what `actual` exceeds `reserved` by is recorded at `now_ms` instead (it was used; only its
    /// second is late).
    pub(crate) fn correct(&mut self, now_ms: u64, sec: u64, reserved: u64, actual: u64) {
        let live = is_live(sec, second_of(now_ms));
        if let Some(b) = self.buckets.iter_mut().find(|b| b.sec == sec && live) {
            b.tokens = if actual >= reserved {
                b.tokens.saturating_add(actual - reserved)
            } else {
                b.tokens.saturating_sub(reserved - actual)
            };
        } else if actual > reserved && !live {
            self.record_many(now_ms, 0, actual - reserved);
        }
    }

    /// Takes back capacity recorded in second `sec` and not used (a released lease's rest).
    pub(crate) fn refund(&mut self, sec: u64, requests: u64, tokens: u64) {
        if let Some(b) = self.buckets.iter_mut().find(|b| b.sec == sec) {
            b.requests = b.requests.saturating_sub(requests);
            b.tokens = b.tokens.saturating_sub(tokens);
        }
    }

    /// Drops the buckets that no longer count; true if there were any.
    pub(crate) fn expire(&mut self, now_ms: u64) -> bool {
        let now_sec = second_of(now_ms);
        let before = self.buckets.len();
        while self
            .buckets
            .front()
            .is_some_and(|b| !is_live(b.sec, now_sec))
        {
            self.buckets.pop_front();
        }
        self.buckets.len() != before
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Time until buckets holding at least `need` have left the window, or `None` if even an
    /// empty window would not free that much.
    pub(crate) fn wait_ms(&self, now_ms: u64, need: Usage) -> Option<u64> {
        let mut freed = Usage::default();
        for b in self.live(now_ms) {
            freed.requests = freed.requests.saturating_add(b.requests);
            freed.tokens = freed.tokens.saturating_add(b.tokens);
            if freed.requests >= need.requests && freed.tokens >= need.tokens {
                return Some(expires_at_ms(b.sec).saturating_sub(now_ms));
            }
        }
        None
    }

    /// Time until no request counts any more (OpenAI's "resets to its initial state").
    pub(crate) fn requests_reset_ms(&self, now_ms: u64) -> u64 {
        self.reset_ms(now_ms, |b| b.requests > 0)
    }

    /// Time until no token counts any more.
    pub(crate) fn tokens_reset_ms(&self, now_ms: u64) -> u64 {
        self.reset_ms(now_ms, |b| b.tokens > 0)
    }

    fn reset_ms(&self, now_ms: u64, used: impl Fn(&Bucket) -> bool) -> u64 {
        self.live(now_ms)
            .rev()
            .find(|b| used(b))
            .map_or(0, |b| expires_at_ms(b.sec).saturating_sub(now_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_counts_for_exactly_sixty_seconds() {
        let mut w = Window::default();
        w.record_many(5_400, 1, 7);
        assert_eq!(w.usage(64_999).requests, 1);
        assert_eq!(w.usage(65_000), Usage::default());
    }

    #[test]
    fn keeps_at_most_sixty_buckets() {
        let mut w = Window::default();
        for s in 0..500 {
            w.record_many(s * 1_000, 1, 1);
            assert!(w.buckets.len() <= 60);
        }
        assert_eq!(w.usage(499_000).requests, 60);
    }

    #[test]
    fn wait_is_until_enough_old_buckets_leave() {
        let mut w = Window::default();
        w.record_many(1_000, 1, 10);
        w.record_many(2_500, 1, 20);
        w.record_many(3_000, 1, 30);
        let need = |requests, tokens| Usage { requests, tokens };
        assert_eq!(w.wait_ms(10_000, need(1, 0)), Some(51_000));
        assert_eq!(w.wait_ms(10_000, need(0, 25)), Some(52_000));
        assert_eq!(w.wait_ms(10_000, need(3, 60)), Some(53_000));
        assert_eq!(w.wait_ms(10_000, need(4, 0)), None);
    }

    #[test]
    fn correction_saturates_and_ignores_missing_buckets() {
        let mut w = Window::default();
        w.record_many(1_000, 1, 10);
        w.correct(1_000, 1, 100, 0);
        assert_eq!(w.usage(1_000).tokens, 0);
        // Second 2 is live but holds no bucket (nothing was recorded then): nothing to correct.
        w.correct(2_000, 2, 0, 50);
        assert_eq!(w.usage(2_000).tokens, 0);
        // Second 1 has left the window at 61 s: the excess counts now, a shortfall is moot.
        w.correct(61_000, 1, 10, 70);
        assert_eq!(w.usage(61_000).tokens, 60);
        w.correct(62_000, 1, 10, 0);
        assert_eq!(w.usage(62_000).tokens, 60);
    }

    #[test]
    fn reset_is_until_the_newest_used_bucket_leaves() {
        let mut w = Window::default();
        assert_eq!(w.requests_reset_ms(0), 0);
        w.record_many(1_000, 1, 5);
        w.record_many(2_000, 1, 0);
        assert_eq!(w.requests_reset_ms(2_400), 59_600);
        assert_eq!(w.tokens_reset_ms(2_400), 58_600);
    }
}
