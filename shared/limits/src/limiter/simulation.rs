//! Randomised interleavings checked against a brute-force model that keeps every admitted
//! request. A Durable Object runs calls one at a time, so interleaving calls is what
//! concurrency looks like to the limiter.

use super::persistence::tests::Store;
use super::*;
use crate::{Limit, WINDOW_SECS};

const SCOPES: usize = 10;

/// Tiny LCG (Knuth's MMIX constants); high bits only, the low ones are weak.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

struct Event {
    id: u64,
    at_ms: u64,
    scopes: Vec<usize>,
    /// 1 for an admitted request; 0 for the tokens of a settlement that came after its request's window.
    requests: u64,
    tokens: u64,
    settled: bool,
}

/// Whether an event at `at_ms` counts at `now_ms`, restated from the definition.
fn counts(at_ms: u64, now_ms: u64) -> bool {
    now_ms / 1_000 < at_ms / 1_000 + WINDOW_SECS
}

#[derive(Default)]
struct Model {
    events: Vec<Event>,
}

impl Model {
    fn usage(&self, scope: usize, now_ms: u64) -> (u64, u64) {
        self.events
            .iter()
            .filter(|e| e.scopes.contains(&scope) && counts(e.at_ms, now_ms))
            .fold((0, 0), |(r, t), e| (r + e.requests, t + e.tokens))
    }

    fn fits(&self, now_ms: u64, checks: &[(usize, Limit)], tokens: u64) -> bool {
        checks.iter().all(|(scope, limit)| {
            let (r, t) = self.usage(*scope, now_ms);
            limit.requests_per_minute.is_none_or(|l| r < l)
                && limit.tokens_per_minute.is_none_or(|l| t + tokens <= l)
        })
    }

    /// The earliest instant, among those at which some event stops counting, when it fits.
    fn retry_after(&self, now_ms: u64, checks: &[(usize, Limit)], tokens: u64) -> u64 {
        let mut instants: Vec<u64> = self
            .events
            .iter()
            .filter(|e| counts(e.at_ms, now_ms))
            .map(|e| (e.at_ms / 1_000 + WINDOW_SECS) * 1_000)
            .collect();
        instants.sort_unstable();
        let at = instants
            .into_iter()
            .find(|t| self.fits(*t, checks, tokens))
            .expect("an empty window fits whatever can ever fit");
        at - now_ms
    }

    /// In its window a settlement replaces the reservation; later (within `SETTLE_WITHIN_MS`) what it
    /// used beyond the reservation counts from now on.
    fn settle(&mut self, now_ms: u64, id: u64, actual: u64) -> bool {
        let event = self
            .events
            .iter_mut()
            .find(|e| e.id == id && e.requests == 1)
            .unwrap();
        let applies = !event.settled && now_ms < event.at_ms + SETTLE_WITHIN_MS;
        event.settled = true;
        if !applies {
            return false;
        }
        if counts(event.at_ms, now_ms) {
            event.tokens = actual;
        } else if actual > event.tokens {
            let late = Event {
                id: u64::MAX,
                at_ms: now_ms,
                scopes: event.scopes.clone(),
                requests: 0,
                tokens: actual - event.tokens,
                settled: true,
            };
            self.events.push(late);
        }
        true
    }

    /// Requests (and, unless settles may exceed reservations, tokens) in every 60 s window.
    fn assert_within(&self, limits: &[Limit], check_tokens: bool) {
        for (scope, limit) in limits.iter().enumerate() {
            let mine: Vec<&Event> = self
                .events
                .iter()
                .filter(|e| e.scopes.contains(&scope))
                .collect();
            for end in &mine {
                let window = mine
                    .iter()
                    .filter(|e| e.at_ms <= end.at_ms && counts(e.at_ms, end.at_ms));
                let (r, t) = window.fold((0, 0), |(r, t), e| (r + e.requests, t + e.tokens));
                assert!(limit.requests_per_minute.is_none_or(|l| r <= l));
                assert!(!check_tokens || limit.tokens_per_minute.is_none_or(|l| t <= l));
            }
        }
    }
}

fn random_limit(rng: &mut Lcg) -> Limit {
    Limit {
        requests_per_minute: (!rng.chance(20)).then(|| 1 + rng.below(15)),
        tokens_per_minute: (!rng.chance(20)).then(|| 200 + rng.below(2_800)),
    }
}

struct Run {
    rng: Lcg,
    limiter: Limiter,
    model: Model,
    limits: Vec<Limit>,
    reservations: Vec<Reservation>,
    now_ms: u64,
    overrun: bool,
    /// Refused (waiting), refused (never), settles applied, settles ignored.
    seen: [u32; 4],
}

