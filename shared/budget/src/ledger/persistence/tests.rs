use std::collections::BTreeMap;

use super::*;
use crate::{Budget, Cost, Period, Settled};

/// The Durable Object's storage, as text values by key (what the shell stores).
#[derive(Default)]
pub(crate) struct Store {
    header: Header,
    scopes: BTreeMap<String, String>,
    reservations: BTreeMap<u64, String>,
    pub(crate) writes: usize,
}

impl Store {
    pub(crate) fn save(&mut self, ledger: &mut Ledger) {
        let changes = ledger.take_changes();
        self.apply(changes);
    }

    fn apply(&mut self, changes: Changes) {
        self.header = changes.header;
        for (name, state) in changes.scopes {
            self.writes += 1;
            match state {
                Some(s) => self.scopes.insert(name, serde_json::to_string(&s).unwrap()),
                None => self.scopes.remove(&name),
            };
        }
        for (id, state) in changes.reservations {
            self.writes += 1;
            match state {
                Some(s) => self
                    .reservations
                    .insert(id, serde_json::to_string(&s).unwrap()),
                None => self.reservations.remove(&id),
            };
        }
    }

    /// Rows come back in any order (reversed here).
    pub(crate) fn load(&self, settings: Settings) -> Ledger {
        let mut ledger = Ledger::restored(self.header, settings);
        for (name, text) in self.scopes.iter().rev() {
            ledger.restore_scope(name.clone(), serde_json::from_str(text).unwrap());
        }
        for text in self.reservations.values().rev() {
            ledger.restore_reservation(serde_json::from_str(text).unwrap());
        }
        ledger
    }
}

const T0: u64 = 1_749_463_200_000;
const CHAIN: [&str; 3] = ["key:k", "project:p", "org:o"];

fn busy_ledger() -> Ledger {
    let mut ledger = Ledger::new(Settings::default());
    ledger
        .set_budget(
            T0,
            "key:k",
            Budget::new(Period::Daily).usd_micros(10_000_000),
        )
        .unwrap();
    ledger
        .set_budget(
            T0,
            "org:o",
            Budget::new(Period::Monthly).tokens(90_000).soft_percent(50),
        )
        .unwrap();
    let a = ledger
        .reserve(T0, "a", &CHAIN, Cost::new(1_000_000, 40_000))
        .unwrap();
    ledger
        .reserve(T0, "b", &CHAIN, Cost::new(2_000_000, 10_000))
        .unwrap();
    ledger
        .reserve(T0, "c", &CHAIN, Cost::new(3_000, 100))
        .unwrap();
    ledger.settle(T0 + 2, a.id, Cost::new(500_000, 30_000));
    // "b" and "c" expire; "d" stays outstanding.
    ledger
        .reserve(T0 + crate::DEFAULT_HOLD_MS, "d", &CHAIN, Cost::new(1, 1))
        .unwrap();
    ledger
}

#[test]
fn rows_restore_an_equal_ledger_that_behaves_the_same() {
    let mut ledger = busy_ledger();
    let mut store = Store::default();
    store.save(&mut ledger);
    let mut restored = store.load(Settings::default());
    assert_eq!(restored, ledger);
    assert_eq!((restored.outstanding(), restored.expired()), (1, 2));
    // The request index is rebuilt: a retried reserve still holds once.
    let now = T0 + crate::DEFAULT_HOLD_MS;
    let retried = restored.reserve(now, "d", &CHAIN, Cost::new(1, 1)).unwrap();
    assert_eq!(
        retried,
        ledger.reserve(now, "d", &CHAIN, Cost::new(1, 1)).unwrap()
    );
    assert_eq!(
        restored.settle(now, 3, Cost::new(7, 7)),
        Settled::CountedLate
    );
    assert_eq!(ledger.settle(now, 3, Cost::new(7, 7)), Settled::CountedLate);
    assert_eq!(restored, ledger);
    assert_eq!(
        restored.remaining(now, &CHAIN),
        ledger.remaining(now, &CHAIN)
    );
}

#[test]
fn the_whole_ledger_round_trips_through_json() {
    let ledger = busy_ledger();
    let json = serde_json::to_string(&ledger).unwrap();
    let mut back: Ledger = serde_json::from_str(&json).unwrap();
    assert_eq!(back, ledger);
    let now = T0 + crate::DEFAULT_HOLD_MS;
    let d = back.reserve(now, "d", &CHAIN, Cost::ZERO).unwrap();
    assert_eq!(
        back.outstanding(),
        1,
        "the retried reserve found its reservation"
    );
    assert_eq!(back.settle(now, d.id, Cost::ZERO), Settled::Counted);
    let empty: Ledger = serde_json::from_str("{}").unwrap();
    assert_eq!(empty, Ledger::default());
}

#[test]
fn a_save_writes_only_what_the_calls_touched() {
    let mut ledger = busy_ledger();
    let mut store = Store::default();
    store.save(&mut ledger);
    assert!(ledger.take_changes().is_empty());
    let r = ledger
        .reserve(T0 + 1_000_000, "e", &["key:k"], Cost::new(1, 0))
        .unwrap();
    let changes = ledger.take_changes();
    let scopes: Vec<&str> = changes.scopes.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(scopes, ["key:k"]);
    assert_eq!(changes.reservations.len(), 1);
    store.apply(changes);
    ledger.settle(T0 + 1_000_000, r.id, Cost::ZERO);
    let changes = ledger.take_changes();
    assert_eq!(changes.reservations, vec![(r.id, None)]);
    store.apply(changes);
    assert_eq!(store.load(Settings::default()), ledger);
}

#[test]
fn a_failed_save_is_handed_back_and_written_next_time() {
    let mut ledger = busy_ledger();
    let mut store = Store::default();
    store.save(&mut ledger);
    ledger.remove_budget(T0 + 1_000_000, "org:o", Period::Monthly);
    let lost = ledger.take_changes();
    assert_eq!(lost.scopes, vec![("org:o".to_string(), None)]);
    ledger.retake(lost);
    store.save(&mut ledger);
    assert_eq!(store.load(Settings::default()), ledger);
}

#[test]
fn an_imported_ledger_writes_every_row() {
    let json = serde_json::to_string(&busy_ledger()).unwrap();
    let mut imported: Ledger = serde_json::from_str(&json).unwrap();
    assert!(imported.take_changes().is_empty());
    imported.mark_all_changed();
    let mut store = Store::default();
    store.save(&mut imported);
    assert_eq!(store.writes, 2 + 3);
    assert_eq!(store.load(Settings::default()), imported);
}
