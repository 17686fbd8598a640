//! Reserve, settle and release: admission, idempotency and nested scopes.

use super::*;

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