impl Run {
    fn admit(&mut self) {
        let n = 1 + self.rng.below(3);
        let picked: Vec<(usize, Limit)> = (0..n)
            .map(|_| self.rng.below(SCOPES as u64) as usize)
            .map(|s| (s, self.limits[s]))
            .collect();
        let tokens = if self.rng.chance(5) {
            self.rng.below(4_000)
        } else {
            self.rng.below(400)
        };
        let checks: Vec<Check> = picked
            .iter()
            .map(|(s, l)| Check::new(format!("s{s}"), *l))
            .collect();

        let never = picked.iter().any(|(_, l)| {
            l.requests_per_minute == Some(0) || l.tokens_per_minute.is_some_and(|t| tokens > t)
        });
        let fits = !never && self.model.fits(self.now_ms, &picked, tokens);
        let got = self.limiter.admit(self.now_ms, &checks, tokens, 0);
        assert_eq!(
            (got.admitted, got.never),
            (fits, never),
            "at {} ms",
            self.now_ms
        );
        self.seen[0] += u32::from(!fits && !never);
        self.seen[1] += u32::from(never);
        if !fits && !never {
            let retry = self.model.retry_after(self.now_ms, &picked, tokens);
            assert_eq!(got.retry_after_ms, retry);
        }
        if let Some(r) = got.reservation {
            self.remember(r, &picked, tokens);
        }
        self.check_quotas(&got.quotas, &picked);
    }

    fn remember(&mut self, r: Reservation, picked: &[(usize, Limit)], tokens: u64) {
        let mut scopes: Vec<usize> = picked.iter().map(|(s, _)| *s).collect();
        scopes.sort_unstable();
        scopes.dedup();
        let (id, at_ms) = (r.id, r.at_ms);
        self.model.events.push(Event {
            id,
            at_ms,
            scopes,
            requests: 1,
            tokens,
            settled: false,
        });
        self.reservations.push(r);
    }

    fn check_quotas(&self, quotas: &[crate::Quota], picked: &[(usize, Limit)]) {
        assert_eq!(quotas.len(), picked.len());
        for (quota, (scope, limit)) in quotas.iter().zip(picked) {
            let (r, t) = self.model.usage(*scope, self.now_ms);
            assert_eq!(
                quota.remaining_requests,
                limit.requests_per_minute.map(|l| l.saturating_sub(r))
            );
            assert_eq!(
                quota.remaining_tokens,
                limit.tokens_per_minute.map(|l| l.saturating_sub(t))
            );
        }
    }

    fn settle(&mut self) {
        if self.reservations.is_empty() {
            return;
        }
        let pick = self.rng.below(self.reservations.len() as u64) as usize;
        let r = self.reservations[pick].clone();
        let actual = self.rng.below(if self.overrun {
            2 * r.tokens + 1
        } else {
            r.tokens + 1
        });
        let expected = self.model.settle(self.now_ms, r.id, actual);
        assert_eq!(self.limiter.settle(self.now_ms, &r, actual), expected);
        self.seen[if expected { 2 } else { 3 }] += 1;
    }
}

fn simulate(seed: u64, overrun: bool) {
    let mut rng = Lcg(seed);
    let limits = (0..SCOPES).map(|_| random_limit(&mut rng)).collect();
    let mut run = Run {
        rng,
        limiter: Limiter::new(),
        model: Model::default(),
        limits,
        reservations: Vec::new(),
        now_ms: 1_700_000_000_000 + seed % 1_000,
        overrun,
        seen: [0; 4],
    };
    let mut store = Store::default();
    let mut admits = 0;
    while admits < 1_000 {
        if run.rng.chance(70) {
            run.now_ms += run.rng.below(700);
        }
        match run.rng.below(100) {
            0..=64 => {
                run.admit();
                admits += 1;
            }
            65..=94 => run.settle(),
            95..=96 => run.limiter.prune(run.now_ms),
            // What remains to save is not part of the value: save it before.
            97 => {
                store.save(&mut run.limiter);
                let json = serde_json::to_string(&run.limiter).unwrap();
                run.limiter = serde_json::from_str(&json).unwrap();
            }
            // A restart right after a save: the Durable Object comes back from what it stored.
            98 => {
                store.save(&mut run.limiter);
                run.limiter = store.load();
            }
            _ => store.save(&mut run.limiter),
        }
        assert!(run.limiter.scopes() <= SCOPES);
    }
    run.model.assert_within(&run.limits, !overrun);
    // Every path was exercised, so the equalities above were not vacuous.
    let admitted = run.model.events.len();
    assert!(
        admitted > 100 && run.seen.iter().all(|n| *n > 10),
        "seed {seed}: {admitted} {:?}",
        run.seen
    );
}

#[test]
fn interleaved_admits_match_the_brute_force_model() {
    for seed in [1, 42, 2_024, 0xDEAD_BEEF] {
        simulate(seed, false);
    }
}

#[test]
fn interleaved_admits_match_the_model_when_usage_overruns_reservations() {
    for seed in [7, 99, 31_337] {
        simulate(seed, true);
    }
}
