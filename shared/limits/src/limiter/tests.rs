use super::*;
use crate::Limit;

fn rpm(k: u64) -> Limit {
    Limit {
        requests_per_minute: Some(k),
        tokens_per_minute: None,
    }
}

fn tpm(t: u64) -> Limit {
    Limit {
        requests_per_minute: None,
        tokens_per_minute: Some(t),
    }
}

fn checks(list: &[(&str, Limit)]) -> Vec<Check> {
    list.iter().map(|(s, l)| Check::new(*s, *l)).collect()
}

#[test]
fn admits_k_then_refuses_until_the_oldest_bucket_leaves() {
    let mut limiter = Limiter::new();
    let c = checks(&[("key:a", rpm(3))]);
    let t = 10_250;
    for _ in 0..3 {
        assert!(limiter.admit(t, &c, 0, 0).admitted);
    }
    let refused = limiter.admit(t + 500, &c, 0, 0);
    assert!(!refused.admitted && !refused.never);
    assert_eq!(refused.retry_after_ms, 70_000 - (t + 500));
    assert_eq!(refused.reservation, None);
    let at = t + 500 + refused.retry_after_ms;
    assert!(!limiter.admit(at - 1, &c, 0, 0).admitted);
    assert!(limiter.admit(at, &c, 0, 0).admitted);
}

#[test]
fn the_window_slides_by_the_second() {
    let mut limiter = Limiter::new();
    let c = checks(&[("key:a", rpm(2))]);
    assert!(limiter.admit(0, &c, 0, 0).admitted);
    assert!(limiter.admit(59_000, &c, 0, 0).admitted);
    let refused = limiter.admit(59_999, &c, 0, 0);
    assert!(!refused.admitted);
    assert_eq!(refused.retry_after_ms, 1);
    // At 60 s the first second's request expires; the one from 59 s still counts.
    assert!(limiter.admit(60_000, &c, 0, 0).admitted);
    assert_eq!(limiter.admit(60_000, &c, 0, 0).retry_after_ms, 59_000);
}

#[test]
fn reserved_tokens_count_until_settled_lower() {
    let mut limiter = Limiter::new();
    let c = checks(&[("provider:p", tpm(1_000))]);
    let first = limiter.admit(0, &c, 800, 0).reservation.unwrap();
    let refused = limiter.admit(1_000, &c, 300, 0);
    assert_eq!((refused.admitted, refused.retry_after_ms), (false, 59_000));
    assert!(limiter.settle(2_000, &first, 100));
    let later = limiter.admit(2_000, &c, 300, 0);
    assert!(later.admitted);
    assert_eq!(later.quotas[0].remaining_tokens, Some(600));
}

#[test]
fn settling_above_the_reservation_is_counted() {
    let mut limiter = Limiter::new();
    let c = checks(&[("provider:p", tpm(1_000))]);
    let r = limiter.admit(0, &c, 100, 0).reservation.unwrap();
    assert!(limiter.settle(5_000, &r, 950));
    let refused = limiter.admit(6_000, &c, 100, 0);
    assert!(!refused.admitted);
    assert_eq!(refused.quotas[0].remaining_tokens, Some(50));
    assert_eq!(refused.retry_after_ms, 54_000);
}

#[test]
fn settling_twice_corrects_once() {
    let mut limiter = Limiter::new();
    let c = checks(&[("key:a", tpm(1_000)), ("provider:p", tpm(1_000))]);
    limiter.admit(0, &c, 200, 0);
    let r = limiter.admit(0, &c, 500, 0).reservation.unwrap();
    assert!(limiter.settle(1_000, &r, 100));
    assert!(!limiter.settle(1_000, &r, 100));
    assert!(!limiter.settle(1_000, &r, 0));
    let q = limiter.admit(1_000, &c, 0, 0).quotas;
    assert_eq!(q[0].remaining_tokens, Some(700));
    assert_eq!(q[1].remaining_tokens, Some(700));
    assert_eq!(limiter.outstanding(), 2);
}

