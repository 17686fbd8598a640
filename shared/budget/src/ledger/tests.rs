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

#[test]
fn t0_is_a_monday_morning() {
    assert_eq!(T0, at(2025, 6, 9, 10));
    assert_eq!(Period::Weekly.start_ms(T0), at(2025, 6, 9, 0));
}

#[test]
fn admits_while_every_budget_has_room_then_names_the_one_that_refuses() {
    let mut ledger = ledger_with(&[
        ("project:p", daily_usd(10 * USD)),
        ("org:o", daily_usd(100 * USD)),
    ]);
    for i in 0..5 {
        assert!(ledger
            .reserve(T0, &format!("r{i}"), &CHAIN, usd(2 * USD))
            .is_ok());
    }
    let refused = ledger.reserve(T0, "r5", &CHAIN, usd(1)).unwrap_err();
    assert_eq!(
        refused,
        Refusal {
            scope: "project:p".into(),
            period: Period::Daily,
            dimension: Dimension::Usd,
            limit: 10 * USD,
            remaining: 0,
            resets_at_ms: Some(at(2025, 6, 10, 0)),
            never: false,
        }
    );
    assert_eq!(refused.retry_after_secs(T0), Some(14 * 3_600));
    // Nothing was held anywhere for the refused request.
    assert_eq!(current(&ledger, T0, "org:o").reserved, usd(10 * USD));
    assert_eq!(ledger.outstanding(), 5);
}

#[test]
fn scopes_without_budgets_are_unlimited_and_a_repeated_scope_counts_once() {
    let mut ledger = ledger_with(&[("key:k", daily_usd(3 * USD))]);
    assert!(ledger
        .reserve(T0, "a", &["org:x", "project:y"], usd(u64::MAX))
        .is_ok());
    assert!(ledger
        .reserve(T0, "b", &["key:k", "key:k"], usd(2 * USD))
        .is_ok());
    assert_eq!(current(&ledger, T0, "key:k").reserved, usd(2 * USD));
    assert!(ledger.reserve(T0, "c", &["key:k"], usd(USD)).is_ok());
    assert!(ledger.reserve(T0, "d", &["key:k"], usd(1)).is_err());
}

#[test]
fn a_refusal_names_the_hopeless_budget_else_the_one_that_resets_last() {
    let mut ledger = ledger_with(&[
        ("key:k", daily_usd(USD)),
        ("project:p", Budget::new(Period::Monthly).usd_micros(USD)),
        ("instance:i", Budget::new(Period::Weekly).usd_micros(USD)),
    ]);
    ledger.reserve(T0, "a", &CHAIN, usd(USD)).unwrap();
    let refused = ledger.reserve(T0, "b", &CHAIN, usd(1)).unwrap_err();
    assert_eq!(refused.scope, "project:p");
    assert_eq!(refused.resets_at_ms, Some(at(2025, 7, 1, 0)));
    // A total budget never resets: waiting will not help, and the refusal says so.
    ledger
        .set_budget(T0, "org:o", Budget::new(Period::Total).usd_micros(USD))
        .unwrap();
    assert!(ledger.set_spend(T0, "org:o", Period::Total, 0, usd(USD)));
    let refused = ledger.reserve(T0, "b", &CHAIN, usd(1)).unwrap_err();
    assert_eq!(
        (refused.scope.as_str(), refused.resets_at_ms),
        ("org:o", None)
    );
    assert_eq!(refused.retry_after_secs(T0), None);
    // A worst case above the limit itself can never pass, whatever else is full.
    let mut ledger = ledger_with(&[
        ("key:k", Budget::new(Period::Total).usd_micros(10 * USD)),
        ("org:o", daily_usd(5 * USD)),
    ]);
    let refused = ledger.reserve(T0, "c", &CHAIN, usd(6 * USD)).unwrap_err();
    assert!(refused.never);
    assert_eq!((refused.scope.as_str(), refused.limit), ("org:o", 5 * USD));
    assert_eq!(refused.retry_after_secs(T0), None);
}

