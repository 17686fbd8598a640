//! In-isolate caches for the hot path: principals by key hash and instance snapshots by instance id, each
//! with a short TTL. They save a KV read and three D1 queries per request. Every change that could make an
//! entry wrong (revoke, rotate, role change, config change, delete) calls [`crate::principal::forget`] /
//! [`crate::principal::forget_instances`], which clear the entries in this isolate and in the text-gen
//! worker's (through its service binding).
//!
//! Clearing alone would race a load in flight: a request that read D1 before the change commits and fills
//! the cache after the notice arrived would put the old value back for a whole TTL. So [`Memo::remove`]
//! also remembers WHEN an id was forgotten (for [`FORGOTTEN_MS`]), and a value is only cached by
//! [`Memo::put_fresh`] when it was read after the last time its id was forgotten (ties count as before:
//! the runtime's clock is coarse). [`Memo::forgotten_since`] lets a caller apply the same rule to a value
//! read elsewhere (a KV entry filled by another isolate carries the time it was read from D1).
//!
//! Bounds: an isolate that was told (locally, the only one of each worker) refuses the old value from the
//! next request on; an isolate that was not told (others at the edge) keeps an entry for at most [`TTL_MS`].

use crate::clock;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// How long an entry may live in an isolate that was not told about a change (edge bound).
pub const TTL_MS: f64 = 10_000.0;
/// How long a forgotten id's time is kept: longer than any value read before it can be offered again
/// (a KV entry lives at most its 60 s TTL, plus KV's propagation at the edge).
pub const FORGOTTEN_MS: f64 = 120_000.0;
/// Entries per cache before the oldest are dropped (bounded memory); the same for forgotten ids.
const MAX_ENTRIES: usize = 10_000;

/// A small TTL map from ids to shared values that refuses values older than the id's last removal.
pub struct Memo<V> {
    entries: RefCell<HashMap<String, (f64, Rc<V>)>>,
    /// When each id was last forgotten.
    forgotten: RefCell<HashMap<String, f64>>,
}

impl<V> Default for Memo<V> {
    fn default() -> Self {
        Memo {
            entries: RefCell::new(HashMap::new()),
            forgotten: RefCell::new(HashMap::new()),
        }
    }
}

impl<V> Memo<V> {
    pub fn get(&self, id: &str) -> Option<Rc<V>> {
        self.get_at(id, clock::tick_ms())
    }

    /// Caches `value` unconditionally: for values no change notice invalidates (the response cache).
    pub fn put(&self, id: &str, value: Rc<V>) {
        self.insert_at(id, value, clock::tick_ms());
    }

    /// Caches `value`, read at `read_at_ms` (wall clock, taken BEFORE the read started), unless `id` was
    /// forgotten at or after that time: then the value may predate the change and is not kept.
    pub fn put_fresh(&self, id: &str, value: Rc<V>, read_at_ms: f64) {
        self.put_at(id, value, read_at_ms, clock::tick_ms());
    }

    /// Whether `id` was forgotten at or after `read_at_ms`: a value read then may be stale.
    pub fn forgotten_since(&self, id: &str, read_at_ms: f64) -> bool {
        self.forgotten_since_at(id, read_at_ms, clock::tick_ms())
    }

    /// Drops the entry and remembers when.
    pub fn remove(&self, id: &str) {
        self.remove_at(id, clock::tick_ms());
    }

    fn get_at(&self, id: &str, now: f64) -> Option<Rc<V>> {
        let mut entries = self.entries.borrow_mut();
        match entries.get(id) {
            Some((expires, value)) if *expires > now => Some(value.clone()),
            Some(_) => {
                entries.remove(id);
                None
            }
            None => None,
        }
    }

    fn put_at(&self, id: &str, value: Rc<V>, read_at: f64, now: f64) {
        if !self.forgotten_since_at(id, read_at, now) {
            self.insert_at(id, value, now);
        }
    }

    fn insert_at(&self, id: &str, value: Rc<V>, now: f64) {
        let mut entries = self.entries.borrow_mut();
        make_room(&mut entries, |(expires, _)| *expires > now);
        entries.insert(id.to_string(), (now + TTL_MS, value));
    }

    fn forgotten_since_at(&self, id: &str, read_at: f64, now: f64) -> bool {
        self.forgotten
            .borrow()
            .get(id)
            .is_some_and(|at| *at >= read_at && now - *at < FORGOTTEN_MS)
    }

    fn remove_at(&self, id: &str, now: f64) {
        self.entries.borrow_mut().remove(id);
        let mut forgotten = self.forgotten.borrow_mut();
        make_room(&mut forgotten, |at| now - *at < FORGOTTEN_MS);
        forgotten.insert(id.to_string(), now);
    }
}

/// Keeps `map` under [`MAX_ENTRIES`]: drops what `live` says is dead, then everything if still full.
fn make_room<T>(map: &mut HashMap<String, T>, live: impl Fn(&T) -> bool) {
    if map.len() >= MAX_ENTRIES {
        map.retain(|_, v| live(v));
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memo() -> Memo<&'static str> {
        Memo::default()
    }

    #[test]
    fn a_load_that_raced_a_removal_is_not_cached() {
        // A request reads the key at t=100; the revoke's notice removes it at t=105; the request's
        // fill arrives at t=110 with the value it read before the change.
        let m = memo();
        m.remove_at("k", 105.0);
        m.put_at("k", Rc::new("stale"), 100.0, 110.0);
        assert!(m.get_at("k", 111.0).is_none());
    }

    #[test]
    fn a_tie_counts_as_before_the_removal() {
        let m = memo();
        m.remove_at("k", 100.0);
        m.put_at("k", Rc::new("maybe stale"), 100.0, 100.0);
        assert!(m.get_at("k", 100.0).is_none());
    }

    #[test]
    fn a_load_that_started_after_the_removal_is_cached() {
        let m = memo();
        m.remove_at("k", 100.0);
        m.put_at("k", Rc::new("fresh"), 101.0, 120.0);
        assert_eq!(m.get_at("k", 121.0).as_deref(), Some(&"fresh"));
        assert!(
            m.get_at("k", 120.0 + TTL_MS).is_none(),
            "expires after the TTL"
        );
    }

    #[test]
    fn forgotten_since_judges_values_read_elsewhere() {
        let m = memo();
        assert!(!m.forgotten_since_at("k", 0.0, 1.0), "never forgotten");
        m.remove_at("k", 1_000.0);
        assert!(m.forgotten_since_at("k", 999.0, 1_001.0));
        assert!(m.forgotten_since_at("k", 1_000.0, 1_001.0));
        assert!(!m.forgotten_since_at("k", 1_001.0, 1_002.0));
        assert!(!m.forgotten_since_at("other", 0.0, 1_001.0));
        // Long after, nothing read before the removal can still be offered (the KV TTL has passed).
        assert!(!m.forgotten_since_at("k", 999.0, 1_000.0 + FORGOTTEN_MS));
    }

    #[test]
    fn memory_stays_bounded() {
        let m = memo();
        for i in 0..(MAX_ENTRIES * 2) {
            let id = i.to_string();
            m.put_at(&id, Rc::new("v"), 0.0, 1.0);
            m.remove_at(&format!("f{i}"), 1.0);
        }
        assert!(m.entries.borrow().len() <= MAX_ENTRIES);
        assert!(m.forgotten.borrow().len() <= MAX_ENTRIES);
    }
}
