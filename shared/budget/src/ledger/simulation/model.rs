//! The brute-force model: the full log of operations, folded entry by entry with every rule
//! restated in its plainest form, keeping only what the entries say (budgets, every reservation
//! ever made and how it ended, settled sums). Every figure a question needs (what is held, what
//! is open, what fits, what expired) is recomputed from that whole history when it is asked; the
//! driver also replays the fold from the first entry now and then and checks it comes out equal.

use std::collections::BTreeMap;

use crate::{Budget, Cost, Dimension, Headroom, Lapse, Period, Refusal, Threshold};

pub(super) const HOLD_MS: u64 = 20 * 60_000;
pub(super) const WITHIN_MS: u64 = 3 * 3_600_000;

pub(super) enum Op {
    Budget {
        scope: usize,
        budget: Budget,
    },
    Remove {
        scope: usize,
        period: Period,
    },
    Seed {
        scope: usize,
        period: Period,
        start: u64,
        spent: Cost,
    },
    /// `id` is the new reservation admitted, if one was.
    Reserve {
        request: String,
        chain: Vec<usize>,
        worst: Cost,
        id: Option<u64>,
    },
    Settle {
        id: u64,
        actual: Cost,
    },
    Release {
        id: u64,
    },
    Sweep,
}

pub(super) struct Logged {
    pub(super) at: u64,
    pub(super) op: Op,
}

#[derive(PartialEq)]
pub(super) struct Res {
    pub(super) index: usize,
    pub(super) at: u64,
    pub(super) request: String,
    pub(super) chain: Vec<usize>,
    pub(super) worst: Cost,
    /// Budgets (by serial) on its chain when it was made.
    pub(super) serials: Vec<usize>,
    /// The log index of the settle or release that ended it.
    pub(super) end: Option<usize>,
}

impl Res {
    fn ended_before(&self, index: usize) -> bool {
        self.end.is_some_and(|e| e < index)
    }

    pub(super) fn outstanding(&self, index: usize, now: u64) -> bool {
        !self.ended_before(index) && now < self.at + HOLD_MS
    }

    /// May still settle: neither ended nor forgotten.
    pub(super) fn open(&self, index: usize, now: u64) -> bool {
        !self.ended_before(index) && now < self.at + WITHIN_MS
    }
}

#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(super) struct Figures {
    pub(super) spent: Cost,
    pub(super) reserved: Cost,
    pub(super) open: u64,
}

/// The world after some prefix of the log: a plain fold of its entries. Only what the entries
/// say is kept (budgets, reservations, settled sums); every figure is recomputed from it.
#[derive(Default, PartialEq)]
pub(super) struct Replay {
    /// (scope, period) → (serial, budget). A serial is the log index of the budget's creation.
    pub(super) accounts: BTreeMap<(usize, Period), (usize, Budget)>,
    periods: BTreeMap<usize, Period>,
    pub(super) reservations: BTreeMap<u64, Box<Res>>,
    /// Ids of the reservations made in each (serial, period start) held there.
    made_in: BTreeMap<(usize, u64), Vec<u64>>,
    spent: BTreeMap<(usize, u64), Cost>,
    /// (serial, period start) whose spend the last entry changed.
    pub(super) touched: Vec<(usize, u64)>,
    /// Entries replayed.
    pub(super) len: usize,
}

pub(super) fn replay(log: &[Logged]) -> Replay {
    let mut world = Replay::default();
    for (index, entry) in log.iter().enumerate() {
        world.push(index, entry);
    }
    world
}

impl Replay {
    pub(super) fn push(&mut self, index: usize, entry: &Logged) {
        self.touched.clear();
        self.apply(index, entry);
        self.len = index + 1;
    }

