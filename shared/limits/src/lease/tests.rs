//! A caller that holds grants must see exactly what a caller without them sees: the same admissions and
//! refusals, the same quotas and Retry-After, request by request, while the limiter is called far less.

use super::*;
use crate::{Limit, Limiter};

fn limit(rpm: Option<u64>, tpm: Option<u64>) -> Limit {
    Limit {
        requests_per_minute: rpm,
        tokens_per_minute: tpm,
    }
}

/// The caller's side as the text-gen worker runs it.
struct Holder {
    limiter: Limiter,
    leases: Leases,
    calls: u64,
}

const ASK: u64 = 64;

impl Holder {
    fn admit(&mut self, now_ms: u64, checks: &[Check], tokens: u64) -> Admission {
        let key = Leases::key(checks);
        if let Some(admission) = self.leases.admit(&key, now_ms, tokens) {
            return admission;
        }
        let scopes: Vec<&str> = checks.iter().map(|c| c.scope.as_str()).collect();
        for release in self.leases.releases(now_ms, &scopes) {
            self.limiter.release(now_ms, &release);
        }
        self.calls += 1;
        let admission = self.limiter.admit(now_ms, checks, tokens, ASK);
        if let Some(grant) = admission.grant.clone() {
            assert!(self
                .leases
                .hold(key, grant, admission.quotas.clone())
                .is_none());
        }
        admission
    }

    /// A batch of settles (the worker queues them and settles every few ms): into held grants where
    /// they can, the rest by the limiter after the releases of their scopes.
    fn settle(&mut self, now_ms: u64, batch: &[(Reservation, u64)]) -> Vec<bool> {
        let local: Vec<bool> = batch
            .iter()
            .map(|(r, actual)| self.leases.settle(r, *actual))
            .collect();
        let scopes: Vec<&str> = batch
            .iter()
            .zip(&local)
            .filter(|(_, done)| !**done)
            .flat_map(|((r, _), _)| r.scopes.iter().map(String::as_str))
            .collect();
        if !scopes.is_empty() {
            for release in self.leases.releases(now_ms, &scopes) {
                self.limiter.release(now_ms, &release);
            }
        }
        batch
            .iter()
            .zip(local)
            .map(|((r, actual), done)| done || self.limiter.settle(now_ms, r, *actual))
            .collect()
    }

    /// The release timer: grants of past seconds go back.
    fn tick(&mut self, now_ms: u64) {
        if self.leases.next_end_ms().is_some_and(|end| end <= now_ms) {
            for release in self.leases.releases(now_ms, &[]) {
                // False only for a grant that already left the window (a long pause).
                let released = self.limiter.release(now_ms, &release);
                assert!(released || now_ms / 1_000 >= release.at_ms / 1_000 + 60);
            }
        }
    }
}

struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn check_sets() -> Vec<Vec<Check>> {
    vec![
        vec![
            Check::new("key:a", limit(Some(300), Some(30_000))),
            Check::new("provider:p", limit(Some(500), None)),
        ],
        vec![
            Check::new("key:b", limit(Some(40), None)),
            Check::new("provider:p", limit(Some(500), None)),
        ],
        vec![Check::new("key:c", limit(None, Some(5_000)))],
        vec![
            Check::new("key:a", limit(Some(300), Some(30_000))),
            Check::new("provider:q", limit(None, Some(20_000))),
        ],
        vec![Check::new("key:d", limit(Some(10), None))],
    ]
}

/// Random admissions and settles (`settle_percent` of the steps) over `sets`, a step every
/// `max_gap_ms` at most, with an occasional long pause; every answer compared with the reference.
fn run(
    sets: &[Vec<Check>],
    seed: u64,
    steps: usize,
    max_gap_ms: u64,
    settle_percent: u64,
    in_order: bool,
    flush_every_ms: u64,
) -> (u64, u64) {
    let mut rng = Lcg(seed);
    let mut reference = Limiter::new();
    let mut holder = Holder {
        limiter: Limiter::new(),
        leases: Leases::default(),
        calls: 0,
    };
    let mut pending: Vec<(Reservation, Reservation)> = Vec::new();
    let mut queued: Vec<(Reservation, Reservation, u64)> = Vec::new();
    let mut flushed_at = 0;
    let mut now = 1_000_000_000;
    let mut admitted = 0;
    for step in 0..steps {
        now += rng.below(max_gap_ms);
        if rng.below(200) == 0 {
            now += rng.below(70_000);
        }
        holder.tick(now);
        if now >= flushed_at + flush_every_ms && !queued.is_empty() {
            let batch: Vec<_> = queued.iter().map(|(_, h, a)| (h.clone(), *a)).collect();
            let got = holder.settle(now, &batch);
            // Both false only once the reservation left the window.
            let want: Vec<bool> = queued
                .iter()
                .map(|(r, _, a)| reference.settle(now, r, *a))
                .collect();
            assert_eq!(got, want, "settles at {now}");
            queued.clear();
            flushed_at = now;
        }
        if !pending.is_empty() && rng.below(100) < settle_percent {
            // In order and within the reservation (as a completion within max_tokens), or anything.
            let (r, h) = if in_order {
                pending.remove(0)
            } else {
                pending.swap_remove(rng.below(pending.len() as u64) as usize)
            };
            let actual = rng.below(if in_order {
                r.tokens + 1
            } else {
                2 * r.tokens + 1
            });
            queued.push((r, h, actual));
            continue;
        }
        let checks = &sets[rng.below(sets.len() as u64) as usize];
        let tokens = 1 + rng.below(200);
        let want = reference.admit(now, checks, tokens, 0);
        let got = holder.admit(now, checks, tokens);
        assert_eq!(
            (got.admitted, got.never, got.retry_after_ms),
            (want.admitted, want.never, want.retry_after_ms),
            "step {step} at {now}: {checks:?}"
        );
        assert_eq!(got.quotas, want.quotas, "step {step} at {now}");
        if let (Some(r), Some(h)) = (want.reservation, got.reservation) {
            assert_eq!(h.tokens, tokens);
            admitted += 1;
            pending.push((r, h));
        }
    }
    (admitted, holder.calls)
}

