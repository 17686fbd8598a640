use std::collections::BTreeMap;

use super::super::SETTLE_WITHIN_MS;
use super::*;
use crate::{Check, Limit, Release};

/// The Durable Object's tables, as text values by key (what the shell stores).
#[derive(Default)]
pub(crate) struct Store {
    header: Header,
    scopes: BTreeMap<String, String>,
    entries: BTreeMap<u64, String>,
    pub(crate) writes: usize,
}

impl Store {
    pub(crate) fn save(&mut self, limiter: &mut Limiter) {
        let changes = limiter.take_changes();
        self.header = changes.header;
        for (name, state) in changes.scopes {
            self.writes += 1;
            match state {
                Some(s) => self.scopes.insert(name, serde_json::to_string(&s).unwrap()),
                None => self.scopes.remove(&name),
            };
        }
        self.entries.retain(|id, _| *id >= changes.entries_below);
        for (id, entry) in changes.entries {
            self.writes += 1;
            match entry {
                Some(e) => self.entries.insert(id, serde_json::to_string(&e).unwrap()),
                None => self.entries.remove(&id),
            };
        }
    }

    /// Rows come back in any order (a hash map's, reversed here).
    pub(crate) fn load(&self) -> Limiter {
        let mut limiter = Limiter::restored(self.header);
        for (name, text) in self.scopes.iter().rev() {
            limiter.restore_scope(name.clone(), serde_json::from_str(text).unwrap());
        }
        for text in self.entries.values().rev() {
            limiter.restore_entry(serde_json::from_str(text).unwrap());
        }
        limiter
    }

    fn largest_value(&self) -> usize {
        self.scopes
            .values()
            .chain(self.entries.values())
            .map(String::len)
            .max()
            .unwrap_or(0)
    }
}

fn rpm(k: u64) -> Limit {
    Limit {
        requests_per_minute: Some(k),
        tokens_per_minute: None,
    }
}

fn check(scope: &str, limit: Limit) -> Vec<Check> {
    vec![Check::new(scope, limit)]
}

fn changed_scopes(changes: &Changes) -> Vec<(&str, bool)> {
    changes
        .scopes
        .iter()
        .map(|(name, state)| (name.as_str(), state.is_some()))
        .collect()
}

/// Whether `changes` delete entry `id` (by itself, or with the range below the oldest kept).
fn gone(changes: &Changes, id: u64) -> bool {
    id < changes.entries_below || changes.entries.contains(&(id, None))
}

#[test]
fn a_saved_and_reloaded_limiter_is_the_same_limiter() {
    let mut limiter = Limiter::new();
    let both = vec![
        Check::new("key:a", rpm(2)),
        Check::new("provider:p", rpm(9)),
    ];
    let r = limiter.admit(1_000, &both, 200, 0).reservation.unwrap();
    limiter.admit(2_500, &both, 100, 0);
    limiter.admit(3_000, &check("key:b", rpm(100)), 1, 64);
    let mut store = Store::default();
    store.save(&mut limiter);
    let mut restored = store.load();
    assert_eq!(restored, limiter);
    // It judges and settles as the original would.
    assert!(!restored.admit(4_000, &both, 0, 0).admitted);
    assert!(restored.settle(4_000, &r, 0));
    assert!(!restored.settle(4_000, &r, 0));
    assert_eq!(
        restored.admit(62_000, &both, 0, 0).reservation.unwrap().id,
        4
    );
}

#[test]
fn only_what_changed_is_saved() {
    let mut limiter = Limiter::new();
    let a = check("key:a", rpm(10));
    let b = check("key:b", rpm(10));
    let ra = limiter.admit(1_000, &a, 50, 0).reservation.unwrap();
    limiter.admit(1_000, &b, 50, 0);
    limiter.take_changes();
    assert!(limiter.take_changes().is_empty(), "nothing changed since");

    // A refusal or a lookup changes nothing stored.
    limiter.admit(1_500, &check("key:a", rpm(1)), 0, 0);
    assert!(limiter.take_changes().is_empty());

    // A settle touches its scope and its entry (now spent: deleted).
    assert!(limiter.settle(2_000, &ra, 10));
    let changes = limiter.take_changes();
    assert_eq!(changed_scopes(&changes), [("key:a", true)]);
    assert!(gone(&changes, ra.id));

    // An admission touches its scopes and adds its entry.
    let rb = limiter.admit(3_000, &b, 5, 0).reservation.unwrap();
    let changes = limiter.take_changes();
    assert_eq!(changed_scopes(&changes), [("key:b", true)]);
    assert_eq!(changes.entries.len(), 1);
    assert_eq!(changes.entries[0].0, rb.id);
    assert_eq!(changes.header.next_id, rb.id + 1);
}

