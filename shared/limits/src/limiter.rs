//! The per-Durable-Object state: one window per scope and the reservations not yet settled.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::admission::{Admission, Grant, Release, Reservation};
use crate::check::{evaluate, quota, Check, Verdict};
use crate::window::{second_of, Window, WINDOW_SECS};

use persistence::Dirty;
pub use persistence::{Changes, EntryState, Header, ScopeState};

/// Most unsettled reservations remembered. Beyond it the oldest is forgotten, and settling it
/// becomes a no-op (its reservation stands as the usage), so memory stays bounded even when
/// callers never settle.
pub const MAX_OUTSTANDING: usize = 16_384;

/// How long after its admission a reservation may still be settled: the window, plus the longest a
/// request may run and its settlement be retried (a stream of several minutes, a slow flush). Tokens
/// settled after their bucket left the window are counted in the current second instead, so a long
/// request's real usage is never dropped.
pub const SETTLE_WITHIN_MS: u64 = (WINDOW_SECS + 600) * 1_000;

/// A reservation or grant that may still be settled or released. `tokens` is what settles may still
/// correct (a reservation's tokens; a grant's tokens less what was settled or released), `requests` what a
/// release may still give back (a grant's requests until its one release). Settling a reservation consumes
/// it whole, which makes settle idempotent; a grant's settles and release are bounded by what it holds.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Outstanding {
    id: u64,
    at_ms: u64,
    tokens: u64,
    #[serde(default)]
    requests: u64,
    #[serde(default)]
    grant: bool,
    /// A grant's scopes (while it is unreleased, a holder somewhere will give its rest back when its second
    /// ends: a refusal in these scopes may pass then). Empty for a plain reservation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    scopes: Vec<String>,
}

/// A grant takes at most this share of what remains in every scope (1/8): capacity parked in a grant is
/// far from the limit, so it cannot turn a request another caller sends away near it.
const GRANT_SHARE: u64 = 8;
/// Smaller grants are not worth a release.
const MIN_GRANT: u64 = 2;

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
    /// What changed since the last [`Limiter::take_changes`] (not part of the state: see [`Dirty`]).
    #[serde(skip)]
    dirty: Dirty,
}

