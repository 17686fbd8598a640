//! The per-Durable-Object state: the budgets of many scopes, their tallies, and the reservations
//! that may still settle.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::account::{Account, Tally};
use crate::budget::Dimension;
use crate::money::Cost;
use crate::outcome::{Event, Lapse, Refusal, Reservation, Settled};

pub use expiry::{Settings, DEFAULT_HOLD_MS, DEFAULT_SETTLE_WITHIN_MS, MAX_EXPIRED};
use persistence::Pending;
pub use persistence::{Changes, Header, ReservationState, ScopeState};

/// A reservation that may still settle: outstanding (holding its worst case) or expired (held
/// nothing any more, but a late settle still counts).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Held {
    pub(crate) id: u64,
    pub(crate) request_id: String,
    pub(crate) at_ms: u64,
    pub(crate) worst_case: Cost,
    /// The chain's distinct scopes, in its order.
    pub(crate) scopes: Vec<String>,
    /// Serials of the budgets it holds at (those set on its scopes when it was made).
    pub(crate) serials: Vec<u64>,
    #[serde(default)]
    pub(crate) expired: bool,
}

impl Held {
    fn reservation(&self) -> Reservation {
        Reservation {
            id: self.id,
            at_ms: self.at_ms,
            worst_case: self.worst_case,
        }
    }

    fn lapse(&self, now_ms: u64) -> Lapse {
        Lapse {
            reservation_id: self.id,
            request_id: self.request_id.clone(),
            reserved_at_ms: self.at_ms,
            worst_case: self.worst_case,
            at_ms: now_ms,
        }
    }
}

/// Budgets and spend for many scopes (one org's, in the intended deployment).
///
/// Time never runs backwards here: a `now_ms` earlier than one already seen is treated as the
/// latest seen, so a skewed clock cannot reopen a closed period.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(from = "persistence::Whole")]
pub struct Ledger {
    settings: Settings,
    /// Per scope, its budgets ordered by period (at most one per period).
    scopes: BTreeMap<String, Vec<Account>>,
    /// Ascending by id and so by `at_ms` (ids are issued in order on a clamped clock).
    outstanding: BTreeMap<u64, Held>,
    expired: BTreeMap<u64, Held>,
    next_id: u64,
    clock_ms: u64,
    /// Outstanding reservations by request id (derived, rebuilt on restore).
    #[serde(skip)]
    by_request: BTreeMap<String, u64>,
    /// Events and unsaved changes (not part of the value).
    #[serde(skip)]
    pending: Pending,
}

impl Ledger {
    pub fn new(settings: Settings) -> Self {
        Ledger {
            settings,
            ..Ledger::default()
        }
    }

    pub fn settings(&self) -> Settings {
        self.settings
    }

    /// Holds `worst_case` at every budget of every scope in `chain` if all of them have room for
    /// it in their current period; otherwise holds nothing and names the budget that refused
    /// (see [`Refusal`]). A scope listed twice counts once; scopes without budgets are unlimited.
    ///
    /// Repeated with the request id of a reservation still outstanding, it returns that
    /// reservation (a retried call holds once).
    pub fn reserve<S: AsRef<str>>(
        &mut self,
        now_ms: u64,
        request_id: &str,
        chain: &[S],
        worst_case: Cost,
    ) -> Result<Reservation, Refusal> {
        let now_ms = self.tick(now_ms);
        if let Some(held) = self
            .by_request
            .get(request_id)
            .and_then(|id| self.outstanding.get(id))
        {
            return Ok(held.reservation());
        }
        let scopes = distinct(chain);
        self.roll(now_ms, &scopes);
        if let Some(refusal) = self.judge(now_ms, &scopes, worst_case) {
            return Err(refusal);
        }
        let id = self.issue_id();
        let serials = self.hold(now_ms, &scopes, worst_case);
        let held = Held {
            id,
            request_id: request_id.to_string(),
            at_ms: now_ms,
            worst_case,
            scopes,
            serials,
            expired: false,
        };
        let reservation = held.reservation();
        self.by_request.insert(held.request_id.clone(), id);
        self.outstanding.insert(id, held);
        self.pending.dirty.reservation(id);
        Ok(reservation)
    }

