//! What an admission returns: the verdict, the reservation to settle, and header quotas.

use std::cmp::Reverse;

use serde::{Deserialize, Serialize};

/// Tokens held in every scope of an admitted request, to be settled once with the real usage.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Reservation {
    /// Unique per [`crate::Limiter`]; settling is keyed by it.
    pub id: u64,
    /// The (clamped) instant of admission; its second is the bucket that holds the tokens.
    pub at_ms: u64,
    /// The distinct scopes the request was recorded in.
    pub scopes: Vec<String>,
    /// Tokens reserved up front.
    pub tokens: u64,
}

/// The outcome of [`crate::Limiter::admit`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Admission {
    pub admitted: bool,
    /// The request exceeds some scope's limit on its own and will never pass; retrying is futile.
    pub never: bool,
    /// When refused (and not `never`): time until the failing scopes free enough capacity,
    /// assuming nothing else is admitted meanwhile. 0 otherwise.
    pub retry_after_ms: u64,
    /// Present exactly when admitted.
    pub reservation: Option<Reservation>,
    /// One per check, in order, as it stands after this call (a grant's capacity counts as used).
    pub quotas: Vec<Quota>,
    /// Spare capacity handed to the caller with an admission it asked a lease for (see [`crate::lease`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<Grant>,
}

/// Capacity recorded up front in every scope of a call, in the second of `at_ms`, for the caller to admit
/// that many requests (and reserve that many tokens) on its own until that second ends. Whatever it did
/// not use goes back with a [`Release`]; requests it admitted settle against the grant's id like any
/// reservation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub id: u64,
    pub at_ms: u64,
    pub scopes: Vec<String>,
    pub requests: u64,
    pub tokens: u64,
}

/// The unused rest of a [`Grant`], given back once.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Release {
    pub id: u64,
    pub at_ms: u64,
    pub scopes: Vec<String>,
    pub requests: u64,
    pub tokens: u64,
}

/// A scope's limits and what remains of them after the call (`None` = unlimited).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Quota {
    pub scope: String,
    pub limit_requests: Option<u64>,
    pub remaining_requests: Option<u64>,
    pub limit_tokens: Option<u64>,
    pub remaining_tokens: Option<u64>,
    /// Time until no request counts against the limit any more (0 if none does or unlimited).
    pub reset_requests_ms: u64,
    /// Time until no token counts against the limit any more (0 if none does or unlimited).
    pub reset_tokens_ms: u64,
}

impl Admission {
    /// The quota for the `x-ratelimit-*` headers: per dimension, the scope with the least
    /// remaining (ties: the later reset). `scope` names the requests' tightest scope, else the
    /// tokens'. `None` when no scope limits anything.
    pub fn tightest(&self) -> Option<Quota> {
        let requests = self
            .quotas
            .iter()
            .filter_map(|q| Some((q.remaining_requests?, Reverse(q.reset_requests_ms), q)))
            .min_by_key(|(remaining, reset, _)| (*remaining, *reset))
            .map(|(_, _, q)| q);
        let tokens = self
            .quotas
            .iter()
            .filter_map(|q| Some((q.remaining_tokens?, Reverse(q.reset_tokens_ms), q)))
            .min_by_key(|(remaining, reset, _)| (*remaining, *reset))
            .map(|(_, _, q)| q);
        let scope = requests.or(tokens)?.scope.clone();
        Some(Quota {
            scope,
            limit_requests: requests.and_then(|q| q.limit_requests),
            remaining_requests: requests.and_then(|q| q.remaining_requests),
            limit_tokens: tokens.and_then(|q| q.limit_tokens),
            remaining_tokens: tokens.and_then(|q| q.remaining_tokens),
            reset_requests_ms: requests.map_or(0, |q| q.reset_requests_ms),
            reset_tokens_ms: tokens.map_or(0, |q| q.reset_tokens_ms),
        })
    }
}

/// Whole seconds for a `Retry-After` header: `ms` rounded up, at least 1.
pub fn retry_after_secs(ms: u64) -> u64 {
    ms.div_ceil(1_000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(scope: &str, requests: Option<(u64, u64)>, tokens: Option<(u64, u64)>) -> Quota {
        Quota {
            scope: scope.into(),
            limit_requests: requests.map(|(l, _)| l),
            remaining_requests: requests.map(|(_, r)| r),
            limit_tokens: tokens.map(|(l, _)| l),
            remaining_tokens: tokens.map(|(_, r)| r),
            reset_requests_ms: 1_000,
            reset_tokens_ms: 2_000,
        }
    }

    fn admission(quotas: Vec<Quota>) -> Admission {
        Admission {
            admitted: true,
            never: false,
            retry_after_ms: 0,
            reservation: None,
            quotas,
            grant: None,
        }
    }

    #[test]
    fn tightest_takes_each_dimension_from_its_tightest_scope() {
        let a = admission(vec![
            quota("key:a", Some((10, 2)), Some((1_000, 900))),
            quota("provider:p", Some((100, 50)), Some((5_000, 100))),
            quota("key:b", None, None),
        ]);
        let t = a.tightest().unwrap();
        assert_eq!(t.scope, "key:a");
        assert_eq!(
            (t.limit_requests, t.remaining_requests),
            (Some(10), Some(2))
        );
        assert_eq!(
            (t.limit_tokens, t.remaining_tokens),
            (Some(5_000), Some(100))
        );
    }

    #[test]
    fn tightest_is_none_without_limits() {
        assert_eq!(admission(vec![]).tightest(), None);
        assert_eq!(admission(vec![quota("k", None, None)]).tightest(), None);
        let only_tokens = admission(vec![quota("p", None, Some((10, 3)))]).tightest();
        assert_eq!(
            only_tokens.map(|q| (q.scope, q.remaining_requests)),
            Some(("p".into(), None))
        );
    }

    #[test]
    fn retry_after_rounds_up_to_at_least_one_second() {
        assert_eq!(retry_after_secs(0), 1);
        assert_eq!(retry_after_secs(1), 1);
        assert_eq!(retry_after_secs(1_000), 1);
        assert_eq!(retry_after_secs(1_001), 2);
        assert_eq!(retry_after_secs(59_999), 60);
    }
}
