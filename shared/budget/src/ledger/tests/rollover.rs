//! Period boundaries, expiry and late settles.

use super::*;

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
