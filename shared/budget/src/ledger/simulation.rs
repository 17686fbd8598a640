//! Random interleavings of reserve, settle, release, clock jumps across period boundaries,
//! restarts and (in the chaos runs) budget changes and seeds, checked after every step against
//! the brute-force model in [`model`]. A Durable Object runs calls one at a time, so interleaving
//! calls is what concurrency looks like to the ledger.

use std::collections::{BTreeMap, BTreeSet};

use super::persistence::tests::Store;
use super::*;
use crate::period::days_from_civil;
use crate::{Budget, Period, DAY_MS};
use model::{replay, Logged, Op, HOLD_MS, WITHIN_MS};

mod calls;
mod check;
mod model;

const NAMES: [&str; 11] = [
    "org:o",
    "instance:a",
    "instance:b",
    "project:a1",
    "project:a2",
    "project:b1",
    "key:a1x",
    "key:a1y",
    "key:a2x",
    "key:b1x",
    "key:b1y",
];
/// Key → project → instance → org.
const CHAINS: [[usize; 4]; 5] = [
    [6, 3, 1, 0],
    [7, 3, 1, 0],
    [8, 4, 1, 0],
    [9, 5, 2, 0],
    [10, 5, 2, 0],
];
const USD: u64 = 1_000_000;

/// Tiny LCG (Knuth's MMIX constants); high bits only, the low ones are weak.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Soft,
    Exhausted,
}

struct Run {
    rng: Lcg,
    ledger: Ledger,
    store: Store,
    log: Vec<Logged>,
    /// The log folded up to its last entry.
    world: model::Replay,
    /// The simulated wall clock; calls may pass an instant behind it (a skewed caller).
    clock: u64,
    /// The latest instant passed to the ledger: what it judges by.
    at: u64,
    chaos: bool,
    emitted: BTreeSet<(usize, u64, Level)>,
    admitted: Vec<(u64, String)>,
    next_request: u64,
    seen: BTreeMap<&'static str, u32>,
}

fn settings() -> Settings {
    Settings {
        hold_ms: HOLD_MS,
        settle_within_ms: WITHIN_MS,
    }
}

impl Run {
    fn count(&mut self, what: &'static str) {
        *self.seen.entry(what).or_default() += 1;
    }

    fn random_budget(&mut self, scope: usize, period: Period) -> Budget {
        let level = match scope {
            0 => 5,
            1 | 2 => 3,
            3..=5 => 2,
            _ => 1,
        };
        let span = match period {
            Period::Daily => 1,
            Period::Weekly => 5,
            Period::Monthly => 30,
            Period::Total => 200,
        };
        let scale = level * span;
        let mut budget = Budget::new(period);
        if self.rng.chance(60) {
            budget.usd_micros = Some(if self.rng.chance(2) {
                0
            } else {
                scale * (USD + self.rng.below(14 * USD))
            });
        }
        if budget.usd_micros.is_none() || self.rng.chance(40) {
            budget.tokens = Some(scale * (1_000 + self.rng.below(29_000)));
        }
        if self.rng.chance(50) {
            budget.soft_percent = Some(50 + self.rng.below(51) as u8);
        }
        budget
    }

    /// Moves the clock on: mostly seconds, sometimes past a hold time, an hour or a midnight.
    fn advance(&mut self) {
        let step = match self.rng.below(100) {
            0..=79 => self.rng.below(20_000),
            80..=94 => 20_000 + self.rng.below(280_000),
            95..=98 => 600_000 + self.rng.below(3_000_000),
            // To a few minutes before the next midnight, to catch requests in flight across it.
            _ => {
                let midnight = Period::Daily.end_ms(self.clock).unwrap_or(self.clock);
                midnight.saturating_sub(self.clock + 1 + self.rng.below(300_000))
            }
        };
        self.clock += step;
    }

    /// The instant to pass (now and then a skewed one) and the one the ledger will use.
    fn instant(&mut self) -> u64 {
        let passed = if self.rng.chance(3) {
            self.clock.saturating_sub(self.rng.below(3_600_000))
        } else {
            self.clock
        };
        self.at = self.at.max(passed);
        passed
    }

