//! In-isolate caches for the hot path: principals by key hash and instance snapshots by instance id, each
//! with a short TTL. They save a KV read and three D1 queries per request. Correctness does not rest on the
//! TTL: every change that could make an entry wrong (revoke, rotate, role change, config change, delete)
//! calls [`crate::principal::forget`] / [`crate::principal::forget_instances`], which clear the entries in
//! this isolate and in the text-gen worker's (through its service binding). Locally each worker runs in one
//! isolate, so a change takes effect on the next request; at the edge, other isolates keep an entry for at
//! most [`TTL_MS`].

use crate::clock;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// How long an entry may live in an isolate that was not told about a change (edge bound).
pub const TTL_MS: f64 = 10_000.0;
/// Entries per cache before the oldest are dropped (bounded memory).
const MAX_ENTRIES: usize = 10_000;

/// A small TTL map from ids to shared values.
pub struct Memo<V> {
    entries: RefCell<HashMap<String, (f64, Rc<V>)>>,
}

impl<V> Default for Memo<V> {
    fn default() -> Self {
        Memo {
            entries: RefCell::new(HashMap::new()),
        }
    }
}

impl<V> Memo<V> {
    pub fn get(&self, id: &str) -> Option<Rc<V>> {
        let now = clock::tick_ms();
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

    pub fn put(&self, id: &str, value: Rc<V>) {
        let now = clock::tick_ms();
        let mut entries = self.entries.borrow_mut();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (expires, _)| *expires > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(id.to_string(), (now + TTL_MS, value));
    }

    pub fn remove(&self, id: &str) {
        self.entries.borrow_mut().remove(id);
    }
}