#[test]
fn settling_after_the_window_counts_what_was_used_beyond_the_reservation() {
    let mut limiter = Limiter::new();
    let c = checks(&[("key:a", tpm(1_000))]);
    let old = limiter.admit(0, &c, 100, 0).reservation.unwrap();
    let short = limiter.admit(0, &c, 100, 0).reservation.unwrap();
    let fresh = limiter.admit(60_000, &c, 100, 0).reservation.unwrap();
    // A long stream that used 700 tokens settles 90 s after its admission: 600 beyond its reservation
    // count now, once.
    assert!(limiter.settle(90_000, &old, 700));
    assert!(!limiter.settle(90_000, &old, 700));
    // One that used less than it reserved changes nothing any more.
    assert!(limiter.settle(90_000, &short, 0));
    let q = &limiter.admit(90_000, &c, 0, 0).quotas[0];
    assert_eq!(q.remaining_tokens, Some(300));
    assert!(limiter.settle(90_000, &fresh, 0));
    // Even when the scope has been pruned meanwhile.
    let late = limiter.admit(100_000, &c, 50, 0).reservation.unwrap();
    limiter.prune(200_000);
    assert_eq!(limiter.scopes(), 0);
    assert!(limiter.settle(200_000, &late, 250));
    let q = &limiter.admit(200_000, &c, 0, 0).quotas[0];
    assert_eq!(q.remaining_tokens, Some(800));
    // Past SETTLE_WITHIN_MS a settlement is refused.
    assert!(!limiter.settle(100_000 + SETTLE_WITHIN_MS, &late, 999));
}

#[test]
fn a_refusal_retries_when_a_parked_grant_is_due_back() {
    let mut limiter = Limiter::new();
    let c = checks(&[("key:a", rpm(40))]);
    // The first request asks a grant: 40 - 1 = 39 remain, an eighth of them (4) is granted.
    let first = limiter.admit(10_200, &c, 0, 8);
    let grant = first.grant.expect("a grant");
    assert_eq!(grant.requests, 4);
    for _ in 0..35 {
        assert!(limiter.admit(10_300, &c, 0, 0).admitted);
    }
    // Full: the grant's holder gives its rest back when second 10 ends, 600 ms from now, not in 50 s.
    let refused = limiter.admit(10_400, &c, 0, 0);
    assert!(!refused.admitted);
    assert_eq!(refused.retry_after_ms, 600);
    let release = Release {
        id: grant.id,
        at_ms: grant.at_ms,
        scopes: grant.scopes.clone(),
        requests: grant.requests,
        tokens: 0,
    };
    assert!(limiter.release(11_000, &release));
    for _ in 0..4 {
        assert!(limiter.admit(11_000, &c, 0, 0).admitted);
    }
    // With nothing parked the wait is until the oldest bucket leaves.
    let refused = limiter.admit(11_000, &c, 0, 0);
    assert!(!refused.admitted);
    assert_eq!(refused.retry_after_ms, 59_000);
}

#[test]
fn a_forged_or_foreign_reservation_is_a_no_op() {
    let mut limiter = Limiter::new();
    let c = checks(&[("key:a", tpm(1_000))]);
    let mut r = limiter.admit(0, &c, 900, 0).reservation.unwrap();
    r.tokens = 10;
    assert!(!limiter.settle(0, &r, 0));
    r.tokens = 900;
    r.id = 7;
    assert!(!limiter.settle(0, &r, 0));
}

#[test]
fn refusal_in_one_scope_records_in_none() {
    let mut limiter = Limiter::new();
    let provider = ("provider:p", rpm(1));
    assert!(limiter.admit(0, &checks(&[provider]), 0, 0).admitted);
    let both = checks(&[("key:a", rpm(5)), provider]);
    let refused = limiter.admit(1_000, &both, 0, 0);
    assert!(!refused.admitted);
    assert_eq!(refused.quotas[0].remaining_requests, Some(5));
    assert_eq!(refused.quotas[1].remaining_requests, Some(0));
    assert_eq!(limiter.scopes(), 1);
    let admitted = limiter.admit(60_000, &both, 0, 0);
    assert!(admitted.admitted);
    assert_eq!(admitted.quotas[0].remaining_requests, Some(4));
}

#[test]
fn retry_after_is_the_longest_wait_among_failing_scopes() {
    let mut limiter = Limiter::new();
    limiter.admit(0, &checks(&[("a", rpm(1))]), 0, 0);
    limiter.admit(5_000, &checks(&[("b", rpm(1))]), 0, 0);
    let refused = limiter.admit(6_000, &checks(&[("a", rpm(1)), ("b", rpm(1))]), 0, 0);
    assert_eq!(refused.retry_after_ms, 59_000);
}