    /// Replaces the reservation by `actual` at every budget of its chain, in the periods it was
    /// made in; `actual` may exceed the worst case and counts in full. Budgets set on the chain's
    /// scopes after the reservation count `actual` too if their current period holds the
    /// reservation's instant. Once per reservation: see [`Settled`].
    pub fn settle(&mut self, now_ms: u64, reservation_id: u64, actual: Cost) -> Settled {
        let now_ms = self.tick(now_ms);
        let Some((held, outcome)) = self.take_held(reservation_id) else {
            return Settled::NotHeld;
        };
        self.count(&held, now_ms, actual);
        outcome
    }

    /// Gives an outstanding reservation back (nothing was generated). False if it is not
    /// outstanding: already settled or released, expired (its hold went back then; this closes
    /// it, so a later settle is a no-op), or unknown.
    pub fn release(&mut self, now_ms: u64, reservation_id: u64) -> bool {
        let now_ms = self.tick(now_ms);
        let Some((held, _)) = self.take_held(reservation_id) else {
            return false;
        };
        let give_back = !held.expired;
        self.each_hold(&held, now_ms, |tally| {
            if give_back {
                tally.reserved = tally.reserved.saturating_sub(held.worst_case);
            }
            tally.open = tally.open.saturating_sub(1);
        });
        give_back
    }

    /// Expires what is due (a ledger the host calls rarely can be swept with it, e.g. from an
    /// alarm).
    pub fn sweep(&mut self, now_ms: u64) {
        let now_ms = self.tick(now_ms);
        let names: Vec<String> = self.scopes.keys().cloned().collect();
        self.roll(now_ms, &names);
    }

