//! Limits, the per-scope checks a call carries, and how one scope judges one request.

use serde::{Deserialize, Serialize};

use crate::admission::Quota;
use crate::window::{Usage, Window};

/// A scope's limits per sliding minute. `None` = unlimited in that dimension.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Limit {
    pub requests_per_minute: Option<u64>,
    pub tokens_per_minute: Option<u64>,
}

impl Limit {
    /// Whether one request of `tokens` could pass this limit on an empty window.
    pub fn can_ever_admit(&self, tokens: u64) -> bool {
        self.requests_per_minute != Some(0) && self.tokens_per_minute.is_none_or(|t| tokens <= t)
    }
}

/// One scope (e.g. `key:<key_id>`, `provider:<name>`) and the limits to enforce on it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub scope: String,
    pub limit: Limit,
}

impl Check {
    pub fn new(scope: impl Into<String>, limit: Limit) -> Self {
        Self {
            scope: scope.into(),
            limit,
        }
    }
}

/// One scope's answer to "may this request pass now?".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Fits,
    /// Fits after this many ms, if nothing else is admitted meanwhile.
    Wait(u64),
    /// Exceeds the limit on its own.
    Never,
}

impl Verdict {
    /// Combines scopes: `Never` wins, then the longest wait.
    pub(crate) fn and(self, other: Verdict) -> Verdict {
        match (self, other) {
            (Verdict::Never, _) | (_, Verdict::Never) => Verdict::Never,
            (Verdict::Wait(a), Verdict::Wait(b)) => Verdict::Wait(a.max(b)),
            (Verdict::Wait(a), Verdict::Fits) | (Verdict::Fits, Verdict::Wait(a)) => {
                Verdict::Wait(a)
            }
            (Verdict::Fits, Verdict::Fits) => Verdict::Fits,
        }
    }
}

/// How much must leave the window before `add` more of a dimension fits under `limit`.
fn excess(limit: Option<u64>, used: u64, add: u64) -> u64 {
    limit.map_or(0, |l| used.saturating_add(add).saturating_sub(l))
}

/// Judges one request of `tokens` against `limit`, given the scope's window (if any).
pub(crate) fn evaluate(
    limit: &Limit,
    window: Option<&Window>,
    now_ms: u64,
    tokens: u64,
) -> Verdict {
    if !limit.can_ever_admit(tokens) {
        return Verdict::Never;
    }
    let used = window.map(|w| w.usage(now_ms)).unwrap_or_default();
    let need = Usage {
        requests: excess(limit.requests_per_minute, used.requests, 1),
        tokens: excess(limit.tokens_per_minute, used.tokens, tokens),
    };
    if need == Usage::default() {
        return Verdict::Fits;
    }
    // An empty window always fits a request that can ever pass, so a window exists here.
    window
        .and_then(|w| w.wait_ms(now_ms, need))
        .map_or(Verdict::Never, Verdict::Wait)
}

/// The scope's quota as it stands at `now_ms`. Unlimited dimensions report `None` and a 0 reset.
pub(crate) fn quota(check: &Check, window: Option<&Window>, now_ms: u64) -> Quota {
    let used = window.map(|w| w.usage(now_ms)).unwrap_or_default();
    let rpm = check.limit.requests_per_minute;
    let tpm = check.limit.tokens_per_minute;
    let reset = |limit: Option<u64>, f: fn(&Window, u64) -> u64| match (limit, window) {
        (Some(_), Some(w)) => f(w, now_ms),
        _ => 0,
    };
    Quota {
        scope: check.scope.clone(),
        limit_requests: rpm,
        remaining_requests: rpm.map(|l| l.saturating_sub(used.requests)),
        limit_tokens: tpm,
        remaining_tokens: tpm.map(|l| l.saturating_sub(used.tokens)),
        reset_requests_ms: reset(rpm, Window::requests_reset_ms),
        reset_tokens_ms: reset(tpm, Window::tokens_reset_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(rpm: Option<u64>, tpm: Option<u64>) -> Limit {
        Limit {
            requests_per_minute: rpm,
            tokens_per_minute: tpm,
        }
    }

    #[test]
    fn never_when_a_single_request_exceeds_the_limit() {
        assert_eq!(
            evaluate(&limit(None, Some(10)), None, 0, 11),
            Verdict::Never
        );
        assert_eq!(evaluate(&limit(Some(0), None), None, 0, 0), Verdict::Never);
        assert_eq!(
            evaluate(&limit(Some(1), Some(10)), None, 0, 10),
            Verdict::Fits
        );
        assert_eq!(
            evaluate(&Limit::default(), None, 0, u64::MAX),
            Verdict::Fits
        );
    }

    #[test]
    fn verdicts_combine_never_first_then_longest_wait() {
        use Verdict::*;
        assert_eq!(Wait(5).and(Never), Never);
        assert_eq!(Wait(5).and(Wait(9)), Wait(9));
        assert_eq!(Fits.and(Wait(3)), Wait(3));
        assert_eq!(Fits.and(Fits), Fits);
    }

    #[test]
    fn quota_of_an_untouched_scope_is_full() {
        let q = quota(&Check::new("key:a", limit(Some(3), None)), None, 0);
        assert_eq!(q.remaining_requests, Some(3));
        assert_eq!(q.remaining_tokens, None);
        assert_eq!((q.reset_requests_ms, q.reset_tokens_ms), (0, 0));
    }
}
