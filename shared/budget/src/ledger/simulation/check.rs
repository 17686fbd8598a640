//! What is compared with the model after every logged call.

use std::collections::BTreeMap;

use super::model::{self, lapses, reached, remaining, threshold, HOLD_MS, WITHIN_MS};
use super::{Level, Run, CHAINS, NAMES};
use crate::{Dimension, Event};

impl Run {
    /// After every logged call: events, figures, counts and headroom equal the model's.
    pub(super) fn check(&mut self, before: u64) {
        let world = std::mem::take(&mut self.world);
        let index = self.log.len();
        let now = self.at;
        let mut want: Vec<Event> = lapses(&world, index - 1, before, now, HOLD_MS)
            .into_iter()
            .map(Event::Expired)
            .collect();
        want.extend(
            lapses(&world, index - 1, before, now, WITHIN_MS)
                .into_iter()
                .map(Event::Forgotten),
        );
        let figures = world.figures(index, now);
        for (&(scope, period), &(serial, budget)) in &world.accounts {
            for (&(_, start), f) in figures.range((serial, 0)..=(serial, u64::MAX)) {
                let live = start == period.start_ms(now)
                    || f.open > 0
                    || world.touched.contains(&(serial, start));
                for level in [Level::Soft, Level::Exhausted] {
                    let limit = |d| match level {
                        Level::Soft => budget.soft_limit(d),
                        Level::Exhausted => budget.limit(d),
                    };
                    let used = f.spent.saturating_add(f.reserved);
                    let Some(hit) = reached(used, limit).filter(|_| live) else {
                        continue;
                    };
                    if self.emitted.insert((serial, start, level)) {
                        let t = threshold(NAMES[scope], &budget, start, hit, now);
                        want.push(match level {
                            Level::Soft => Event::SoftThreshold(t),
                            Level::Exhausted => Event::Exhausted(t),
                        });
                    }
                }
            }
        }
        let mut got = self.ledger.take_events();
        for e in &got {
            self.count(match e {
                Event::SoftThreshold(_) => "soft event",
                Event::Exhausted(_) => "exhausted event",
                Event::Expired(_) => "expired event",
                Event::Forgotten(_) => "forgotten event",
            });
        }
        let by_text = |a: &Event, b: &Event| format!("{a:?}").cmp(&format!("{b:?}"));
        got.sort_by(by_text);
        want.sort_by(by_text);
        assert_eq!(got, want, "events at {now}, step {index}");
        self.check_figures(&world, &figures, index, now);
        self.world = world;
    }

    /// Per scope and period, spend is the sum of what settled into it (and seeds), reservations
    /// the sum of what is held; within every budget when nothing can overrun it.
    fn check_figures(
        &mut self,
        world: &model::Replay,
        figures: &BTreeMap<(usize, u64), model::Figures>,
        index: usize,
        now: u64,
    ) {
        for (scope, name) in NAMES.iter().enumerate() {
            let got: Vec<_> = self
                .ledger
                .standings(now, name)
                .into_iter()
                .map(|s| (s.budget, s.period_start_ms, s.spent, s.reserved, s.open))
                .collect();
            let mut want = Vec::new();
            for (serial, budget) in world.accounts_of(scope) {
                let current = budget.period.start_ms(now);
                let f = figures.get(&(serial, current)).copied().unwrap_or_default();
                want.push((budget, current, f.spent, f.reserved, f.open));
                for (&(_, start), f) in figures.range((serial, 0)..(serial, current)) {
                    if f.open > 0 {
                        want.push((budget, start, f.spent, f.reserved, f.open));
                    }
                }
                if !self.chaos {
                    for d in Dimension::ALL {
                        let used = f.spent.saturating_add(f.reserved).get(d);
                        assert!(
                            budget.limit(d).is_none_or(|l| used <= l),
                            "{name} over budget"
                        );
                    }
                }
            }
            assert_eq!(got, want, "{name} at {now}, step {index}");
        }
        let outstanding = world
            .reservations
            .values()
            .filter(|r| r.outstanding(index, now))
            .count();
        let expired = world
            .reservations
            .values()
            .filter(|r| r.open(index, now))
            .count()
            - outstanding;
        assert_eq!(
            (self.ledger.outstanding(), self.ledger.expired()),
            (outstanding, expired)
        );
        let chain = CHAINS[self.rng.below(CHAINS.len() as u64) as usize];
        let got = self.ledger.remaining(now, &chain.map(|s| NAMES[s]));
        assert_eq!(
            got.usd,
            remaining(world, figures, now, &chain, Dimension::Usd)
        );
        assert_eq!(
            got.tokens,
            remaining(world, figures, now, &chain, Dimension::Tokens)
        );
    }
}
