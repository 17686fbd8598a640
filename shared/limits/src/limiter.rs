//! The per-Durable-Object state: one window per scope and the reservations not yet settled.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::admission::{Admission, Reservation};
use crate::check::{evaluate, quota, Check, Verdict};
use crate::window::{is_live, second_of, Window};

/// Most unsettled reservations remembered. Beyond it the oldest is forgotten, and settling it
/// becomes a no-op (its reservation stands as the usage), so memory stays bounded even when
/// callers never settle.
pub const MAX_OUTSTANDING: usize = 16_384;

/// A reservation that may still be settled. Settling removes it, which makes settle idempotent.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
struct Outstanding {
    id: u64,
    at_ms: u64,
    tokens: u64,
}

/// Counters for many scopes. Limits are not stored: they come with every call.
///
/// Time never runs backwards here: a `now_ms` earlier than one already seen is treated as the
/// latest seen, so a skewed clock cannot reorder buckets or resurrect expired ones.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(default)]
pub struct Limiter {
    scopes: BTreeMap<String, Window>,
    /// Ascending by id and by `at_ms` (ids are issued in order on a clamped clock).
    outstanding: VecDeque<Outstanding>,
    next_id: u64,
    clock_ms: u64,
}

impl Limiter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Admits one request of `tokens` if every check has room for it, recording it in every
    /// distinct scope; otherwise records nothing. A scope listed twice is recorded once and
    /// must satisfy both limits.
    pub fn admit(&mut self, now_ms: u64, checks: &[Check], tokens: u64) -> Admission {
        let now_ms = self.tick(now_ms);
        self.expire_outstanding(now_ms);
        let verdict = checks.iter().fold(Verdict::Fits, |verdict, check| {
            let window = self.scopes.get(&check.scope);
            verdict.and(evaluate(&check.limit, window, now_ms, tokens))
        });
        let reservation = match verdict {
            Verdict::Fits => Some(self.record(now_ms, checks, tokens)),
            Verdict::Wait(_) | Verdict::Never => None,
        };
        let quotas = checks
            .iter()
            .map(|check| quota(check, self.scopes.get(&check.scope), now_ms))
            .collect();
        Admission {
            admitted: reservation.is_some(),
            never: verdict == Verdict::Never,
            retry_after_ms: match verdict {
                Verdict::Wait(ms) => ms,
                Verdict::Fits | Verdict::Never => 0,
            },
            reservation,
            quotas,
        }
    }

    /// Replaces the reserved tokens by `actual_tokens` in the bucket the reservation was
    /// recorded in, in every scope it touched. Returns whether anything was corrected: a
    /// reservation already settled, older than the window, or not issued by this limiter is a
    /// no-op.
    pub fn settle(&mut self, now_ms: u64, reservation: &Reservation, actual_tokens: u64) -> bool {
        let now_ms = self.tick(now_ms);
        self.expire_outstanding(now_ms);
        if !self.take_outstanding(reservation) {
            return false;
        }
        let sec = second_of(reservation.at_ms);
        for scope in &reservation.scopes {
            if let Some(window) = self.scopes.get_mut(scope) {
                window.correct(sec, reservation.tokens, actual_tokens);
            }
        }
        true
    }

    /// Drops expired buckets, scopes idle for the whole window and expired reservations.
    pub fn prune(&mut self, now_ms: u64) {
        let now_ms = self.tick(now_ms);
        self.expire_outstanding(now_ms);
        self.scopes.retain(|_, window| {
            window.expire(now_ms);
            !window.is_empty()
        });
    }

    /// Number of scopes holding counters.
    pub fn scopes(&self) -> usize {
        self.scopes.len()
    }

    /// Number of reservations that may still be settled.
    pub fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    fn tick(&mut self, now_ms: u64) -> u64 {
        self.clock_ms = self.clock_ms.max(now_ms);
        self.clock_ms
    }

    fn record(&mut self, now_ms: u64, checks: &[Check], tokens: u64) -> Reservation {
        let mut scopes: Vec<String> = Vec::with_capacity(checks.len());
        for check in checks {
            if !scopes.contains(&check.scope) {
                scopes.push(check.scope.clone());
            }
        }
        for scope in &scopes {
            self.scopes
                .entry(scope.clone())
                .or_default()
                .record(now_ms, tokens);
        }
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        if self.outstanding.len() >= MAX_OUTSTANDING {
            self.outstanding.pop_front();
        }
        self.outstanding.push_back(Outstanding {
            id,
            at_ms: now_ms,
            tokens,
        });
        Reservation {
            id,
            at_ms: now_ms,
            scopes,
            tokens,
        }
    }

    fn expire_outstanding(&mut self, now_ms: u64) {
        let now_sec = second_of(now_ms);
        while self
            .outstanding
            .front()
            .is_some_and(|o| !is_live(second_of(o.at_ms), now_sec))
        {
            self.outstanding.pop_front();
        }
    }

    /// Removes the reservation from the outstanding ones; false if it is not there.
    fn take_outstanding(&mut self, reservation: &Reservation) -> bool {
        let Ok(index) = self
            .outstanding
            .binary_search_by_key(&reservation.id, |o| o.id)
        else {
            return false;
        };
        // The id alone could match a reservation issued by an earlier, lost state.
        let same = self
            .outstanding
            .get(index)
            .is_some_and(|o| o.at_ms == reservation.at_ms && o.tokens == reservation.tokens);
        same && self.outstanding.remove(index).is_some()
    }
}

#[cfg(test)]
mod simulation;
#[cfg(test)]
mod tests;
