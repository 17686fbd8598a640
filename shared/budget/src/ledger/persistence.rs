//! How a [`Ledger`] is stored piece by piece: one row per scope (its budgets and their open
//! tallies), one per reservation that may still settle, and a small header. The Durable Object
//! saves only what changed since its last save ([`Ledger::take_changes`]), so a save costs what an
//! operation touched, not the whole org, and no stored value grows with the number of scopes.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Held, Ledger, Settings};
use crate::account::Account;
use crate::outcome::Event;

/// One scope's budgets and their tallies, as stored (opaque).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(transparent)]
pub struct ScopeState(Vec<Account>);

/// One reservation that may still settle, as stored (opaque).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(transparent)]
pub struct ReservationState(Held);

impl ReservationState {
    /// The key it is stored under.
    pub fn id(&self) -> u64 {
        self.0.id
    }
}

/// The ledger's own counters: the next id to issue and the latest instant seen.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(default)]
pub struct Header {
    pub next_id: u64,
    pub clock_ms: u64,
}

/// What to write so that the store equals the ledger again.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub header: Header,
    /// Scopes to write (`Some`) or delete (`None`).
    pub scopes: Vec<(String, Option<ScopeState>)>,
    /// Reservations to write (`Some`) or delete (`None`), by id.
    pub reservations: Vec<(u64, Option<ReservationState>)>,
}

impl Changes {
    /// Whether nothing but the header changed.
    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty() && self.reservations.is_empty()
    }
}

/// Names of the scopes and ids of the reservations changed since the last save.
#[derive(Clone, Debug, Default)]
pub(crate) struct Dirty {
    scopes: BTreeSet<String>,
    reservations: BTreeSet<u64>,
}

impl Dirty {
    pub(crate) fn scope(&mut self, name: &str) {
        if !self.scopes.contains(name) {
            self.scopes.insert(name.to_string());
        }
    }

    pub(crate) fn reservation(&mut self, id: u64) {
        self.reservations.insert(id);
    }
}

/// What an operation left for the host: events to record and changes to save. Not part of the
/// ledger's value: two ledgers with the same figures are equal whatever either still has to hand.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pending {
    pub(crate) dirty: Dirty,
    pub(crate) events: Vec<Event>,
}

impl PartialEq for Pending {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Pending {}

/// The ledger as serialized whole, before its request index is rebuilt.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct Whole {
    settings: Settings,
    scopes: BTreeMap<String, Vec<Account>>,
    outstanding: BTreeMap<u64, Held>,
    expired: BTreeMap<u64, Held>,
    next_id: u64,
    clock_ms: u64,
}

impl From<Whole> for Ledger {
    fn from(whole: Whole) -> Ledger {
        let mut ledger = Ledger {
            settings: whole.settings,
            scopes: whole.scopes,
            expired: whole.expired,
            next_id: whole.next_id,
            clock_ms: whole.clock_ms,
            ..Ledger::default()
        };
        for held in whole.outstanding.into_values() {
            ledger.restore_reservation(ReservationState(held));
        }
        ledger
    }
}

impl Ledger {
    /// A ledger with `header`'s counters and nothing else yet; add the stored rows with
    /// [`Ledger::restore_scope`] and [`Ledger::restore_reservation`], in any order.
    pub fn restored(header: Header, settings: Settings) -> Self {
        Ledger {
            settings,
            next_id: header.next_id,
            clock_ms: header.clock_ms,
            ..Ledger::default()
        }
    }

    pub fn header(&self) -> Header {
        Header {
            next_id: self.next_id,
            clock_ms: self.clock_ms,
        }
    }

    /// One scope's row, if it has budgets.
    pub fn scope_state(&self, name: &str) -> Option<ScopeState> {
        self.scopes.get(name).cloned().map(ScopeState)
    }

    /// Puts back a stored scope (not marked as changed: it is what the store holds).
    pub fn restore_scope(&mut self, name: String, state: ScopeState) {
        self.scopes.insert(name, state.0);
    }

    /// Puts back a stored reservation.
    pub fn restore_reservation(&mut self, state: ReservationState) {
        let held = state.0;
        if held.expired {
            self.expired.insert(held.id, held);
        } else {
            self.by_request.insert(held.request_id.clone(), held.id);
            self.outstanding.insert(held.id, held);
        }
    }

    /// What changed since the last call (or since the ledger was made or restored), and forgets
    /// it: the caller writes it all, or hands it back with [`Ledger::retake`] if the write failed.
    pub fn take_changes(&mut self) -> Changes {
        let dirty = std::mem::take(&mut self.pending.dirty);
        let scopes = dirty
            .scopes
            .into_iter()
            .map(|name| {
                let state = self.scope_state(&name);
                (name, state)
            })
            .collect();
        let reservations = dirty
            .reservations
            .into_iter()
            .map(|id| (id, self.reservation_state(id)))
            .collect();
        Changes {
            header: self.header(),
            scopes,
            reservations,
        }
    }

    /// Marks what `changes` held as changed again, so the next [`Ledger::take_changes`] writes it
    /// (after a failed or partial save: writing a row twice is harmless).
    pub fn retake(&mut self, changes: Changes) {
        for (name, _) in changes.scopes {
            self.pending.dirty.scope(&name);
        }
        for (id, _) in changes.reservations {
            self.pending.dirty.reservation(id);
        }
    }

    /// Marks every row as changed (a whole state imported from elsewhere, to be stored).
    pub fn mark_all_changed(&mut self) {
        let names: Vec<String> = self.scopes.keys().cloned().collect();
        for name in names {
            self.pending.dirty.scope(&name);
        }
        let ids: Vec<u64> = self
            .outstanding
            .keys()
            .chain(self.expired.keys())
            .copied()
            .collect();
        for id in ids {
            self.pending.dirty.reservation(id);
        }
    }

    fn reservation_state(&self, id: u64) -> Option<ReservationState> {
        self.outstanding
            .get(&id)
            .or_else(|| self.expired.get(&id))
            .cloned()
            .map(ReservationState)
    }
}

#[cfg(test)]
pub(crate) mod tests;