#[test]
fn tokens_are_a_dimension_of_their_own() {
    let tokens = Budget::new(Period::Daily).tokens(1_000);
    let mut ledger = ledger_with(&[("key:k", tokens), ("org:o", daily_usd(USD))]);
    ledger.reserve(T0, "a", &CHAIN, Cost::new(10, 900)).unwrap();
    let refused = ledger
        .reserve(T0, "b", &CHAIN, Cost::new(10, 101))
        .unwrap_err();
    assert_eq!(
        (refused.dimension, refused.remaining),
        (Dimension::Tokens, 100)
    );
    assert!(ledger.reserve(T0, "b", &CHAIN, Cost::new(10, 100)).is_ok());
}

#[test]
fn a_zero_budget_refuses_any_cost_but_admits_a_free_request() {
    let mut ledger = ledger_with(&[("key:k", daily_usd(0))]);
    assert!(ledger.reserve(T0, "a", &CHAIN, usd(1)).unwrap_err().never);
    assert!(ledger.reserve(T0, "b", &CHAIN, Cost::new(0, 5_000)).is_ok());
}

#[test]
fn settle_replaces_the_hold_with_the_actual_cost_once() {
    let mut ledger = ledger_with(&[("project:p", daily_usd(10 * USD))]);
    let r = ledger.reserve(T0, "a", &CHAIN, usd(8 * USD)).unwrap();
    assert!(ledger.reserve(T0, "b", &CHAIN, usd(3 * USD)).is_err());
    assert_eq!(ledger.settle(T0 + MIN, r.id, usd(USD)), Settled::Counted);
    assert_eq!(ledger.settle(T0 + MIN, r.id, usd(USD)), Settled::NotHeld);
    assert_eq!(
        ledger.settle(T0 + MIN, r.id, usd(5 * USD)),
        Settled::NotHeld
    );
    assert!(!ledger.release(T0 + MIN, r.id));
    let s = current(&ledger, T0 + MIN, "project:p");
    assert_eq!((s.spent, s.reserved, s.open), (usd(USD), Cost::ZERO, 0));
    assert!(ledger.reserve(T0 + MIN, "b", &CHAIN, usd(9 * USD)).is_ok());
    assert_eq!(ledger.outstanding(), 1);
}

#[test]
fn an_actual_cost_above_the_worst_case_counts_in_full() {
    let mut ledger = ledger_with(&[("key:k", daily_usd(10 * USD))]);
    let r = ledger.reserve(T0, "a", &CHAIN, usd(USD)).unwrap();
    assert!(ledger.settle(T0, r.id, usd(12 * USD)).counted());
    let s = current(&ledger, T0, "key:k");
    assert_eq!(s.spent, usd(12 * USD));
    // Over the limit nothing passes, not even a free request.
    assert!(ledger.reserve(T0, "b", &CHAIN, Cost::ZERO).is_err());
    assert_eq!(
        ledger
            .reserve(T0, "c", &CHAIN, usd(1))
            .unwrap_err()
            .remaining,
        0
    );
    assert_eq!(ledger.remaining(T0, &CHAIN).usd.unwrap().remaining, 0);
}

#[test]
fn release_gives_the_hold_back_once() {
    let mut ledger = ledger_with(&[("key:k", daily_usd(10 * USD))]);
    let r = ledger.reserve(T0, "a", &CHAIN, usd(10 * USD)).unwrap();
    assert!(ledger.release(T0, r.id));
    assert!(!ledger.release(T0, r.id));
    assert_eq!(ledger.settle(T0, r.id, usd(USD)), Settled::NotHeld);
    assert_eq!(current(&ledger, T0, "key:k").used(), Cost::ZERO);
    assert!(!ledger.release(T0, 9_999));
}

impl Standing {
    fn used(&self) -> Cost {
        self.spent.saturating_add(self.reserved)
    }
}

#[test]
fn a_retried_reserve_with_the_same_request_id_holds_once() {
    let mut ledger = ledger_with(&[("key:k", daily_usd(10 * USD))]);
    let first = ledger.reserve(T0, "req_1", &CHAIN, usd(6 * USD)).unwrap();
    let again = ledger
        .reserve(T0 + 5, "req_1", &CHAIN, usd(6 * USD))
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(current(&ledger, T0, "key:k").reserved, usd(6 * USD));
    // Once it is settled the id is free again: a new request, a new hold.
    ledger.settle(T0, first.id, usd(USD));
    let third = ledger.reserve(T0, "req_1", &CHAIN, usd(6 * USD)).unwrap();
    assert_ne!(third.id, first.id);
}

