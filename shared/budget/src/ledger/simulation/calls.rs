//! The calls a host makes, each predicted by the model before the ledger answers.

use super::model::{judge, remaining, Op};
use super::{Run, CHAINS, NAMES, USD};
use crate::{Cost, Dimension, Period, Reservation, Settled, DAY_MS};

impl Run {
    pub(super) fn reserve(&mut self) {
        let mut chain = CHAINS[self.rng.below(CHAINS.len() as u64) as usize].to_vec();
        if self.rng.chance(5) {
            chain.push(chain[0]);
        }
        let mut worst = self.random_cost();
        let request = if self.rng.chance(7) && !self.admitted.is_empty() {
            // A retried call: usually of a request still held, else of any earlier one.
            let id = self.pick_id();
            let earlier = self.admitted.iter().find(|(i, _)| *i == id);
            earlier.map_or_else(|| "req_0".to_string(), |(_, r)| r.clone())
        } else {
            self.next_request += 1;
            format!("req_{}", self.next_request)
        };
        let passed = self.instant();
        let world = std::mem::take(&mut self.world);
        let index = self.log.len();
        if self.rng.chance(8) {
            // Exactly what is left (or one more): the boundary, and budgets filled to the brim.
            let figures = world.figures(index, self.at);
            for d in Dimension::ALL {
                if let Some(h) = remaining(&world, &figures, self.at, &chain, d) {
                    let amount = h.remaining + u64::from(self.rng.chance(30));
                    match d {
                        Dimension::Usd => worst.usd_micros = amount,
                        Dimension::Tokens => worst.tokens = amount,
                    }
                }
            }
        }
        let duplicate = world
            .reservations
            .iter()
            .find(|(_, r)| r.request == request && r.outstanding(index, self.at));
        let names: Vec<&str> = chain.iter().map(|s| NAMES[*s]).collect();
        let got = self.ledger.reserve(passed, &request, &names, worst);
        let mut id = None;
        if let Some((dup, r)) = duplicate {
            assert_eq!(
                got,
                Ok(Reservation {
                    id: *dup,
                    at_ms: r.at,
                    worst_case: r.worst
                })
            );
            self.count("duplicate");
        } else if let Some(refusal) = judge(
            &world,
            &world.figures(index, self.at),
            self.at,
            &chain,
            worst,
        ) {
            assert_eq!(got, Err(refusal), "at {}", self.at);
            self.count("refused");
        } else {
            let r = got.unwrap_or_else(|e| panic!("refused {e:?} at {}", self.at));
            assert_eq!((r.at_ms, r.worst_case), (self.at, worst));
            assert!(!world.reservations.contains_key(&r.id));
            id = Some(r.id);
            self.admitted.push((r.id, request.clone()));
            self.count("admitted");
        }
        self.world = world;
        self.log(Op::Reserve {
            request,
            chain,
            worst,
            id,
        });
    }

    /// Mostly a reservation the model holds (what a host settles), else any issued one (a
    /// repeat, a late or lost one) or one never issued.
    fn pick_id(&mut self) -> u64 {
        let held: Vec<u64> = self
            .world
            .reservations
            .iter()
            .filter(|(_, r)| r.outstanding(self.log.len(), self.at))
            .map(|(id, _)| *id)
            .collect();
        match self.rng.below(100) {
            0..=69 if !held.is_empty() => held[self.rng.below(held.len() as u64) as usize],
            70..=96 if !self.admitted.is_empty() => {
                self.admitted[self.rng.below(self.admitted.len() as u64) as usize].0
            }
            _ => u64::MAX - self.rng.below(10),
        }
    }

    pub(super) fn settle(&mut self) {
        let id = self.pick_id();
        let passed = self.instant();
        let world = std::mem::take(&mut self.world);
        let index = self.log.len();
        let res = world.reservations.get(&id);
        let outstanding = res.is_some_and(|r| r.outstanding(index, self.at));
        let expected = match res {
            Some(_) if outstanding => Settled::Counted,
            Some(r) if r.open(index, self.at) => Settled::CountedLate,
            _ => Settled::NotHeld,
        };
        let worst = res.map_or(Cost::new(USD, 1_000), |r| r.worst);
        let actual = if self.chaos {
            Cost::new(
                self.rng.below(2 * worst.usd_micros + 2),
                self.rng.below(2 * worst.tokens + 2),
            )
        } else if outstanding {
            Cost::new(
                self.rng.below(worst.usd_micros + 1),
                self.rng.below(worst.tokens + 1),
            )
        } else {
            Cost::ZERO
        };
        assert_eq!(
            self.ledger.settle(passed, id, actual),
            expected,
            "settle {id} at {}",
            self.at
        );
        self.count(match expected {
            Settled::Counted => "counted",
            Settled::CountedLate => "counted late",
            Settled::NotHeld => "not held",
        });
        self.world = world;
        self.log(Op::Settle { id, actual });
    }

    pub(super) fn release(&mut self) {
        let id = self.pick_id();
        let passed = self.instant();
        let world = std::mem::take(&mut self.world);
        let index = self.log.len();
        let expected = world
            .reservations
            .get(&id)
            .is_some_and(|r| r.outstanding(index, self.at));
        assert_eq!(self.ledger.release(passed, id), expected);
        self.count(if expected { "released" } else { "not released" });
        self.world = world;
        self.log(Op::Release { id });
    }

    /// Budget changes and seeds, as the admin API and a restart would make them.
    pub(super) fn admin(&mut self) {
        let scope = self.rng.below(NAMES.len() as u64) as usize;
        let period = Period::ALL[self.rng.below(4) as usize];
        let passed = self.instant();
        match self.rng.below(10) {
            0..=3 => {
                let budget = self.random_budget(scope, period);
                self.ledger
                    .set_budget(passed, NAMES[scope], budget)
                    .unwrap();
                self.log(Op::Budget { scope, budget });
            }
            4 => {
                let exists = self.world.accounts.contains_key(&(scope, period));
                assert_eq!(
                    self.ledger.remove_budget(passed, NAMES[scope], period),
                    exists
                );
                self.log(Op::Remove { scope, period });
            }
            _ => {
                let current = period.start_ms(self.at);
                let start = if self.rng.chance(50) {
                    current
                } else {
                    current.saturating_sub(1 + self.rng.below(DAY_MS))
                };
                let spent = self.random_cost();
                let got = self
                    .ledger
                    .set_spend(passed, NAMES[scope], period, start, spent);
                self.log(Op::Seed {
                    scope,
                    period,
                    start,
                    spent,
                });
                let effective = !self.world.touched.is_empty();
                assert_eq!(got, effective, "seed {scope} {period:?} {start}");
                self.count(if got { "seeded" } else { "not seeded" });
            }
        }
    }
}