#[test]
fn a_holder_sees_what_the_limiter_alone_decides() {
    for seed in 0..40 {
        let (admitted, _) = run(&check_sets(), seed, 4_000, 40, 35, false, 0);
        assert!(admitted > 1_000, "seed {seed}: only {admitted} admitted");
    }
}

#[test]
fn batched_settles_are_decided_the_same() {
    for seed in 50..70 {
        run(&check_sets(), seed, 4_000, 40, 35, false, 50);
        run(&check_sets(), seed, 4_000, 40, 35, true, 50);
    }
}

#[test]
fn sparse_traffic_is_decided_the_same() {
    for seed in 100..120 {
        run(&check_sets(), seed, 2_000, 3_000, 35, false, 0);
    }
}

#[test]
fn under_load_far_from_the_limits_the_limiter_is_rarely_called() {
    let sets = vec![vec![
        Check::new("key:a", limit(Some(1_000_000), Some(100_000_000))),
        Check::new("provider:p", limit(Some(2_000_000), None)),
    ]];
    for seed in 200..210 {
        // ~1 ms apart (a thousand requests a second), settled in order within their reservations,
        // in batches every 50 ms as the worker does.
        let (admitted, calls) = run(&sets, seed, 20_000, 2, 33, true, 50);
        assert!(admitted > 13_000, "seed {seed}: {admitted}");
        assert!(
            calls * 10 < admitted,
            "seed {seed}: {calls} calls for {admitted} admissions"
        );
    }
}

#[test]
fn no_grant_near_a_limit() {
    let mut limiter = Limiter::new();
    let c = vec![Check::new("key:a", limit(Some(10), None))];
    let a = limiter.admit(0, &c, 1, ASK);
    assert!(a.admitted);
    assert_eq!(a.grant, None, "9 left: an eighth of it is below a grant");
    let c = vec![Check::new("key:a", limit(Some(1_000), Some(10_000)))];
    let a = limiter.admit(0, &c, 100, ASK);
    // tokens bind: (10_000 - 100) / 8 / 100 = 12 requests' worth
    assert_eq!(a.grant.map(|g| (g.requests, g.tokens)), Some((12, 1_200)));
}

#[test]
fn a_release_is_bounded_and_happens_once() {
    let mut limiter = Limiter::new();
    let c = vec![Check::new("key:a", limit(Some(1_000), None))];
    let a = limiter.admit(0, &c, 5, 100);
    let g = a.grant.unwrap();
    assert_eq!(g.requests, 100);
    // As the caller reports it: the grant is the caller's to use.
    assert_eq!(a.quotas[0].remaining_requests, Some(1_000 - 1));
    let inflated = Release {
        id: g.id,
        at_ms: g.at_ms,
        scopes: g.scopes.clone(),
        requests: 10_000,
        tokens: 10_000,
    };
    assert!(limiter.release(10, &inflated));
    assert!(!limiter.release(10, &inflated), "a grant is released once");
    let after = limiter.admit(20, &c, 5, 0);
    assert_eq!(after.quotas[0].remaining_requests, Some(1_000 - 2));
}

#[test]
fn leased_admissions_stop_at_the_end_of_the_second() {
    let mut leases = Leases::default();
    let mut limiter = Limiter::new();
    let c = vec![Check::new("key:a", limit(Some(1_000), None))];
    let a = limiter.admit(1_500, &c, 1, 10);
    let key = Leases::key(&c);
    assert!(leases
        .hold(key.clone(), a.grant.unwrap(), a.quotas)
        .is_none());
    assert_eq!(leases.next_end_ms(), Some(2_000));
    let local = leases.admit(&key, 1_999, 1).unwrap();
    assert_eq!(local.quotas[0].remaining_requests, Some(1_000 - 2));
    assert!(leases.admit(&key, 2_000, 1).is_none());
    let released = leases.releases(2_000, &[]);
    assert_eq!(released.len(), 1);
    assert_eq!(released[0].requests, 9);
    assert!(leases.is_empty());
}

#[test]
fn the_key_changes_with_the_limits() {
    let a = vec![Check::new("key:a", limit(Some(10), None))];
    let b = vec![Check::new("key:a", limit(Some(11), None))];
    assert_ne!(Leases::key(&a), Leases::key(&b));
}