#[test]
fn sibling_projects_race_for_the_instance_last_dollars() {
    // The instance has $10 left of $100; each project has room for far more.
    let mut ledger = ledger_with(&[
        ("instance:i", daily_usd(100 * USD)),
        ("project:a", daily_usd(60 * USD)),
        ("project:b", daily_usd(60 * USD)),
    ]);
    assert!(ledger.set_spend(T0, "instance:i", Period::Daily, T0, usd(90 * USD)));
    let a = ["key:a", "project:a", "instance:i", "org:o"];
    let b = ["key:b", "project:b", "instance:i", "org:o"];
    let mut admitted = Vec::new();
    for i in 0..50 {
        let chain = if i % 2 == 0 { &a } else { &b };
        // $0.75 worst case each: exactly 13 fit in $10 ($9.75).
        if let Ok(r) = ledger.reserve(T0, &format!("r{i}"), chain, usd(750_000)) {
            admitted.push((i, r));
        }
    }
    assert_eq!(admitted.len(), 13);
    assert_eq!(
        admitted.last().unwrap().0,
        12,
        "the first 13 in arrival order"
    );
    let instance = current(&ledger, T0, "instance:i");
    assert_eq!(instance.used(), usd(99_750_000));
    assert_eq!(current(&ledger, T0, "project:a").reserved, usd(7 * 750_000));
    assert_eq!(current(&ledger, T0, "project:b").reserved, usd(6 * 750_000));
    let refused = ledger.reserve(T0, "late", &b, usd(250_001)).unwrap_err();
    assert_eq!(
        (refused.scope.as_str(), refused.remaining),
        ("instance:i", 250_000)
    );
    // Settling below the worst case frees room for exactly what it did not use.
    for (_, r) in &admitted {
        ledger.settle(T0 + MIN, r.id, usd(500_000));
    }
    assert_eq!(current(&ledger, T0, "instance:i").spent, usd(96_500_000));
    assert!(ledger.reserve(T0 + MIN, "x", &a, usd(3_500_000)).is_ok());
    assert!(ledger.reserve(T0 + MIN, "y", &b, usd(1)).is_err());
}

#[test]
fn spend_resets_at_each_period_boundary() {
    let mut ledger = ledger_with(&[
        ("key:k", daily_usd(5 * USD)),
        (
            "project:p",
            Budget::new(Period::Weekly).usd_micros(12 * USD),
        ),
        (
            "instance:i",
            Budget::new(Period::Monthly).usd_micros(20 * USD),
        ),
        ("org:o", Budget::new(Period::Total).usd_micros(30 * USD)),
    ]);
    let spend = |ledger: &mut Ledger, now: u64, id: &str, cost: u64| {
        let r = ledger
            .reserve(now, id, &CHAIN, usd(cost))
            .map_err(|r| r.scope)?;
        ledger.settle(now, r.id, usd(cost));
        Ok::<(), String>(())
    };
    // Monday: the key's day is full.
    spend(&mut ledger, T0, "a", 5 * USD).unwrap();
    assert_eq!(
        spend(&mut ledger, at(2025, 6, 9, 23), "b", USD),
        Err("key:k".into())
    );
    // Tuesday: a new day; the week has $7 left.
    spend(&mut ledger, at(2025, 6, 10, 0), "c", 5 * USD).unwrap();
    spend(&mut ledger, at(2025, 6, 11, 0), "d", 2 * USD).unwrap();
    assert_eq!(
        spend(&mut ledger, at(2025, 6, 15, 23), "e", 1),
        Err("project:p".into())
    );
    // Monday 16th: a new week; the month has $8 left.
    spend(&mut ledger, at(2025, 6, 16, 0), "f", 5 * USD).unwrap();
    spend(&mut ledger, at(2025, 6, 17, 0), "g", 3 * USD).unwrap();
    assert_eq!(
        spend(&mut ledger, at(2025, 6, 30, 23), "h", 1),
        Err("instance:i".into())
    );
    // July: a new month, but the org's total never resets: $10 left for good.
    spend(&mut ledger, at(2025, 7, 1, 0), "i", 5 * USD).unwrap();
    spend(&mut ledger, at(2025, 7, 2, 0), "j", 5 * USD).unwrap();
    let refused = ledger
        .reserve(at(2026, 1, 1, 0), "k", &CHAIN, usd(1))
        .unwrap_err();
    assert_eq!(
        (refused.scope.as_str(), refused.resets_at_ms),
        ("org:o", None)
    );
}

