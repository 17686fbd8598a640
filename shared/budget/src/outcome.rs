//! What the ledger's operations answer, and the events they raise.

use serde::{Deserialize, Serialize};

use crate::budget::Dimension;
use crate::money::Cost;
use crate::period::Period;

/// A worst-case cost held at every budget of a request's chain until it is settled or released.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Reservation {
    /// Unique per ledger; settle and release take it.
    pub id: u64,
    /// The (clamped) instant of the reservation: its cost belongs to the periods holding it.
    pub at_ms: u64,
    pub worst_case: Cost,
}

/// Why a request was not admitted: a budget of its chain has no room for its worst case. Of
/// several such budgets it names one whose limit the worst case alone exceeds, else the one that
/// resets last (a total budget never does; ties: the first in chain order), so that waiting until
/// `resets_at_ms` is never defeated by another budget.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub scope: String,
    pub period: Period,
    pub dimension: Dimension,
    pub limit: u64,
    /// What was left in that dimension before this request: limit - (spent + reserved).
    pub remaining: u64,
    /// When the budget's period ends and its spend resets (`None` for a total budget): the
    /// earliest instant at which this budget can admit the request without anything else changing.
    pub resets_at_ms: Option<u64>,
    /// The worst case alone exceeds the limit: no reset will admit it.
    pub never: bool,
}

impl Refusal {
    /// Whole seconds until the reset, for `Retry-After` (rounded up, at least 1); `None` when
    /// waiting will not help.
    pub fn retry_after_secs(&self, now_ms: u64) -> Option<u64> {
        if self.never {
            return None;
        }
        let reset = self.resets_at_ms?;
        Some(reset.saturating_sub(now_ms).div_ceil(1_000).max(1))
    }
}

/// The outcome of [`crate::Ledger::settle`].
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Settled {
    /// The reservation was replaced by the actual cost at every budget of its chain.
    Counted,
    /// The reservation had expired (its hold was already given back); the actual cost was
    /// counted now, in the periods the reservation was made in.
    CountedLate,
    /// Nothing changed: already settled or released, forgotten after expiry (an
    /// [`Event::Forgotten`] said so then), or never issued.
    NotHeld,
}

impl Settled {
    pub fn counted(self) -> bool {
        !matches!(self, Settled::NotHeld)
    }
}

/// The tightest budget of a chain in one dimension.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Headroom {
    pub scope: String,
    pub period: Period,
    pub limit: u64,
    /// limit - (spent + reserved), at least 0.
    pub remaining: u64,
    pub resets_at_ms: Option<u64>,
}

/// What is left of a chain's budgets, per dimension (`None`: no budget limits that dimension).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Remaining {
    pub usd: Option<Headroom>,
    pub tokens: Option<Headroom>,
}

/// One budget's figures for one period (for the admin API).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Standing {
    pub scope: String,
    pub budget: crate::Budget,
    pub period_start_ms: u64,
    pub period_end_ms: Option<u64>,
    /// Settled (or seeded) spend.
    pub spent: Cost,
    /// Held by reservations not yet settled, released or expired.
    pub reserved: Cost,
    /// Reservations made in this period that may still settle (outstanding or expired).
    pub open: u64,
}

/// Something the host records (audit, webhooks, dashboard) or logs. Drained with
/// [`crate::Ledger::take_events`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// Spend plus reservations reached the soft threshold: once per budget and period.
    SoftThreshold(Threshold),
    /// Spend plus reservations reached the limit: once per budget and period.
    Exhausted(Threshold),
    /// A reservation was neither settled nor released within the hold time and was given back.
    Expired(Lapse),
    /// An expired reservation was dropped unsettled: a cost it may have had counts nowhere.
    Forgotten(Lapse),
}

/// A budget crossing a threshold.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Threshold {
    pub scope: String,
    pub period: Period,
    pub period_start_ms: u64,
    /// The first dimension (USD before tokens) at or past the threshold.
    pub dimension: Dimension,
    /// The threshold in that dimension (the limit for [`Event::Exhausted`]).
    pub threshold: u64,
    /// Spend plus reservations in that dimension.
    pub used: u64,
    pub at_ms: u64,
}

/// A reservation that lapsed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Lapse {
    pub reservation_id: u64,
    pub request_id: String,
    pub reserved_at_ms: u64,
    pub worst_case: Cost,
    pub at_ms: u64,
}
