//! The retry policy, as arithmetic: the shell measures time and draws the jitter.

use crate::upstream::UpstreamError;

/// How hard to try one upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
    /// Time allowed from the first attempt until the last retry starts.
    pub total_budget_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay_ms: 250,
            max_delay_ms: 4_000,
            total_budget_ms: 20_000,
        }
    }
}

/// How long to wait before the next attempt, or `None` to give up.
///
/// `attempt` is the 1-based attempt that just failed, `elapsed_ms` the time since the first one
/// began, `jitter` a uniform draw in `0..1` from the caller. The backoff is
/// `base · 2^(attempt-1)` capped at `max_delay_ms`, jittered within `[delay/2, delay]`; a
/// provider's `Retry-After` replaces it when longer. Gives up when the error is not retryable,
/// the attempts are used up, or the wait would overrun the total budget.
pub fn next_delay(
    policy: &RetryPolicy,
    attempt: u32,
    err: &UpstreamError,
    elapsed_ms: u64,
    jitter: f64,
) -> Option<u64> {
    if !err.is_retryable() || attempt >= policy.max_attempts {
        return None;
    }
    let remaining = policy.total_budget_ms.checked_sub(elapsed_ms)?;
    let backoff = backoff_ms(policy, attempt);
    let delay = jittered(backoff, jitter).max(err.retry_after_ms().unwrap_or(0));
    (delay <= remaining).then_some(delay)
}

fn backoff_ms(policy: &RetryPolicy, attempt: u32) -> u64 {
    let doublings = attempt.saturating_sub(1).min(63);
    policy
        .base_delay_ms
        .saturating_mul(1u64 << doublings)
        .min(policy.max_delay_ms)
}

/// Within `[delay/2, delay]`; a jitter outside `0..1` (or NaN) is clamped.
fn jittered(delay: u64, jitter: f64) -> u64 {
    let jitter = if jitter.is_nan() {
        0.0
    } else {
        jitter.clamp(0.0, 1.0)
    };
    let half = delay / 2;
    // The product is within 0..=half, so the cast is exact enough and cannot overflow.
    half + ((delay - half) as f64 * jitter).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 5,
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

    fn rate_limited(ms: u64) -> UpstreamError {
        UpstreamError::RateLimited {
            retry_after_ms: Some(ms),
            message: String::new(),
        }
    }

    #[test]
    fn exponential_and_capped() {
        let full: Vec<_> = (1..5)
            .map(|a| next_delay(&POLICY, a, &server(), 0, 1.0))
            .collect();
        assert_eq!(full, [Some(100), Some(200), Some(400), Some(800)]);
        let capped = RetryPolicy {
            max_attempts: 10,
            ..POLICY
        };
        assert_eq!(next_delay(&capped, 8, &server(), 0, 1.0), Some(1_000));
        assert_eq!(next_delay(&capped, 9, &server(), 0, 0.0), Some(500));
    }

    #[test]
    fn jitter_stays_in_the_upper_half() {
        for jitter in [0.0, 0.25, 0.5, 0.99, 1.0, -3.0, 7.0, f64::NAN] {
            let delay = next_delay(&POLICY, 3, &server(), 0, jitter).unwrap();
            assert!((200..=400).contains(&delay), "{jitter}: {delay}");
        }
    }

    #[test]
    fn stops_when_not_retryable_or_exhausted() {
        let auth = UpstreamError::Auth {
            status: 401,
            message: String::new(),
        };
        assert_eq!(next_delay(&POLICY, 1, &auth, 0, 0.5), None);
        assert_eq!(next_delay(&POLICY, 5, &server(), 0, 0.5), None);
        assert_eq!(
            next_delay(&POLICY, 1, &UpstreamError::Truncated, 0, 0.5),
            None
        );
        assert!(next_delay(&POLICY, 1, &UpstreamError::Timeout, 0, 0.5).is_some());
    }

    #[test]
    fn retry_after_is_honoured_when_longer() {
        assert_eq!(
            next_delay(&POLICY, 1, &rate_limited(3_000), 0, 0.5),
            Some(3_000)
        );
        assert_eq!(next_delay(&POLICY, 3, &rate_limited(10), 0, 1.0), Some(400));
    }

    #[test]
    fn budget_bounds_the_wait() {
        assert_eq!(
            next_delay(&POLICY, 1, &rate_limited(3_000), 8_000, 0.5),
            None
        );
        assert_eq!(
            next_delay(&POLICY, 1, &rate_limited(2_000), 8_000, 0.5),
            Some(2_000)
        );
        assert_eq!(next_delay(&POLICY, 1, &server(), 10_001, 0.5), None);
        assert_eq!(next_delay(&POLICY, 4, &server(), 9_500, 1.0), None);
    }

    #[test]
    fn huge_attempt_numbers_do_not_overflow() {
        let policy = RetryPolicy {
            max_attempts: u32::MAX,
            ..POLICY
        };
        assert_eq!(next_delay(&policy, 200, &server(), 0, 1.0), Some(1_000));
    }
}