#[test]
fn a_release_saves_its_scopes_and_its_grant() {
    let mut limiter = Limiter::new();
    let c = check("key:a", rpm(1_000));
    let grant = limiter.admit(1_000, &c, 0, 64).grant.unwrap();
    limiter.take_changes();
    let release = Release {
        id: grant.id,
        at_ms: grant.at_ms,
        scopes: grant.scopes.clone(),
        requests: grant.requests,
        tokens: 0,
    };
    assert!(limiter.release(1_200, &release));
    let changes = limiter.take_changes();
    assert_eq!(changed_scopes(&changes), [("key:a", true)]);
    assert!(gone(&changes, grant.id));
}

#[test]
fn prune_deletes_stored_scopes_and_expired_entries() {
    let mut limiter = Limiter::new();
    let mut store = Store::default();
    limiter.admit(1_000, &check("key:old", rpm(5)), 10, 0);
    limiter.admit(30_000, &check("key:new", rpm(5)), 10, 0);
    store.save(&mut limiter);
    assert_eq!((store.scopes.len(), store.entries.len()), (2, 2));
    limiter.prune(61_000);
    let changes = limiter.take_changes();
    assert_eq!(changed_scopes(&changes), [("key:old", false)]);
    assert_eq!(changes.entries_below, 0, "entries outlive their window");
    limiter.retake(changes);
    store.save(&mut limiter);
    limiter.prune(1_000 + SETTLE_WITHIN_MS);
    let changes = limiter.take_changes();
    assert_eq!(
        changes.entries_below, 1,
        "the first entry expired SETTLE_WITHIN_MS after its admission"
    );
    limiter.retake(changes);
    store.save(&mut limiter);
    assert!(
        store.scopes.is_empty(),
        "both scopes idle for the window are gone"
    );
    assert_eq!(store.entries.keys().collect::<Vec<_>>(), [&1]);
    assert_eq!(store.load(), limiter);
}

#[test]
fn a_failed_save_is_written_by_the_next_one() {
    let mut limiter = Limiter::new();
    let mut store = Store::default();
    limiter.admit(1_000, &check("key:a", rpm(5)), 10, 0);
    let lost = limiter.take_changes();
    limiter.admit(2_000, &check("key:b", rpm(5)), 10, 0);
    limiter.retake(lost);
    store.save(&mut limiter);
    assert_eq!(store.load(), limiter);
}

#[test]
fn no_stored_value_grows_with_the_number_of_scopes() {
    let mut limiter = Limiter::new();
    let mut store = Store::default();
    for i in 0..5_000u64 {
        let scope = format!("key:{i:032}");
        limiter.admit(1_000 + i * 11, &check(&scope, rpm(100)), 1_000, 0);
    }
    store.save(&mut limiter);
    let whole = serde_json::to_string(&limiter).unwrap().len();
    assert!(whole > 128 * 1024, "the whole state is {whole} bytes");
    assert!(store.largest_value() < 1024, "{}", store.largest_value());
    assert_eq!(store.load(), limiter);
}

#[test]
fn a_whole_state_marked_changed_is_stored_whole() {
    let mut limiter = Limiter::new();
    limiter.admit(1_000, &check("key:a", rpm(5)), 10, 0);
    limiter.admit(1_000, &check("key:b", rpm(5)), 10, 0);
    let json = serde_json::to_string(&limiter).unwrap();
    let mut imported: Limiter = serde_json::from_str(&json).unwrap();
    assert!(imported.take_changes().is_empty());
    imported.mark_all_changed();
    let mut store = Store::default();
    store.save(&mut imported);
    assert_eq!(store.load(), limiter);
}
