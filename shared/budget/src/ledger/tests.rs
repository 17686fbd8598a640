use super::*;
use crate::period::days_from_civil;
use crate::{Budget, Period, Remaining, Standing, Threshold, DAY_MS};

const USD: u64 = 1_000_000;
const MIN: u64 = 60_000;
const CHAIN: [&str; 4] = ["key:k", "project:p", "instance:i", "org:o"];

/// Unix ms of a UTC date and time.
fn at(year: i64, month: u32, day: u32, hour: u64) -> u64 {
    u64::try_from(days_from_civil(year, month, day)).unwrap() * DAY_MS + hour * 3_600_000
}

fn usd(micros: u64) -> Cost {
    Cost::new(micros, 0)
}

fn ledger_with(budgets: &[(&str, Budget)]) -> Ledger {
    let mut ledger = Ledger::new(Settings::default());
    for (scope, budget) in budgets {
        ledger.set_budget(T0, scope, *budget).unwrap();
    }
    ledger.take_events();
    ledger
}

fn daily_usd(limit: u64) -> Budget {
    Budget::new(Period::Daily).usd_micros(limit)
}

fn current(ledger: &Ledger, now: u64, scope: &str) -> Standing {
    ledger.standings(now, scope).into_iter().next().unwrap()
}

/// Monday 2025-06-09, 10:00 UTC.
const T0: u64 = 1_749_463_200_000;

impl Standing {
    fn used(&self) -> Cost {
        self.spent.saturating_add(self.reserved)
    }
}

mod admin;
mod lifecycle;
mod rollover;