#[test]
fn a_reservation_made_before_the_boundary_stays_in_its_period() {
    let mut ledger = ledger_with(&[("key:k", Budget::new(Period::Monthly).usd_micros(10 * USD))]);
    let eve = at(2025, 6, 30, 23) + 59 * MIN;
    let r = ledger.reserve(eve, "a", &CHAIN, usd(8 * USD)).unwrap();
    // July starts empty: the June hold takes no room in it.
    let july = at(2025, 7, 1, 0) + 2 * MIN;
    let full = ledger.reserve(july, "b", &CHAIN, usd(10 * USD)).unwrap();
    assert_eq!(ledger.settle(july, r.id, usd(9 * USD)), Settled::Counted);
    let standings = ledger.standings(july, "key:k");
    assert_eq!(
        standings.len(),
        1,
        "June closed once nothing can settle into it"
    );
    assert_eq!(standings[0].reserved, usd(10 * USD));
    ledger.release(july, full.id);
    assert_eq!(current(&ledger, july, "key:k").used(), Cost::ZERO);
}

#[test]
fn the_figures_of_a_closing_period_are_reported_until_it_closes() {
    let mut ledger = ledger_with(&[("key:k", daily_usd(10 * USD))]);
    let late = at(2025, 6, 9, 23) + 55 * MIN;
    let a = ledger.reserve(late, "a", &CHAIN, usd(4 * USD)).unwrap();
    let b = ledger.reserve(late, "b", &CHAIN, usd(4 * USD)).unwrap();
    let next = at(2025, 6, 10, 0) + 5 * MIN;
    ledger.settle(next, a.id, usd(3 * USD));
    let standings = ledger.standings(next, "key:k");
    assert_eq!(standings.len(), 2);
    assert_eq!(standings[1].period_start_ms, at(2025, 6, 9, 0));
    assert_eq!(standings[1].period_end_ms, Some(at(2025, 6, 10, 0)));
    assert_eq!(
        (standings[1].spent, standings[1].reserved, standings[1].open),
        (usd(3 * USD), usd(4 * USD), 1)
    );
    assert!(ledger.set_spend(next, "key:k", Period::Daily, late, usd(7 * USD)));
    ledger.settle(next, b.id, usd(USD));
    assert_eq!(ledger.standings(next, "key:k").len(), 1);
    assert!(!ledger.set_spend(next, "key:k", Period::Daily, late, usd(7 * USD)));
}

#[test]
fn an_expired_reservation_gives_its_hold_back_and_still_settles_late() {
    let mut ledger = ledger_with(&[("key:k", daily_usd(10 * USD))]);
    let r = ledger.reserve(T0, "lost", &CHAIN, usd(10 * USD)).unwrap();
    assert!(matches!(ledger.take_events()[..], [Event::Exhausted(_)]));
    assert!(ledger
        .reserve(T0 + DEFAULT_HOLD_MS - 1, "a", &CHAIN, usd(1))
        .is_err());
    let after = T0 + DEFAULT_HOLD_MS;
    let b = ledger.reserve(after, "b", &CHAIN, usd(6 * USD)).unwrap();
    assert_eq!(
        ledger.take_events(),
        vec![Event::Expired(Lapse {
            reservation_id: r.id,
            request_id: "lost".into(),
            reserved_at_ms: T0,
            worst_case: usd(10 * USD),
            at_ms: after,
        })]
    );
    assert_eq!((ledger.outstanding(), ledger.expired()), (1, 1));
    // The lost request did run: its cost counts in full, even past the limit.
    assert_eq!(
        ledger.settle(after, r.id, usd(7 * USD)),
        Settled::CountedLate
    );
    assert_eq!(ledger.settle(after, r.id, usd(7 * USD)), Settled::NotHeld);
    assert_eq!(current(&ledger, after, "key:k").used(), usd(13 * USD));
    ledger.release(after, b.id);
    assert_eq!(ledger.expired(), 0);
}