    fn log(&mut self, op: Op) {
        let before = self.log.last().map_or(0, |l| l.at);
        self.log.push(Logged { at: self.at, op });
        let index = self.log.len() - 1;
        self.world.push(index, &self.log[index]);
        // The fold is replayed from the first entry now and then: the same world, every time.
        if index.is_multiple_of(250) {
            assert!(replay(&self.log) == self.world, "replay at {index}");
        }
        self.check(before);
    }

    fn step(&mut self) {
        self.advance();
        match self.rng.below(100) {
            0..=39 => self.reserve(),
            40..=69 => self.settle(),
            70..=79 => self.release(),
            80..=81 => {
                let passed = self.instant();
                self.ledger.sweep(passed);
                self.log(Op::Sweep);
            }
            82 => {
                self.store.save(&mut self.ledger);
                self.ledger = self.store.load(settings());
                self.count("restart");
            }
            // What remains to save is not part of the value: save it before.
            83 => {
                self.store.save(&mut self.ledger);
                let json = serde_json::to_string(&self.ledger).unwrap();
                self.ledger = serde_json::from_str(&json).unwrap();
            }
            84 => self.store.save(&mut self.ledger),
            _ if self.chaos => self.admin(),
            _ => self.reserve(),
        }
    }

    fn random_cost(&mut self) -> Cost {
        let usd = match self.rng.below(100) {
            0..=4 => 0,
            5..=9 => self.rng.below(30 * USD),
            _ => self.rng.below(2 * USD),
        };
        let tokens = match self.rng.below(100) {
            0..=4 => 0,
            5..=9 => self.rng.below(40_000),
            _ => self.rng.below(3_000),
        };
        Cost::new(usd, tokens)
    }
}

fn simulate(seed: u64, chaos: bool, steps: usize) {
    // Monday 2024-02-26, 20:00 UTC: the run crosses a leap day, a month end and several weeks.
    let start = u64::try_from(days_from_civil(2024, 2, 26)).unwrap() * DAY_MS + 20 * 3_600_000;
    let mut run = Run {
        rng: Lcg(seed),
        ledger: Ledger::new(settings()),
        store: Store::default(),
        log: Vec::new(),
        world: model::Replay::default(),
        clock: start,
        at: start,
        chaos,
        emitted: BTreeSet::new(),
        admitted: Vec::new(),
        next_request: 0,
        seen: BTreeMap::new(),
    };
    for (scope, name) in NAMES.iter().enumerate() {
        for period in Period::ALL {
            if run.rng.chance(30) {
                let budget = run.random_budget(scope, period);
                run.ledger.set_budget(start, name, budget).unwrap();
                run.log(Op::Budget { scope, budget });
            }
        }
    }
    for _ in 0..steps {
        run.step();
        assert!(run.ledger.expired() < MAX_EXPIRED);
    }
    let days = (run.clock - start) / DAY_MS;
    // Every path was exercised, so the equalities above were not vacuous.
    let mut needed = vec![
        "admitted",
        "refused",
        "duplicate",
        "counted",
        "counted late",
        "not held",
        "released",
        "not released",
        "restart",
        "soft event",
        "exhausted event",
        "expired event",
        "forgotten event",
    ];
    if chaos {
        needed.extend(["seeded", "not seeded"]);
    }
    for what in needed {
        let n = run.seen.get(what).copied().unwrap_or(0);
        assert!(n >= 10, "seed {seed}: {what} in {:?}", run.seen);
    }
    for what in ["admitted", "refused", "counted"] {
        assert!(
            run.seen[what] >= 150,
            "seed {seed}: {what} in {:?}",
            run.seen
        );
    }
    assert!(days >= 10, "seed {seed}: only {days} days");
}

#[test]
fn interleavings_match_the_brute_force_model_and_never_overspend() {
    for seed in [1, 42, 2_024, 0xDEAD_BEEF] {
        simulate(seed, false, 4_000);
    }
}

#[test]
fn interleavings_with_overruns_budget_changes_and_seeds_match_the_model() {
    for seed in [7, 99, 31_337, 0xC0FFEE] {
        simulate(seed, true, 4_000);
    }
}
