//! How a [`Limiter`] is stored piece by piece: one entry per scope, one per outstanding reservation or
//! grant, and a small header. The Durable Object saves only what changed since its last save
//! ([`Limiter::take_changes`]), so a save costs what changed, not the whole state, and no stored value
//! grows with the number of scopes (a single value would pass the storage's per-value limit on a busy
//! instance).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{Limiter, Outstanding};
use crate::window::Window;

/// One scope's counters as stored (opaque: at most 60 one-second buckets).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(transparent)]
pub struct ScopeState(Window);

/// One reservation or grant that may still be settled or released, as stored (opaque).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(transparent)]
pub struct EntryState(Outstanding);

impl EntryState {
    /// The key it is stored under.
    pub fn id(&self) -> u64 {
        self.0.id
    }
}

/// The limiter's own counters: the next id to issue and the latest instant seen.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(default)]
pub struct Header {
    pub next_id: u64,
    pub clock_ms: u64,
}

/// What to write so that the store equals the limiter again.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub header: Header,
    /// Scopes to write (`Some`) or delete (`None`).
    pub scopes: Vec<(String, Option<ScopeState>)>,
    /// Entries to write (`Some`) or delete (`None`), by id.
    pub entries: Vec<(u64, Option<EntryState>)>,
    /// Every stored entry with a smaller id is gone (expired, or forgotten past the cap): one range delete
    /// instead of one per entry.
    pub entries_below: u64,
}

impl Changes {
    /// Whether nothing but the header changed.
    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty() && self.entries.is_empty()
    }
}

/// Names of the scopes and ids of the entries changed since the last save. Not part of the limiter's
/// value: two limiters with the same counters are equal whatever either still has to save.
#[derive(Clone, Debug, Default)]
pub(crate) struct Dirty {
    scopes: BTreeSet<String>,
    entries: BTreeSet<u64>,
}

impl PartialEq for Dirty {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Dirty {}

impl Dirty {
    pub(crate) fn scope(&mut self, name: &str) {
        if !self.scopes.contains(name) {
            self.scopes.insert(name.to_string());
        }
    }

    pub(crate) fn entry(&mut self, id: u64) {
        self.entries.insert(id);
    }
}

impl Limiter {
    /// A limiter with `header`'s counters and nothing else yet; add the stored pieces with
    /// [`Limiter::restore_scope`] and [`Limiter::restore_entry`].
    pub fn restored(header: Header) -> Self {
        Limiter {
            next_id: header.next_id,
            clock_ms: header.clock_ms,
            ..Limiter::default()
        }
    }

    /// The header as it stands.
    pub fn header(&self) -> Header {
        Header {
            next_id: self.next_id,
            clock_ms: self.clock_ms,
        }
    }

    /// One scope's counters, if it holds any.
    pub fn scope_state(&self, name: &str) -> Option<ScopeState> {
        self.scopes.get(name).cloned().map(ScopeState)
    }

    /// Puts back a stored scope (not marked as changed: it is what the store holds).
    pub fn restore_scope(&mut self, name: String, state: ScopeState) {
        self.scopes.insert(name, state.0);
    }

    /// Puts back a stored entry, in id order whatever order they come in.
    pub fn restore_entry(&mut self, entry: EntryState) {
        let entry = entry.0;
        match self.outstanding.binary_search_by_key(&entry.id, |o| o.id) {
            Ok(at) => {
                if let Some(slot) = self.outstanding.get_mut(at) {
                    *slot = entry;
                }
            }
            Err(at) => self.outstanding.insert(at, entry),
        }
    }

    /// What changed since the last call (or since the limiter was made or restored), and forgets it:
    /// the caller writes it all, or hands it back with [`Limiter::retake`] if the write failed.
    pub fn take_changes(&mut self) -> Changes {
        let dirty = std::mem::take(&mut self.dirty);
        let entries_below = self.outstanding.front().map_or(self.next_id, |o| o.id);
        let scopes = dirty
            .scopes
            .into_iter()
            .map(|name| {
                let state = self.scope_state(&name);
                (name, state)
            })
            .collect();
        let entries = dirty
            .entries
            .into_iter()
            .filter(|id| *id >= entries_below)
            .map(|id| (id, self.entry_state(id)))
            .collect();
        Changes {
            header: self.header(),
            scopes,
            entries,
            entries_below,
        }
    }

    /// Marks what `changes` held as changed again, so the next [`Limiter::take_changes`] writes it (after a
    /// failed or partial save: writing a piece twice is harmless).
    pub fn retake(&mut self, changes: Changes) {
        for (name, _) in changes.scopes {
            self.dirty.scope(&name);
        }
        for (id, _) in changes.entries {
            self.dirty.entry(id);
        }
    }

    /// Marks every scope and entry as changed (a whole state imported from elsewhere, to be stored).
    pub fn mark_all_changed(&mut self) {
        let names: Vec<String> = self.scopes.keys().cloned().collect();
        for name in names {
            self.dirty.scope(&name);
        }
        let ids: Vec<u64> = self.outstanding.iter().map(|o| o.id).collect();
        for id in ids {
            self.dirty.entry(id);
        }
    }

    fn entry_state(&self, id: u64) -> Option<EntryState> {
        let at = self.outstanding.binary_search_by_key(&id, |o| o.id).ok()?;
        self.outstanding.get(at).cloned().map(EntryState)
    }
}

#[cfg(test)]
pub(crate) mod tests;
