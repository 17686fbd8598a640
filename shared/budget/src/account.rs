//! One budget's running figures: a tally per period that still matters.

use serde::{Deserialize, Serialize};

use crate::budget::{Budget, Dimension};
use crate::money::Cost;
use crate::outcome::{Event, Threshold};

/// A budget set on a scope, and its tallies.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Account {
    /// Unique per ledger: a reservation made under a removed budget never touches a budget set
    /// later under the same scope and period.
    pub(crate) serial: u64,
    pub(crate) budget: Budget,
    /// Ascending by start. The newest is the current period (or was, when last rolled); older ones
    /// stay while reservations made in them may still settle, so their cost lands there.
    pub(crate) tallies: Vec<Tally>,
}

/// Spend and holds in one period of one budget.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) start_ms: u64,
    pub(crate) spent: Cost,
    pub(crate) reserved: Cost,
    /// Reservations made in this period that may still settle (outstanding or expired).
    pub(crate) open: u64,
    #[serde(default)]
    pub(crate) soft_sent: bool,
    #[serde(default)]
    pub(crate) exhausted_sent: bool,
}

impl Tally {
    fn new(start_ms: u64) -> Tally {
        Tally {
            start_ms,
            spent: Cost::ZERO,
            reserved: Cost::ZERO,
            open: 0,
            soft_sent: false,
            exhausted_sent: false,
        }
    }

    pub(crate) fn used(&self) -> Cost {
        self.spent.saturating_add(self.reserved)
    }
}

impl Account {
    pub(crate) fn new(serial: u64, budget: Budget, now_ms: u64) -> Account {
        Account {
            serial,
            budget,
            tallies: vec![Tally::new(budget.period.start_ms(now_ms))],
        }
    }

    /// Begins the period holding `now_ms` if it has not begun here yet, and drops older periods
    /// nothing can settle into any more. Whether anything changed.
    pub(crate) fn roll(&mut self, now_ms: u64) -> bool {
        let start = self.budget.period.start_ms(now_ms);
        let mut changed = false;
        if self.tallies.last().is_none_or(|t| t.start_ms < start) {
            self.tallies.push(Tally::new(start));
            changed = true;
        }
        let before = self.tallies.len();
        self.tallies.retain(|t| t.start_ms >= start || t.open > 0);
        changed || self.tallies.len() != before
    }

    pub(crate) fn tally(&self, start_ms: u64) -> Option<&Tally> {
        self.tallies.iter().find(|t| t.start_ms == start_ms)
    }

    pub(crate) fn tally_mut(&mut self, start_ms: u64) -> Option<&mut Tally> {
        self.tallies.iter_mut().find(|t| t.start_ms == start_ms)
    }

    /// Spend plus reservations of the period holding `now_ms` (zero if it has not begun here).
    /// Reservations made in an earlier period count there, not here.
    pub(crate) fn used(&self, now_ms: u64) -> Cost {
        self.tally(self.budget.period.start_ms(now_ms))
            .map_or(Cost::ZERO, Tally::used)
    }

    /// Raises the events the tally starting at `start_ms` reached and has not raised yet.
    pub(crate) fn notice(
        &mut self,
        scope: &str,
        start_ms: u64,
        now_ms: u64,
        events: &mut Vec<Event>,
    ) {
        let budget = self.budget;
        let Some(tally) = self.tally_mut(start_ms) else {
            return;
        };
        let used = tally.used();
        let threshold = |dimension, level: u64| Threshold {
            scope: scope.to_string(),
            period: budget.period,
            period_start_ms: start_ms,
            dimension,
            threshold: level,
            used: used.get(dimension),
            at_ms: now_ms,
        };
        if !tally.soft_sent {
            if let Some((d, level)) = reached(used, |d| budget.soft_limit(d)) {
                tally.soft_sent = true;
                events.push(Event::SoftThreshold(threshold(d, level)));
            }
        }
        if !tally.exhausted_sent {
            if let Some((d, level)) = reached(used, |d| budget.limit(d)) {
                tally.exhausted_sent = true;
                events.push(Event::Exhausted(threshold(d, level)));
            }
        }
    }
}

/// The first dimension whose use is at or past its level. Nothing used reaches nothing: a zero
/// budget is not "exhausted" before anything was spent against it.
fn reached(used: Cost, level: impl Fn(Dimension) -> Option<u64>) -> Option<(Dimension, u64)> {
    Dimension::ALL.into_iter().find_map(|d| {
        let level = level(d)?;
        let used = used.get(d);
        (used > 0 && used >= level).then_some((d, level))
    })
}
