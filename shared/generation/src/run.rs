//! [`Run`]: after each failed upstream attempt, what to do next — retry the same route after a delay,
//! fall back to the next route (which the shell must admit first), or give up — within one bound on
//! attempts and one time budget for the whole request.

use providers::retry::{next_delay, RetryPolicy};
use providers::upstream::UpstreamError;

use crate::plan::MAX_ATTEMPTS;

/// What the shell does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Sleep, then call the same route again (its admission still holds).
    Retry { delay_ms: u64 },
    /// Settle the current route's admission as unused, admit `leg`, and call it.
    Fallback { leg: usize },
    /// Answer with the last error.
    GiveUp,
}

/// The progress of one request across its routes.
#[derive(Debug, Clone)]
pub struct Run {
    legs: usize,
    leg: usize,
    /// Attempts on the current route.
    tries: u32,
    attempts: u32,
    started_ms: u64,
    policy: RetryPolicy,
}

impl Run {
    pub fn new(legs: usize, policy: RetryPolicy, now_ms: u64) -> Run {
        Run {
            legs,
            leg: 0,
            tries: 0,
            attempts: 0,
            started_ms: now_ms,
            policy,
        }
    }

    /// The route being tried.
    pub fn leg(&self) -> usize {
        self.leg
    }

    /// Upstream calls made so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Counts an upstream call about to be made.
    pub fn attempt(&mut self) {
        self.tries += 1;
        self.attempts += 1;
    }

    /// After a failed attempt. Errors that are the caller's (bad request, content policy) end the run:
    /// another route would refuse the same request.
    pub fn on_failure(&mut self, err: &UpstreamError, now_ms: u64, jitter: f64) -> Next {
        if matches!(
            err,
            UpstreamError::BadRequest { .. } | UpstreamError::ContentPolicy { .. }
        ) || self.attempts >= MAX_ATTEMPTS
        {
            return Next::GiveUp;
        }
        let elapsed = now_ms.saturating_sub(self.started_ms);
        if let Some(delay_ms) = next_delay(&self.policy, self.tries, err, elapsed, jitter) {
            return Next::Retry { delay_ms };
        }
        self.next_leg(now_ms)
    }

    /// The current route cannot be used (its admission was refused): the next one, if any.
    pub fn skip(&mut self, now_ms: u64) -> Next {
        self.next_leg(now_ms)
    }

    fn next_leg(&mut self, now_ms: u64) -> Next {
        let elapsed = now_ms.saturating_sub(self.started_ms);
        if self.leg + 1 >= self.legs || elapsed >= self.policy.total_budget_ms {
            return Next::GiveUp;
        }
        self.leg += 1;
        self.tries = 0;
        Next::Fallback { leg: self.leg }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 3,
        base_delay_ms: 100,
        max_delay_ms: 1_000,
        total_budget_ms: 10_000,
    };

    fn server() -> UpstreamError {
        UpstreamError::Server {
            status: 500,
            message: String::new(),
        }
    }

    /// Drives a run where every attempt fails with `err`; returns the decisions.
    fn drive(legs: usize, err: &UpstreamError) -> Vec<Next> {
        let mut run = Run::new(legs, POLICY, 0);
        let mut seen = Vec::new();
        loop {
            run.attempt();
            let next = run.on_failure(err, 0, 0.5);
            seen.push(next);
            if next == Next::GiveUp {
                return seen;
            }
        }
    }

    #[test]
    fn retries_then_falls_back_within_the_attempt_bound() {
        let seen = drive(3, &server());
        let calls = seen.len() as u32;
        assert_eq!(calls, MAX_ATTEMPTS, "{seen:?}");
        assert_eq!(
            seen,
            [
                Next::Retry { delay_ms: 75 },
                Next::Retry { delay_ms: 150 },
                Next::Fallback { leg: 1 },
                Next::GiveUp
            ]
        );
    }

    #[test]
    fn one_route_gives_up_after_its_retries() {
        let seen = drive(1, &server());
        assert_eq!(seen.len(), 3);
        assert_eq!(seen.last(), Some(&Next::GiveUp));
    }

    #[test]
    fn caller_errors_neither_retry_nor_fall_back() {
        let bad = UpstreamError::BadRequest {
            status: 400,
            message: String::new(),
        };
        assert_eq!(drive(3, &bad), [Next::GiveUp]);
    }

    #[test]
    fn non_retryable_upstream_errors_fall_back_at_once() {
        let auth = UpstreamError::Auth {
            status: 401,
            message: String::new(),
        };
        let mut run = Run::new(2, POLICY, 0);
        run.attempt();
        assert_eq!(run.on_failure(&auth, 0, 0.5), Next::Fallback { leg: 1 });
        assert_eq!(run.leg(), 1);
        run.attempt();
        assert_eq!(run.on_failure(&auth, 0, 0.5), Next::GiveUp);
        assert_eq!(run.attempts(), 2);
    }

    #[test]
    fn the_budget_covers_every_route() {
        let mut run = Run::new(3, POLICY, 1_000);
        run.attempt();
        // Past the budget: no retry and no fallback either.
        assert_eq!(run.on_failure(&server(), 11_000, 0.5), Next::GiveUp);
    }

    #[test]
    fn a_refused_fallback_is_skipped() {
        let mut run = Run::new(3, POLICY, 0);
        assert_eq!(run.skip(0), Next::Fallback { leg: 1 });
        assert_eq!(run.skip(0), Next::Fallback { leg: 2 });
        assert_eq!(run.skip(0), Next::GiveUp);
    }
}