    fn apply(&mut self, index: usize, entry: &Logged) {
        let now = entry.at;
        match &entry.op {
            Op::Budget { scope, budget } => {
                let slot = self
                    .accounts
                    .entry((*scope, budget.period))
                    .or_insert((index, *budget));
                slot.1 = *budget;
                self.periods.insert(slot.0, budget.period);
            }
            Op::Remove { scope, period } => {
                self.accounts.remove(&(*scope, *period));
            }
            Op::Seed {
                scope,
                period,
                start,
                spent,
            } => {
                if let Some(&(serial, _)) = self.accounts.get(&(*scope, *period)) {
                    let start = period.start_ms(*start);
                    if self.tracked(index, now, serial, start) {
                        self.spent.insert((serial, start), *spent);
                        self.touched.push((serial, start));
                    }
                }
            }
            Op::Reserve {
                request,
                chain,
                worst,
                id: Some(id),
            } => {
                let chain = distinct(chain);
                let serials = chain
                    .iter()
                    .flat_map(|s| self.accounts_of(*s).map(|(serial, _)| serial))
                    .collect();
                let res = Res {
                    index,
                    at: now,
                    request: request.clone(),
                    chain,
                    worst: *worst,
                    serials,
                    end: None,
                };
                for serial in &res.serials {
                    if let Some(period) = self.periods.get(serial) {
                        let key = (*serial, period.start_ms(now));
                        self.made_in.entry(key).or_default().push(*id);
                    }
                }
                self.reservations.insert(*id, Box::new(res));
            }
            Op::Reserve { id: None, .. } | Op::Sweep => {}
            Op::Settle { id, actual } => self.settle(index, now, *id, *actual),
            Op::Release { id } => {
                if let Some(res) = self.reservations.get_mut(id) {
                    if res.open(index, now) {
                        res.end = Some(index);
                    }
                }
            }
        }
    }

    /// A settle counts at every budget now on the chain that held the reservation, or whose
    /// current period holds the instant it was made.
    fn settle(&mut self, index: usize, now: u64, id: u64, actual: Cost) {
        let Some(res) = self.reservations.get_mut(&id) else {
            return;
        };
        if !res.open(index, now) {
            return;
        }
        res.end = Some(index);
        let (at, chain, serials) = (res.at, res.chain.clone(), res.serials.clone());
        for scope in chain {
            let accounts: Vec<(usize, Budget)> = self.accounts_of(scope).collect();
            for (serial, budget) in accounts {
                let start = budget.period.start_ms(at);
                if serials.contains(&serial) || start == budget.period.start_ms(now) {
                    let spent = self.spent.entry((serial, start)).or_default();
                    *spent = spent.saturating_add(actual);
                    self.touched.push((serial, start));
                }
            }
        }
    }

    /// The scope's budgets, by period.
    pub(super) fn accounts_of(&self, scope: usize) -> impl Iterator<Item = (usize, Budget)> + '_ {
        Period::ALL
            .into_iter()
            .filter_map(move |p| self.accounts.get(&(scope, p)).copied())
    }

    /// A period a budget still keeps figures for: the current one, or one a reservation made in
    /// it may still settle into.
    fn tracked(&self, index: usize, now: u64, serial: usize, start: u64) -> bool {
        let Some(period) = self.periods.get(&serial) else {
            return false;
        };
        start == period.start_ms(now)
            || self.made_in.get(&(serial, start)).is_some_and(|ids| {
                ids.iter().any(|id| {
                    self.reservations
                        .get(id)
                        .is_some_and(|r| r.open(index, now))
                })
            })
    }

    /// Every (serial, period start) with figures, as they stand at `now` before entry `index`.
    pub(super) fn figures(&self, index: usize, now: u64) -> BTreeMap<(usize, u64), Figures> {
        let mut figures: BTreeMap<(usize, u64), Figures> = self
            .spent
            .iter()
            .map(|(k, spent)| {
                (
                    *k,
                    Figures {
                        spent: *spent,
                        ..Figures::default()
                    },
                )
            })
            .collect();
        for r in self.reservations.values().filter(|r| r.open(index, now)) {
            for serial in &r.serials {
                let Some(period) = self.periods.get(serial) else {
                    continue;
                };
                let f = figures.entry((*serial, period.start_ms(r.at))).or_default();
                if r.outstanding(index, now) {
                    f.reserved = f.reserved.saturating_add(r.worst);
                }
                if r.open(index, now) {
                    f.open += 1;
                }
            }
        }
        figures
    }
}

pub(super) fn distinct(chain: &[usize]) -> Vec<usize> {
    let mut out = Vec::new();
    for s in chain {
        if !out.contains(s) {
            out.push(*s);
        }
    }
    out
}

