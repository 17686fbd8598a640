//! Budgets set, replaced and removed at runtime; seeds, events and headroom.

use super::*;

fn threshold(scope: &str, dimension: Dimension, level: u64, used: u64, at_ms: u64) -> Threshold {
    Threshold {
        scope: scope.into(),
        period: Period::Daily,
        period_start_ms: Period::Daily.start_ms(at_ms),
        dimension,
        threshold: level,
        used,
        at_ms,
    }
}

#[test]
fn threshold_events_are_raised_once_per_budget_and_period() {
    let budget = daily_usd(10 * USD).tokens(1_000).soft_percent(80);
    let mut ledger = ledger_with(&[("key:k", budget)]);
    let a = ledger.reserve(T0, "a", &CHAIN, usd(7 * USD)).unwrap();
    assert_eq!(ledger.take_events(), vec![]);
    let b = ledger
        .reserve(T0, "b", &CHAIN, Cost::new(USD, 800))
        .unwrap();
    assert_eq!(
        ledger.take_events(),
        vec![Event::SoftThreshold(threshold(
            "key:k",
            Dimension::Usd,
            8 * USD,
            8 * USD,
            T0
        ))]
    );
    ledger.release(T0, b.id);
    ledger
        .reserve(T0, "c", &CHAIN, Cost::new(USD, 800))
        .unwrap();
    assert_eq!(ledger.take_events(), vec![], "not again this period");
    ledger.settle(T0, a.id, usd(9 * USD));
    assert_eq!(
        ledger.take_events(),
        vec![Event::Exhausted(threshold(
            "key:k",
            Dimension::Usd,
            10 * USD,
            10 * USD,
            T0
        ))]
    );
    let tomorrow = T0 + DAY_MS;
    ledger
        .reserve(tomorrow, "d", &CHAIN, Cost::new(0, 850))
        .unwrap();
    let events = ledger.take_events();
    assert!(events.contains(&Event::SoftThreshold(threshold(
        "key:k",
        Dimension::Tokens,
        800,
        850,
        tomorrow
    ))));
}

#[test]
fn replacing_a_budget_keeps_its_spend_and_a_lower_limit_can_exhaust_it() {
    let mut ledger = ledger_with(&[("key:k", daily_usd(10 * USD))]);
    let r = ledger.reserve(T0, "a", &CHAIN, usd(6 * USD)).unwrap();
    ledger.settle(T0, r.id, usd(5 * USD));
    ledger.set_budget(T0, "key:k", daily_usd(20 * USD)).unwrap();
    assert_eq!(current(&ledger, T0, "key:k").spent, usd(5 * USD));
    assert_eq!(
        ledger
            .reserve(T0, "b", &CHAIN, usd(16 * USD))
            .unwrap_err()
            .remaining,
        15 * USD
    );
    ledger.set_budget(T0, "key:k", daily_usd(4 * USD)).unwrap();
    assert_eq!(
        ledger.take_events(),
        vec![Event::Exhausted(threshold(
            "key:k",
            Dimension::Usd,
            4 * USD,
            5 * USD,
            T0
        ))]
    );
    assert_eq!(ledger.budgets("key:k"), vec![daily_usd(4 * USD)]);
}

#[test]
fn a_scope_holds_one_budget_per_period() {
    let mut ledger = ledger_with(&[
        ("key:k", Budget::new(Period::Monthly).usd_micros(50 * USD)),
        ("key:k", daily_usd(5 * USD)),
    ]);
    assert_eq!(
        ledger
            .budgets("key:k")
            .iter()
            .map(|b| b.period)
            .collect::<Vec<_>>(),
        vec![Period::Daily, Period::Monthly]
    );
    let r = ledger.reserve(T0, "a", &CHAIN, usd(4 * USD)).unwrap();
    ledger.settle(T0, r.id, usd(4 * USD));
    assert!(ledger.remove_budget(T0, "key:k", Period::Daily));
    assert!(!ledger.remove_budget(T0, "key:k", Period::Daily));
    assert_eq!(ledger.standings(T0, "key:k")[0].spent, usd(4 * USD));
    assert!(ledger.remove_budget(T0, "key:k", Period::Monthly));
    assert_eq!(ledger.scopes(), 0);
}

#[test]
fn a_budget_set_again_after_removal_is_not_touched_by_the_old_holds() {
    let mut ledger = ledger_with(&[("key:k", daily_usd(10 * USD))]);
    let old = ledger.reserve(T0, "a", &CHAIN, usd(8 * USD)).unwrap();
    ledger.remove_budget(T0, "key:k", Period::Daily);
    ledger.set_budget(T0, "key:k", daily_usd(10 * USD)).unwrap();
    let new = ledger.reserve(T0, "b", &CHAIN, usd(9 * USD)).unwrap();
    // Releasing the old hold must not free the new budget's room; its settle counts (same day).
    assert!(ledger.release(T0, old.id));
    assert_eq!(current(&ledger, T0, "key:k").reserved, usd(9 * USD));
    ledger.settle(T0, new.id, usd(USD));
    assert_eq!(current(&ledger, T0, "key:k").used(), usd(USD));
}