#[test]
fn never_when_tokens_exceed_the_minute() {
    let mut limiter = Limiter::new();
    let c = checks(&[("key:a", rpm(10)), ("provider:p", tpm(1_000))]);
    let a = limiter.admit(0, &c, 1_001, 0);
    assert!(!a.admitted && a.never);
    assert_eq!(a.retry_after_ms, 0);
    assert_eq!(limiter.scopes(), 0);
    assert!(limiter.admit(0, &c, 1_000, 0).admitted);
}

#[test]
fn a_scope_listed_twice_is_recorded_once_under_both_limits() {
    let mut limiter = Limiter::new();
    let c = checks(&[("key:a", rpm(5)), ("key:a", rpm(2))]);
    let r = limiter.admit(0, &c, 0, 0).reservation.unwrap();
    assert_eq!(r.scopes, vec!["key:a".to_string()]);
    assert!(limiter.admit(0, &c, 0, 0).admitted);
    assert!(!limiter.admit(0, &c, 0, 0).admitted);
}

#[test]
fn quotas_report_what_remains_after_the_call() {
    let mut limiter = Limiter::new();
    let limit = Limit {
        requests_per_minute: Some(10),
        tokens_per_minute: Some(1_000),
    };
    let c = checks(&[("key:a", limit), ("provider:p", rpm(3))]);
    limiter.admit(1_000, &c, 100, 0);
    let a = limiter.admit(30_500, &c, 50, 0);
    let t = a.tightest().unwrap();
    assert_eq!(t.scope, "provider:p");
    assert_eq!((t.limit_requests, t.remaining_requests), (Some(3), Some(1)));
    assert_eq!(
        (t.limit_tokens, t.remaining_tokens),
        (Some(1_000), Some(850))
    );
    assert_eq!((t.reset_requests_ms, t.reset_tokens_ms), (59_500, 59_500));
}

#[test]
fn a_clock_running_backwards_is_clamped() {
    let mut limiter = Limiter::new();
    let c = checks(&[("key:a", rpm(1))]);
    assert!(limiter.admit(100_000, &c, 0, 0).admitted);
    let refused = limiter.admit(0, &c, 0, 0);
    assert_eq!((refused.admitted, refused.retry_after_ms), (false, 60_000));
}

#[test]
fn prune_drops_idle_scopes_and_expired_reservations() {
    let mut limiter = Limiter::new();
    for i in 0..100u64 {
        let scope = format!("key:{i}");
        limiter.admit(i * 100, &checks(&[(&scope, rpm(1))]), 0, 0);
    }
    assert_eq!((limiter.scopes(), limiter.outstanding()), (100, 100));
    limiter.prune(60_000);
    assert_eq!(limiter.scopes(), 90);
    limiter.prune(69_999);
    assert_eq!((limiter.scopes(), limiter.outstanding()), (0, 100));
    limiter.prune(9_999 + SETTLE_WITHIN_MS);
    assert_eq!((limiter.scopes(), limiter.outstanding()), (0, 0));
    assert_eq!(
        limiter,
        Limiter {
            next_id: 100,
            clock_ms: 9_999 + SETTLE_WITHIN_MS,
            ..Limiter::new()
        }
    );
}

#[test]
fn outstanding_reservations_are_capped() {
    let mut limiter = Limiter::new();
    let c = checks(&[("key:a", Limit::default())]);
    let first = limiter.admit(0, &c, 5, 0).reservation.unwrap();
    for _ in 0..MAX_OUTSTANDING {
        limiter.admit(0, &c, 5, 0);
    }
    assert_eq!(limiter.outstanding(), MAX_OUTSTANDING);
    assert!(!limiter.settle(0, &first, 0));
}

#[test]
fn serde_round_trip_preserves_state() {
    let mut limiter = Limiter::new();
    let c = checks(&[("key:a", rpm(2)), ("provider:p", tpm(500))]);
    let r = limiter.admit(1_000, &c, 200, 0).reservation.unwrap();
    limiter.admit(2_000, &c, 100, 0);
    let json = serde_json::to_string(&limiter).unwrap();
    let mut restored: Limiter = serde_json::from_str(&json).unwrap();
    assert_eq!(restored, limiter);
    assert!(!restored.admit(3_000, &c, 0, 0).admitted);
    assert!(restored.settle(3_000, &r, 0));
    assert!(!restored.settle(3_000, &r, 0));
    let next = restored.admit(61_000, &c, 400, 0).reservation.unwrap();
    assert_eq!(next.id, 2);
    assert_eq!(
        serde_json::from_str::<Limiter>("{}").unwrap(),
        Limiter::new()
    );
}