impl Limiter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Admits one request of `tokens` if every check has room for it, recording it in every
    /// distinct scope; otherwise records nothing. A scope listed twice is recorded once and
    /// must satisfy both limits.
    ///
    /// With `lease` > 0 the caller also asks for a [`Grant`] of up to `lease` more such requests: given
    /// only when every scope keeps at least [`GRANT_SHARE`] times the grant after it.
    pub fn admit(&mut self, now_ms: u64, checks: &[Check], tokens: u64, lease: u64) -> Admission {
        let now_ms = self.tick(now_ms);
        self.expire_outstanding(now_ms);
        let verdict = checks.iter().fold(Verdict::Fits, |verdict, check| {
            let window = self.scopes.get(&check.scope);
            verdict.and(evaluate(&check.limit, window, now_ms, tokens))
        });
        let reservation = match verdict {
            Verdict::Fits => Some(self.record(now_ms, checks, false, 1, tokens)),
            Verdict::Wait(_) | Verdict::Never => None,
        };
        // As the caller reports them: a grant's capacity is the caller's to use, so it counts as free.
        let quotas = checks
            .iter()
            .map(|check| quota(check, self.scopes.get(&check.scope), now_ms))
            .collect();
        let grant = match (&reservation, lease) {
            (Some(_), 1..) => self.grant(now_ms, checks, tokens, lease),
            _ => None,
        };
        Admission {
            admitted: reservation.is_some(),
            never: verdict == Verdict::Never,
            retry_after_ms: match verdict {
                Verdict::Wait(ms) => ms.min(self.parked_until_ms(now_ms, checks)),
                Verdict::Fits | Verdict::Never => 0,
            },
            reservation,
            quotas,
            grant,
        }
    }

    /// Replaces the reserved tokens by `actual_tokens` in the bucket the reservation was
    /// recorded in, in every scope it touched; once that bucket has left the window, tokens used beyond
    /// the reservation count in the current second (and what it reserved too much is moot). Returns
    /// whether anything was corrected: a reservation already settled, older than [`SETTLE_WITHIN_MS`],
    /// or not issued by this limiter is a no-op.
    pub fn settle(&mut self, now_ms: u64, reservation: &Reservation, actual_tokens: u64) -> bool {
        let now_ms = self.tick(now_ms);
        self.expire_outstanding(now_ms);
        if !self.take_tokens(reservation.id, reservation.at_ms, reservation.tokens) {
            return false;
        }
        let sec = second_of(reservation.at_ms);
        let excess = actual_tokens.saturating_sub(reservation.tokens);
        for scope in &reservation.scopes {
            let window = match self.scopes.get_mut(scope) {
                Some(window) => window,
                None if excess > 0 => self.scopes.entry(scope.clone()).or_default(),
                None => continue,
            };
            window.correct(now_ms, sec, reservation.tokens, actual_tokens);
            self.dirty.scope(scope);
        }
        true
    }

    /// Gives back what a grant's holder did not use, once. What it claims is bounded by what the grant
    /// still holds, so a repeated or inflated release cannot free capacity that was used. False if the
    /// grant is unknown, expired or already released.
    pub fn release(&mut self, now_ms: u64, release: &Release) -> bool {
        let now_ms = self.tick(now_ms);
        self.expire_outstanding(now_ms);
        let Some(o) = self.find_outstanding(release.id, release.at_ms) else {
            return false;
        };
        if !o.grant || o.requests == 0 {
            return false;
        }
        let requests = release.requests.min(o.requests);
        let tokens = release.tokens.min(o.tokens);
        o.requests = 0;
        o.tokens -= tokens;
        self.dirty.entry(release.id);
        let sec = second_of(release.at_ms);
        for scope in &release.scopes {
            if let Some(window) = self.scopes.get_mut(scope) {
                window.refund(sec, requests, tokens);
                self.dirty.scope(scope);
            }
        }
        self.drop_spent(release.id);
        true
    }

    /// Drops expired buckets, scopes idle for the whole window and expired reservations.
    pub fn prune(&mut self, now_ms: u64) {
        let now_ms = self.tick(now_ms);
        self.expire_outstanding(now_ms);
        let dirty = &mut self.dirty;
        self.scopes.retain(|scope, window| {
            if window.expire(now_ms) {
                dirty.scope(scope);
            }
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

    /// Records `requests` requests holding `tokens` tokens each in every distinct scope of `checks`.
    fn record(
        &mut self,
        now_ms: u64,
        checks: &[Check],
        grant: bool,
        requests: u64,
        tokens: u64,
    ) -> Reservation {
        let mut scopes: Vec<String> = Vec::with_capacity(checks.len());
        for check in checks {
            if !scopes.contains(&check.scope) {
                scopes.push(check.scope.clone());
            }
        }
        for scope in &scopes {
            self.scopes.entry(scope.clone()).or_default().record_many(
                now_ms,
                requests,
                tokens.saturating_mul(requests),
            );
            self.dirty.scope(scope);
        }
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        if self.outstanding.len() >= MAX_OUTSTANDING {
            self.outstanding.pop_front();
        }
        let held = tokens.saturating_mul(requests);
        self.dirty.entry(id);
        self.outstanding.push_back(Outstanding {
            id,
            at_ms: now_ms,
            tokens: held,
            requests: if grant { requests } else { 0 },
            grant,
            scopes: if grant { scopes.clone() } else { Vec::new() },
        });
        Reservation {
            id,
            at_ms: now_ms,
            scopes,
            tokens: held,
        }
    }

    /// A grant of up to `asked` requests of `tokens` tokens each, if every scope keeps
    /// [`GRANT_SHARE`] times it after it (computed after this call's own request was recorded).
    fn grant(&mut self, now_ms: u64, checks: &[Check], tokens: u64, asked: u64) -> Option<Grant> {
        let mut requests = asked;
        for check in checks {
            let used = self
                .scopes
                .get(&check.scope)
                .map(|w| w.usage(now_ms))
                .unwrap_or_default();
            if let Some(limit) = check.limit.requests_per_minute {
                requests = requests.min(limit.saturating_sub(used.requests) / GRANT_SHARE);
            }
            if let Some(limit) = check.limit.tokens_per_minute {
                let spare = limit.saturating_sub(used.tokens) / GRANT_SHARE;
                requests = requests.min(spare / tokens.max(1));
            }
        }
        if requests < MIN_GRANT {
            return None;
        }
        let r = self.record(now_ms, checks, true, requests, tokens);
        Some(Grant {
            id: r.id,
            at_ms: r.at_ms,
            scopes: r.scopes,
            requests,
            tokens: r.tokens,
        })
    }

    fn expire_outstanding(&mut self, now_ms: u64) {
        while self
            .outstanding
            .front()
            .is_some_and(|o| o.at_ms.saturating_add(SETTLE_WITHIN_MS) <= now_ms)
        {
            self.outstanding.pop_front();
        }
    }

    /// Time until the earliest unreleased grant over one of `checks`' scopes is due back (its holder
    /// releases it when its second ends), or `u64::MAX` when none is parked: a refusal may pass then.
    fn parked_until_ms(&self, now_ms: u64, checks: &[Check]) -> u64 {
        let now_sec = second_of(now_ms);
        self.outstanding
            .iter()
            .rev()
            .take_while(|o| second_of(o.at_ms) + 1 >= now_sec)
            .filter(|o| o.grant && o.requests > 0)
            .filter(|o| {
                o.scopes
                    .iter()
                    .any(|s| checks.iter().any(|c| &c.scope == s))
            })
            .map(|o| {
                ((second_of(o.at_ms) + 1) * 1_000)
                    .saturating_sub(now_ms)
                    .max(1)
            })
            .min()
            .unwrap_or(u64::MAX)
    }

    fn find_outstanding(&mut self, id: u64, at_ms: u64) -> Option<&mut Outstanding> {
        let index = self.outstanding.binary_search_by_key(&id, |o| o.id).ok()?;
        // The id alone could match a reservation issued by an earlier, lost state.
        self.outstanding.get_mut(index).filter(|o| o.at_ms == at_ms)
    }

    /// Takes `tokens` from what an outstanding entry may still correct; false if it does not hold them
    /// (a plain reservation settles whole, with exactly its tokens; a grant settles its requests' parts).
    fn take_tokens(&mut self, id: u64, at_ms: u64, tokens: u64) -> bool {
        let Some(o) = self.find_outstanding(id, at_ms) else {
            return false;
        };
        let fits = if o.grant {
            o.tokens >= tokens
        } else {
            o.tokens == tokens
        };
        if !fits {
            return false;
        }
        o.tokens -= tokens;
        self.dirty.entry(id);
        self.drop_spent(id);
        true
    }

    /// Forgets an entry nothing can settle or release any more.
    fn drop_spent(&mut self, id: u64) {
        if let Ok(index) = self.outstanding.binary_search_by_key(&id, |o| o.id) {
            if self
                .outstanding
                .get(index)
                .is_some_and(|o| o.tokens == 0 && o.requests == 0)
            {
                self.outstanding.remove(index);
            }
        }
    }
}

mod persistence;
#[cfg(test)]
mod simulation;
#[cfg(test)]
mod tests;
