//! The gate's rules, call by call: who waits, what a call carries, when an answer is stale, and that
//! a lost call or a dead timer cannot stop an isolate from admitting.

use super::*;
use crate::{Check, Limit, Limiter};

fn checks(scope: &str, rpm: u64) -> Vec<Check> {
    vec![Check {
        scope: scope.to_string(),
        limit: Limit {
            requests_per_minute: Some(rpm),
            tokens_per_minute: None,
        },
    }]
}

fn go<T: std::fmt::Debug>(step: Step<T>) -> Pass {
    match step {
        Step::Go(pass) => pass,
        other => panic!("expected a call, got {other:?}"),
    }
}

/// One admission through the object, as the shell makes it (asking a grant when `pass.ask`).
fn call(limiter: &mut Limiter, now: u64, pass: &Pass, c: &[Check]) -> Admission {
    for release in &pass.releases {
        limiter.release(now, release);
    }
    limiter.admit(now, c, 0, if pass.ask { 64 } else { 0 })
}

#[test]
fn a_grant_answers_locally_until_its_second_ends() {
    let (mut gate, mut limiter) = (Gate::default(), Limiter::new());
    let c = checks("key:a", 1_000);
    let key = Leases::key(&c);
    let pass = go(gate.begin(5_100, &["key:a"], true, true, |l, now| {
        l.admit(&key, now, 0)
    }));
    assert!(pass.ask);
    let admission = call(&mut limiter, 5_100, &pass, &c);
    assert!(!gate.land(&pass, &key, &["key:a"], &admission));
    assert!(gate.holds_grants());
    let local = gate.begin(5_200, &["key:a"], true, true, |l, now| {
        l.admit(&key, now, 0)
    });
    assert!(matches!(local, Step::Done(a) if a.admitted));
    // The next second: the grant is due back, and the next call carries its release.
    let pass = go(gate.begin(6_000, &["key:a"], true, true, |l, now| {
        l.admit(&key, now, 0)
    }));
    assert_eq!(pass.releases.len(), 1);
    assert_eq!(
        pass.releases[0].requests,
        admission.grant.unwrap().requests - 1
    );
}

#[test]
fn a_moving_call_holds_the_others_until_it_lands_or_patience_ends() {
    let mut gate = Gate::default();
    let none = |_: &mut Leases, _| None::<()>;
    let asking = go(gate.begin(0, &["key:a"], true, true, none));
    assert!(asking.ask);
    assert!(matches!(
        gate.begin(1, &["key:b"], true, true, none),
        Step::Wait
    ));
    // An impatient call goes, without asking a grant (another call is in flight).
    let impatient = go(gate.begin(2_001, &["key:b"], true, false, none));
    assert!(!impatient.ask);
    gate.end(asking.ticket);
    gate.end(impatient.ticket);
    assert!(go(gate.begin(2_002, &["key:b"], true, true, none)).ask);
}

#[test]
fn a_call_lost_with_its_request_stops_counting_as_in_flight() {
    let mut gate = Gate::default();
    let none = |_: &mut Leases, _| None::<()>;
    // A request that asked a grant and was never heard of again (its future was dropped).
    let lost = go(gate.begin(10_000, &["key:a"], true, true, none));
    assert!(lost.ask);
    assert_eq!(gate.in_flight(10_000), 1);
    assert!(matches!(
        gate.begin(12_000, &["key:a"], true, true, none),
        Step::Wait
    ));
    // Once it is presumed lost the isolate asks again, and may ask grants again.
    assert_eq!(gate.in_flight(10_000 + CALL_LOST_MS), 0);
    let next = go(gate.begin(10_000 + CALL_LOST_MS, &["key:a"], true, true, none));
    assert!(next.ask);
    // If the lost call does come back late, its end changes nothing.
    gate.end(lost.ticket);
    assert_eq!(gate.in_flight(10_000 + CALL_LOST_MS), 1);
}

#[test]
fn a_refusal_judged_while_grants_moved_is_stale() {
    let (mut gate, mut limiter) = (Gate::default(), Limiter::new());
    let c = checks("key:a", 1_000);
    let key = Leases::key(&c);
    let none = |_: &mut Leases, _| None::<Admission>;
    // A plain call leaves (not asking: another is in flight), then a grant lands before it is back.
    let asking = go(gate.begin(0, &["key:b"], true, true, none));
    gate.end(asking.ticket);
    let plain = go(gate.begin(0, &["key:a"], false, true, none));
    let other = checks("key:b", 1_000);
    let grant_pass = Pass {
        ticket: 99,
        releases: Vec::new(),
        ask: true,
        seen: 0,
    };
    let granted = call(&mut limiter, 0, &grant_pass, &other);
    gate.land(&grant_pass, &Leases::key(&other), &["key:b"], &granted);
    let refused = Admission {
        admitted: false,
        never: false,
        retry_after_ms: 1_000,
        reservation: None,
        quotas: Vec::new(),
        grant: None,
    };
    assert!(gate.land(&plain, &key, &["key:a"], &refused));
    // Judged with nothing moving: final.
    let quiet = go(gate.begin(0, &["key:c"], false, true, none));
    assert!(!gate.land(&quiet, &key, &["key:c"], &refused));
}

#[test]
fn a_timer_that_died_is_replaced_and_an_old_one_stops() {
    let mut timer = Timer::default();
    assert!(timer.claim(0));
    let first = timer.generation();
    assert!(!timer.claim(500));
    assert!(timer.beat(first, 1_001));
    assert!(!timer.claim(2_000));
    // It never woke again (cut by the host): after the slack a new one starts.
    assert!(timer.claim(1_001 + TIMER_SLACK_MS));
    let second = timer.generation();
    assert_ne!(first, second);
    // The old one, should it wake after all, learns it was replaced.
    assert!(!timer.beat(first, 4_000));
    assert!(timer.retiring(first, 4_000));
    timer.stop(first);
    assert!(
        !timer.claim(3_500),
        "stopping an old run does not stop the current one"
    );
    // The current one retires after its lifetime, and a stopped timer is claimed again at once.
    assert!(!timer.retiring(second, 3_001 + TIMER_LIFETIME_MS - 1));
    assert!(timer.retiring(second, 3_001 + TIMER_LIFETIME_MS));
    timer.stop(second);
    assert!(timer.claim(3_001 + TIMER_LIFETIME_MS));
}