#[test]
fn a_budget_created_mid_period_counts_requests_already_in_flight() {
    let mut ledger = ledger_with(&[]);
    let early = ledger.reserve(T0, "a", &CHAIN, usd(3 * USD)).unwrap();
    ledger
        .set_budget(T0 + MIN, "project:p", daily_usd(10 * USD))
        .unwrap();
    // The host seeds today's spend from its usage rows: $4 already settled today.
    assert!(ledger.set_spend(T0 + MIN, "project:p", Period::Daily, T0, usd(4 * USD)));
    assert_eq!(
        ledger.settle(T0 + 2 * MIN, early.id, usd(2 * USD)),
        Settled::Counted
    );
    assert_eq!(current(&ledger, T0, "project:p").spent, usd(6 * USD));
    // One admitted yesterday belongs to yesterday, which this budget never tracked.
    let eve = T0 - 11 * 3_600_000;
    let mut ledger = ledger_with(&[]);
    let old = ledger.reserve(eve, "b", &CHAIN, usd(3 * USD)).unwrap();
    ledger
        .set_budget(T0, "project:p", daily_usd(10 * USD))
        .unwrap();
    ledger.settle(T0, old.id, usd(3 * USD));
    assert_eq!(current(&ledger, T0, "project:p").spent, Cost::ZERO);
}

#[test]
fn spend_can_be_seeded_only_where_it_is_tracked() {
    let mut ledger = ledger_with(&[("key:k", daily_usd(10 * USD))]);
    assert!(ledger.set_spend(T0, "key:k", Period::Daily, T0 + 3_600_000, usd(9 * USD)));
    assert_eq!(current(&ledger, T0, "key:k").spent, usd(9 * USD));
    assert!(!ledger.set_spend(T0, "key:k", Period::Monthly, T0, usd(1)));
    assert!(!ledger.set_spend(T0, "key:x", Period::Daily, T0, usd(1)));
    assert!(!ledger.set_spend(T0, "key:k", Period::Daily, T0 - DAY_MS, usd(1)));
    assert!(!ledger.set_spend(T0, "key:k", Period::Daily, T0 + DAY_MS, usd(1)));
    assert!(ledger.reserve(T0, "a", &CHAIN, usd(USD + 1)).is_err());
}

#[test]
fn remaining_reports_the_tightest_budget_per_dimension() {
    let mut ledger = ledger_with(&[
        ("key:k", Budget::new(Period::Total).tokens(5_000)),
        ("project:p", daily_usd(10 * USD).tokens(100_000)),
        (
            "instance:i",
            Budget::new(Period::Monthly).usd_micros(10 * USD),
        ),
    ]);
    ledger
        .reserve(T0, "a", &CHAIN, Cost::new(2 * USD, 1_000))
        .unwrap();
    let r = ledger.remaining(T0, &CHAIN);
    let usd_room = r.usd.unwrap();
    // $8 left in both: the monthly one resets later, so it is the one to report.
    assert_eq!(
        (usd_room.scope.as_str(), usd_room.remaining),
        ("instance:i", 8 * USD)
    );
    assert_eq!(usd_room.resets_at_ms, Some(at(2025, 7, 1, 0)));
    let tokens = r.tokens.unwrap();
    assert_eq!(
        (tokens.scope.as_str(), tokens.remaining, tokens.resets_at_ms),
        ("key:k", 4_000, None)
    );
    assert_eq!(ledger.remaining(T0, &["key:other"]), Remaining::default());
    // Reading does not roll: tomorrow the project's day is empty.
    let tomorrow = ledger.remaining(T0 + DAY_MS, &["project:p"]);
    assert_eq!(tomorrow.usd.unwrap().remaining, 10 * USD);
}

#[test]
fn the_clock_never_runs_backwards() {
    let mut ledger = ledger_with(&[("key:k", daily_usd(10 * USD))]);
    let tomorrow = T0 + DAY_MS;
    ledger
        .reserve(tomorrow, "a", &CHAIN, usd(10 * USD))
        .unwrap();
    // A skewed caller asking "yesterday" is judged at the latest instant seen.
    let refused = ledger.reserve(T0, "b", &CHAIN, usd(1)).unwrap_err();
    assert_eq!(
        refused.resets_at_ms,
        Some(Period::Daily.end_ms(tomorrow).unwrap())
    );
    let r = ledger.reserve(T0, "c", &CHAIN, Cost::ZERO).unwrap();
    assert_eq!(r.at_ms, tomorrow);
}

#[test]
fn extreme_amounts_and_instants_saturate() {
    let mut ledger = ledger_with(&[(
        "key:k",
        Budget::new(Period::Total)
            .usd_micros(u64::MAX)
            .tokens(u64::MAX),
    )]);
    let max = Cost::new(u64::MAX, u64::MAX);
    let r = ledger.reserve(T0, "a", &CHAIN, max).unwrap();
    assert!(ledger.reserve(T0, "b", &CHAIN, usd(1)).is_err());
    ledger.settle(T0, r.id, max);
    let r = ledger.reserve(T0, "c", &CHAIN, Cost::ZERO).unwrap();
    ledger.settle(T0, r.id, max);
    assert_eq!(current(&ledger, T0, "key:k").spent, max);
    for now in [u64::MAX - 1, u64::MAX] {
        ledger
            .set_budget(now, "key:k", daily_usd(u64::MAX))
            .unwrap();
        let _ = ledger.reserve(now, "d", &CHAIN, max);
        ledger.sweep(now);
        let _ = ledger.remaining(now, &CHAIN);
    }
}

#[test]
fn budgets_are_validated_before_they_are_set() {
    let mut ledger = ledger_with(&[]);
    assert_eq!(
        ledger.set_budget(T0, "team:t", daily_usd(1)),
        Err(crate::Error::Scope)
    );
    assert_eq!(
        ledger.set_budget(T0, "key:k", Budget::new(Period::Daily)),
        Err(crate::Error::NoLimit)
    );
    assert_eq!(
        ledger.set_budget(T0, "key:k", daily_usd(1).soft_percent(0)),
        Err(crate::Error::SoftPercent)
    );
    assert_eq!(ledger.scopes(), 0);
}
