//! Why and when reservations stop holding budget: a request lost to a crashed isolate or a
//! dropped connection never settles, and must not hold its worst case forever.

use serde::{Deserialize, Serialize};

use super::Ledger;
use crate::outcome::Event;

/// Default [`Settings::hold_ms`]: far longer than any request runs (the upstream budget is two
/// minutes), short enough that a lost request gives its hold back within the hour it was made.
pub const DEFAULT_HOLD_MS: u64 = 15 * 60_000;
/// Default [`Settings::settle_within_ms`].
pub const DEFAULT_SETTLE_WITHIN_MS: u64 = 24 * 3_600_000;
/// Most expired reservations remembered for a late settle; beyond it the oldest is forgotten (with
/// an [`Event::Forgotten`]), so memory stays bounded when requests keep getting lost.
pub const MAX_EXPIRED: usize = 16_384;

/// The host's choices: deploy-time settings, handed to [`Ledger::new`] and [`Ledger::restored`]
/// (the stored rows do not hold them).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(default)]
pub struct Settings {
    /// How long a reservation holds its worst case without a settle or release before it expires
    /// and gives it back.
    pub hold_ms: u64,
    /// How long after it was made an expired reservation may still settle (and count) late.
    pub settle_within_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            hold_ms: DEFAULT_HOLD_MS,
            settle_within_ms: DEFAULT_SETTLE_WITHIN_MS,
        }
    }
}

impl Ledger {
    /// Gives back the holds of reservations older than the hold time (a lost request must not
    /// hold budget forever), and forgets expired ones past the late-settle window or the cap.
    pub(super) fn expire(&mut self, now_ms: u64) {
        let hold_ms = self.settings.hold_ms;
        while let Some(entry) = self.outstanding.first_entry() {
            if entry.get().at_ms.saturating_add(hold_ms) > now_ms {
                break;
            }
            let mut held = entry.remove();
            self.unindex(&held);
            self.each_hold(&held, now_ms, |tally| {
                tally.reserved = tally.reserved.saturating_sub(held.worst_case);
            });
            held.expired = true;
            self.pending.events.push(Event::Expired(held.lapse(now_ms)));
            self.pending.dirty.reservation(held.id);
            self.expired.insert(held.id, held);
        }
        let within_ms = self.settings.settle_within_ms;
        loop {
            let full = self.expired.len() > MAX_EXPIRED;
            let Some(entry) = self.expired.first_entry() else {
                break;
            };
            if !full && entry.get().at_ms.saturating_add(within_ms) > now_ms {
                break;
            }
            let held = entry.remove();
            self.each_hold(&held, now_ms, |tally| {
                tally.open = tally.open.saturating_sub(1);
            });
            self.pending
                .events
                .push(Event::Forgotten(held.lapse(now_ms)));
            self.pending.dirty.reservation(held.id);
        }
    }
}