pub(super) fn used(figures: &BTreeMap<(usize, u64), Figures>, serial: usize, start: u64) -> Cost {
    figures
        .get(&(serial, start))
        .map_or(Cost::ZERO, |f| f.spent.saturating_add(f.reserved))
}

/// The refusal for `worst` on `chain` now, restated: every budget in every dimension, the
/// hopeless first, then the latest reset, then the first in order.
pub(super) fn judge(
    world: &Replay,
    figures: &BTreeMap<(usize, u64), Figures>,
    now: u64,
    chain: &[usize],
    worst: Cost,
) -> Option<Refusal> {
    let mut failing = Vec::new();
    for scope in distinct(chain) {
        for (serial, budget) in world.accounts_of(scope) {
            let used = used(figures, serial, budget.period.start_ms(now));
            for d in Dimension::ALL {
                let Some(limit) = budget.limit(d) else {
                    continue;
                };
                if u128::from(used.get(d)) + u128::from(worst.get(d)) > u128::from(limit) {
                    failing.push(Refusal {
                        scope: super::NAMES[scope].to_string(),
                        period: budget.period,
                        dimension: d,
                        limit,
                        remaining: limit.saturating_sub(used.get(d)),
                        resets_at_ms: budget.period.end_ms(now),
                        never: worst.get(d) > limit,
                    });
                }
            }
        }
    }
    let key = |r: &Refusal| (r.never, r.resets_at_ms.map_or(u128::MAX, u128::from));
    let best = failing.iter().map(key).max()?;
    failing.into_iter().find(|r| key(r) == best)
}

/// Per dimension the least remaining on the chain; ties: the later reset, then the first.
pub(super) fn remaining(
    world: &Replay,
    figures: &BTreeMap<(usize, u64), Figures>,
    now: u64,
    chain: &[usize],
    d: Dimension,
) -> Option<Headroom> {
    let mut all = Vec::new();
    for scope in distinct(chain) {
        for (serial, budget) in world.accounts_of(scope) {
            let Some(limit) = budget.limit(d) else {
                continue;
            };
            let used = used(figures, serial, budget.period.start_ms(now)).get(d);
            all.push(Headroom {
                scope: super::NAMES[scope].to_string(),
                period: budget.period,
                limit,
                remaining: limit.saturating_sub(used),
                resets_at_ms: budget.period.end_ms(now),
            });
        }
    }
    let key = |h: &Headroom| {
        (
            h.remaining,
            u128::MAX - h.resets_at_ms.map_or(u128::MAX, u128::from),
        )
    };
    let best = all.iter().map(key).min()?;
    all.into_iter().find(|h| key(h) == best)
}

/// The lapses the entry at `index` (at `now`, after one at `before`) raises, restated from the
/// definitions: a reservation not ended before it whose hold time (or settle window) passed
/// between the two entries.
pub(super) fn lapses(
    world: &Replay,
    index: usize,
    before: u64,
    now: u64,
    after: u64,
) -> Vec<Lapse> {
    world
        .reservations
        .iter()
        .filter(|(_, r)| r.index < index && !r.ended_before(index))
        .filter(|(_, r)| before < r.at + after && r.at + after <= now)
        .map(|(id, r)| Lapse {
            reservation_id: *id,
            request_id: r.request.clone(),
            reserved_at_ms: r.at,
            worst_case: r.worst,
            at_ms: now,
        })
        .collect()
}

/// The first dimension at or past a level, with the level and the use.
pub(super) fn reached(
    used: Cost,
    level: impl Fn(Dimension) -> Option<u64>,
) -> Option<(Dimension, u64, u64)> {
    Dimension::ALL.into_iter().find_map(|d| {
        let level = level(d)?;
        (used.get(d) > 0 && used.get(d) >= level).then_some((d, level, used.get(d)))
    })
}

pub(super) fn threshold(
    name: &str,
    budget: &Budget,
    start: u64,
    hit: (Dimension, u64, u64),
    now: u64,
) -> Threshold {
    Threshold {
        scope: name.to_string(),
        period: budget.period,
        period_start_ms: start,
        dimension: hit.0,
        threshold: hit.1,
        used: hit.2,
        at_ms: now,
    }
}