#[test]
fn a_late_settle_after_the_period_rolled_counts_in_the_period_it_was_made_in() {
    let mut ledger = ledger_with(&[("key:k", daily_usd(10 * USD))]);
    let eve = at(2025, 6, 9, 23) + 50 * MIN;
    let r = ledger.reserve(eve, "a", &CHAIN, usd(2 * USD)).unwrap();
    let next_day = at(2025, 6, 10, 20);
    assert!(ledger.reserve(next_day, "b", &CHAIN, usd(10 * USD)).is_ok());
    assert_eq!(ledger.expired(), 1);
    assert_eq!(ledger.standings(next_day, "key:k")[1].open, 1);
    assert_eq!(
        ledger.settle(next_day, r.id, usd(3 * USD)),
        Settled::CountedLate
    );
    let standings = ledger.standings(next_day, "key:k");
    assert_eq!(standings.len(), 1);
    assert_eq!(
        standings[0].used(),
        usd(10 * USD),
        "today is not charged for yesterday"
    );
}

#[test]
fn an_expired_reservation_is_forgotten_after_the_window_and_says_so() {
    let settings = Settings {
        hold_ms: 10 * MIN,
        settle_within_ms: 60 * MIN,
    };
    let mut ledger = Ledger::new(settings);
    ledger.set_budget(T0, "key:k", daily_usd(10 * USD)).unwrap();
    let r = ledger.reserve(T0, "a", &CHAIN, usd(USD)).unwrap();
    ledger.sweep(T0 + 10 * MIN);
    assert!(matches!(ledger.take_events()[..], [Event::Expired(_)]));
    ledger.sweep(T0 + 60 * MIN);
    match &ledger.take_events()[..] {
        [Event::Forgotten(lapse)] => {
            assert_eq!((lapse.reservation_id, lapse.at_ms), (r.id, T0 + 60 * MIN))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        ledger.settle(T0 + 60 * MIN, r.id, usd(USD)),
        Settled::NotHeld
    );
    assert_eq!(current(&ledger, T0 + 60 * MIN, "key:k").used(), Cost::ZERO);
}

#[test]
fn expired_reservations_are_capped() {
    let mut ledger = ledger_with(&[("key:k", Budget::new(Period::Total).tokens(u64::MAX))]);
    for i in 0..=MAX_EXPIRED {
        ledger
            .reserve(T0, &i.to_string(), &CHAIN, Cost::new(0, 1))
            .unwrap();
    }
    ledger.sweep(T0 + DEFAULT_HOLD_MS);
    assert_eq!(ledger.expired(), MAX_EXPIRED);
    let forgotten: Vec<u64> = ledger
        .take_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Forgotten(l) => Some(l.reservation_id),
            _ => None,
        })
        .collect();
    assert_eq!(forgotten.len(), 1);
    assert_eq!(
        ledger.settle(T0 + DEFAULT_HOLD_MS, forgotten[0], Cost::new(0, 1)),
        Settled::NotHeld
    );
    assert_eq!(current(&ledger, T0, "key:k").open, MAX_EXPIRED as u64);
}

#[test]
fn releasing_an_expired_reservation_closes_it() {
    let mut ledger = ledger_with(&[("key:k", daily_usd(10 * USD))]);
    let r = ledger.reserve(T0, "a", &CHAIN, usd(USD)).unwrap();
    assert!(!ledger.release(T0 + DEFAULT_HOLD_MS, r.id));
    assert_eq!(ledger.expired(), 0);
    assert_eq!(
        ledger.settle(T0 + DEFAULT_HOLD_MS, r.id, usd(USD)),
        Settled::NotHeld
    );
    assert_eq!(current(&ledger, T0, "key:k").open, 0);
}

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
