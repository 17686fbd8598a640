//! Per-fault-key request counts: what makes `times=K` fail only the first K requests, and what
//! `GET /_sim/attempts/<key>` reports so a test can assert how often the gateway retried.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use serde_json::Value;

#[derive(Default)]
pub struct Attempts {
    counts: Mutex<HashMap<String, u64>>,
    /// The last request body that carried each key (`GET /_sim/requests/<key>`), so a test can see
    /// what a gateway really sent upstream.
    last: Mutex<HashMap<String, Value>>,
}

impl Attempts {
    /// Counts one more request carrying `key` and returns its 1-based attempt number.
    pub fn record(&self, key: &str) -> u64 {
        // A poisoned lock only means another request panicked mid-increment; the map is still usable.
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(key.to_string()).or_insert(0);
        *count += 1;
        *count
    }

    /// How many requests carried `key` so far.
    pub fn count(&self, key: &str) -> u64 {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.get(key).copied().unwrap_or(0)
    }

    /// Keeps `body` (JSON) as the last request that carried `key`.
    pub fn remember(&self, key: &str, body: &[u8]) {
        self.remember_value(key, serde_json::from_slice(body).unwrap_or(Value::Null));
    }

    /// Keeps `value` as the last request that carried `key` (a multipart form's fields, as JSON).
    pub fn remember_value(&self, key: &str, value: Value) {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        last.insert(key.to_string(), value);
    }

    /// The last request body that carried `key`.
    pub fn last(&self, key: &str) -> Option<Value> {
        let last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        last.get(key).cloned()
    }

    /// Forgets every key (for a long-running dev simulator reused across test runs).
    pub fn reset(&self) {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_key() {
        let attempts = Attempts::default();
        assert_eq!(attempts.record("a"), 1);
        assert_eq!(attempts.record("a"), 2);
        assert_eq!(attempts.record("b"), 1);
        assert_eq!((attempts.count("a"), attempts.count("zzz")), (2, 0));
        attempts.reset();
        assert_eq!(attempts.count("a"), 0);
    }
}
