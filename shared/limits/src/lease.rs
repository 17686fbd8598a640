//! The caller's side of [`Grant`]s: a worker isolate that asked the limiter for a lease admits requests
//! from it on its own, without a round trip, until the grant's second ends or its room runs out.
//!
//! Exactness: a grant's capacity is recorded in the limiter before it is handed out, so admitting from it
//! can never exceed a limit; requests admitted here reserve and settle tokens exactly as the limiter would
//! (against the grant's id). What was not used goes back with a [`Release`] on the holder's next call to
//! the limiter (before that call is judged) or when the second ends, so a single holder sees exactly the
//! decisions the limiter would have made request by request. Several holders (isolates at the edge) can
//! turn a request away while another holder's unused grant is parked — bounded by the limiter's rule that
//! a grant takes at most an eighth of what remains and lives within one second.

use std::collections::HashMap;

use crate::admission::{Admission, Grant, Quota, Release, Reservation};
use crate::check::Check;
use crate::window::second_of;

/// One grant and what is left of it.
#[derive(Clone, Debug)]
struct Held {
    grant: Grant,
    requests_left: u64,
    tokens_left: u64,
    /// As the limiter reported them with the grant (its capacity counted as free).
    quotas: Vec<Quota>,
}

impl Held {
    fn release(self) -> Release {
        Release {
            id: self.grant.id,
            at_ms: self.grant.at_ms,
            scopes: self.grant.scopes,
            requests: self.requests_left,
            tokens: self.tokens_left,
        }
    }
}

/// The grants one caller holds (for one limiter), by the checks they were granted for.
#[derive(Default, Debug)]
pub struct Leases {
    held: HashMap<String, Held>,
}

impl Leases {
    /// The key a grant is held under: its checks' scopes and limits, so a policy change never admits
    /// under a grant made for the old limits.
    pub fn key(checks: &[Check]) -> String {
        let mut key = String::new();
        for check in checks {
            let fmt = |v: Option<u64>| v.map_or("-".to_string(), |n| n.to_string());
            key.push_str(&check.scope);
            key.push('=');
            key.push_str(&fmt(check.limit.requests_per_minute));
            key.push('/');
            key.push_str(&fmt(check.limit.tokens_per_minute));
            key.push(';');
        }
        key
    }

    /// Admits one request of `tokens` from the grant held under `key`, if that grant is of the current
    /// second and has room for it. The quotas are what the limiter would report after this request.
    pub fn admit(&mut self, key: &str, now_ms: u64, tokens: u64) -> Option<Admission> {
        let held = self.held.get_mut(key)?;
        let at_ms = held.grant.at_ms;
        if second_of(now_ms) != second_of(at_ms)
            || held.requests_left == 0
            || held.tokens_left < tokens
        {
            return None;
        }
        held.requests_left -= 1;
        held.tokens_left -= tokens;
        let elapsed = now_ms.saturating_sub(at_ms);
        // What the grant has given out since, in each dimension (refunds of settled requests included).
        let requests_used = held.grant.requests - held.requests_left;
        let tokens_used = held.grant.tokens.saturating_sub(held.tokens_left);
        let quotas = held
            .quotas
            .iter()
            .map(|q| Quota {
                remaining_requests: q
                    .remaining_requests
                    .map(|r| r.saturating_sub(requests_used)),
                remaining_tokens: q.remaining_tokens.map(|r| r.saturating_sub(tokens_used)),
                reset_requests_ms: q.reset_requests_ms.saturating_sub(elapsed),
                reset_tokens_ms: q.reset_tokens_ms.saturating_sub(elapsed),
                ..q.clone()
            })
            .collect();
        Some(Admission {
            admitted: true,
            never: false,
            retry_after_ms: 0,
            reservation: Some(Reservation {
                id: held.grant.id,
                at_ms,
                scopes: held.grant.scopes.clone(),
                tokens,
            }),
            quotas,
            grant: None,
        })
    }

    /// Takes out what must go back to the limiter: every grant of a past second, and every grant that
    /// covers one of `scopes` — the caller is about to call the limiter about those scopes (to admit, or
    /// to settle), so the limiter must see what is really used in them, and nothing may change in a scope
    /// while a grant over it is held. So a held grant's view of its scopes stays exact within its second
    /// (no bucket leaves a window within a second), and at most one held grant covers a scope.
    pub fn releases(&mut self, now_ms: u64, scopes: &[&str]) -> Vec<Release> {
        let now_sec = second_of(now_ms);
        let done: Vec<String> = self
            .held
            .iter()
            .filter(|(_, h)| {
                second_of(h.grant.at_ms) < now_sec
                    || h.grant.scopes.iter().any(|s| scopes.contains(&s.as_str()))
            })
            .map(|(k, _)| k.clone())
            .collect();
        done.iter()
            .filter_map(|k| self.held.remove(k))
            .map(Held::release)
            .collect()
    }

    /// Holds `grant` under `key`, with the quotas the limiter reported alongside it. A grant still held
    /// under that key (there should be none: [`Leases::releases`] took it) is returned for release.
    pub fn hold(&mut self, key: String, grant: Grant, quotas: Vec<Quota>) -> Option<Release> {
        let held = Held {
            requests_left: grant.requests,
            tokens_left: grant.tokens,
            grant,
            quotas,
        };
        self.held.insert(key, held).map(Held::release)
    }

    /// Settles a request admitted from a grant that is still held, when it used no more than it
    /// reserved: the difference goes back into the grant (and so, with its release, to the limiter).
    /// False otherwise — the limiter must settle it, after the releases of its scopes.
    pub fn settle(&mut self, reservation: &Reservation, actual_tokens: u64) -> bool {
        if actual_tokens > reservation.tokens {
            return false;
        }
        let Some(held) = self
            .held
            .values_mut()
            .find(|h| h.grant.id == reservation.id && h.grant.at_ms == reservation.at_ms)
        else {
            return false;
        };
        held.tokens_left = held
            .tokens_left
            .saturating_add(reservation.tokens - actual_tokens);
        true
    }

    /// Whether a held grant covers one of `scopes`.
    pub fn covers(&self, scopes: &[&str]) -> bool {
        self.held
            .values()
            .any(|h| h.grant.scopes.iter().any(|s| scopes.contains(&s.as_str())))
    }

    /// When the earliest held grant's second ends (a release is due then).
    pub fn next_end_ms(&self) -> Option<u64> {
        self.held
            .values()
            .map(|h| (second_of(h.grant.at_ms) + 1) * 1_000)
            .min()
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// The scopes of every held grant.
    pub fn scopes(&self) -> Vec<String> {
        let mut scopes: Vec<String> = self
            .held
            .values()
            .flat_map(|h| h.grant.scopes.iter().cloned())
            .collect();
        scopes.sort_unstable();
        scopes.dedup();
        scopes
    }
}

#[cfg(test)]
mod tests;