    /// The events raised since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.pending.events)
    }

    /// Number of reservations holding their worst case.
    pub fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    /// Number of expired reservations that may still settle late.
    pub fn expired(&self) -> usize {
        self.expired.len()
    }

    /// Advances the clock and expires what is due: every operation starts with it.
    fn tick(&mut self, now_ms: u64) -> u64 {
        self.clock_ms = self.clock_ms.max(now_ms);
        let now_ms = self.clock_ms;
        self.expire(now_ms);
        now_ms
    }

    fn issue_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        id
    }

    /// Begins the current period of every budget of `scopes`.
    fn roll(&mut self, now_ms: u64, scopes: &[String]) {
        for scope in scopes {
            let Some(accounts) = self.scopes.get_mut(scope) else {
                continue;
            };
            let mut changed = false;
            for account in accounts.iter_mut() {
                changed |= account.roll(now_ms);
            }
            if changed {
                self.pending.dirty.scope(scope);
            }
        }
    }

    /// The refusal, if some budget has no room for `cost` now. Of several, the one whose worst
    /// case can never fit, else the one that resets last (a total budget never does), so that
    /// `Retry-After` is not a promise broken by another budget; the first in chain order on a tie.
    fn judge(&self, now_ms: u64, scopes: &[String], cost: Cost) -> Option<Refusal> {
        let mut refusal: Option<Refusal> = None;
        for scope in scopes {
            for account in self.scopes.get(scope).into_iter().flatten() {
                let used = account.used(now_ms);
                let budget = &account.budget;
                for dimension in Dimension::ALL {
                    let Some(limit) = budget.limit(dimension) else {
                        continue;
                    };
                    let (used, cost) = (used.get(dimension), cost.get(dimension));
                    if used.checked_add(cost).is_some_and(|total| total <= limit) {
                        continue;
                    }
                    let candidate = Refusal {
                        scope: scope.clone(),
                        period: budget.period,
                        dimension,
                        limit,
                        remaining: limit.saturating_sub(used),
                        resets_at_ms: budget.period.end_ms(now_ms),
                        never: cost > limit,
                    };
                    if refusal.as_ref().is_none_or(|r| rank(&candidate) > rank(r)) {
                        refusal = Some(candidate);
                    }
                }
            }
        }
        refusal
    }

    /// Holds `cost` in the current period of every budget of `scopes`; the serials held at.
    fn hold(&mut self, now_ms: u64, scopes: &[String], cost: Cost) -> Vec<u64> {
        let mut serials = Vec::new();
        for scope in scopes {
            let Some(accounts) = self.scopes.get_mut(scope) else {
                continue;
            };
            for account in accounts.iter_mut() {
                let start = account.budget.period.start_ms(now_ms);
                if let Some(tally) = account.tally_mut(start) {
                    tally.reserved = tally.reserved.saturating_add(cost);
                    tally.open = tally.open.saturating_add(1);
                    serials.push(account.serial);
                }
                account.notice(scope, start, now_ms, &mut self.pending.events);
            }
            self.pending.dirty.scope(scope);
        }
        serials
    }

    /// Replaces `held`'s hold by `actual` where it held, and counts `actual` at budgets set since
    /// in the same period.
    fn count(&mut self, held: &Held, now_ms: u64, actual: Cost) {
        for scope in &held.scopes {
            let Some(accounts) = self.scopes.get_mut(scope) else {
                continue;
            };
            for account in accounts.iter_mut() {
                let start = account.budget.period.start_ms(held.at_ms);
                let holds = held.serials.contains(&account.serial);
                account.roll(now_ms);
                if !holds && start != account.budget.period.start_ms(now_ms) {
                    // Set after the period the request belongs to ended: not this budget's cost.
                    continue;
                }
                let Some(tally) = account.tally_mut(start) else {
                    continue;
                };
                if holds {
                    if !held.expired {
                        tally.reserved = tally.reserved.saturating_sub(held.worst_case);
                    }
                    tally.open = tally.open.saturating_sub(1);
                }
                tally.spent = tally.spent.saturating_add(actual);
                account.notice(scope, start, now_ms, &mut self.pending.events);
                account.roll(now_ms);
            }
            self.pending.dirty.scope(scope);
        }
    }

    /// Removes a reservation that may still settle, with how a settle of it counts.
    fn take_held(&mut self, id: u64) -> Option<(Held, Settled)> {
        let (held, outcome) = match self.outstanding.remove(&id) {
            Some(held) => (held, Settled::Counted),
            None => (self.expired.remove(&id)?, Settled::CountedLate),
        };
        self.unindex(&held);
        self.pending.dirty.reservation(id);
        Some((held, outcome))
    }

    fn unindex(&mut self, held: &Held) {
        if self.by_request.get(&held.request_id) == Some(&held.id) {
            self.by_request.remove(&held.request_id);
        }
    }

    /// Applies `change` to the tally of the period `held` was made in at every budget it holds
    /// at, then drops the tallies nothing can settle into any more.
    fn each_hold(&mut self, held: &Held, now_ms: u64, mut change: impl FnMut(&mut Tally)) {
        for scope in &held.scopes {
            let Some(accounts) = self.scopes.get_mut(scope) else {
                continue;
            };
            for account in accounts.iter_mut() {
                if !held.serials.contains(&account.serial) {
                    continue;
                }
                if let Some(tally) = account.tally_mut(account.budget.period.start_ms(held.at_ms)) {
                    change(tally);
                }
                account.roll(now_ms);
            }
            self.pending.dirty.scope(scope);
        }
    }
}

/// Orders refusals: a hopeless one first, then the later reset (`None`: never).
fn rank(r: &Refusal) -> (bool, bool, u64) {
    (
        r.never,
        r.resets_at_ms.is_none(),
        r.resets_at_ms.unwrap_or(0),
    )
}

fn distinct<S: AsRef<str>>(chain: &[S]) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::with_capacity(chain.len());
    for scope in chain {
        let scope = scope.as_ref();
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_string());
        }
    }
    scopes
}

mod budgets;
mod expiry;
mod persistence;
#[cfg(test)]
mod simulation;
#[cfg(test)]
mod tests;
