//! Setting budgets and reading their figures: what the admin API and the response headers use.

use crate::account::Account;
use crate::budget::{Budget, Dimension, ScopeKind};
use crate::error::Error;
use crate::money::Cost;
use crate::outcome::{Headroom, Remaining, Standing};
use crate::period::Period;

use super::{distinct, Ledger};

impl Ledger {
    /// Sets the scope's budget for `budget.period`, or replaces it: a replaced budget keeps its
    /// spend, reservations and the events it already raised this period; a lower limit may raise
    /// them now. A new budget starts from zero spend in the current period: seed it with
    /// [`Ledger::set_spend`].
    pub fn set_budget(&mut self, now_ms: u64, scope: &str, budget: Budget) -> Result<(), Error> {
        ScopeKind::of(scope)?;
        budget.validate()?;
        let now_ms = self.tick(now_ms);
        let serial = self.next_id;
        let accounts = self.scopes.entry(scope.to_string()).or_default();
        if !accounts.iter().any(|a| a.budget.period == budget.period) {
            self.next_id = self.next_id.saturating_add(1);
            accounts.push(Account::new(serial, budget, now_ms));
            accounts.sort_by_key(|a| a.budget.period);
        }
        if let Some(account) = accounts
            .iter_mut()
            .find(|a| a.budget.period == budget.period)
        {
            account.budget = budget;
            account.roll(now_ms);
            // A lower limit may put any period still open past a threshold.
            let starts: Vec<u64> = account.tallies.iter().map(|t| t.start_ms).collect();
            for start in starts {
                account.notice(scope, start, now_ms, &mut self.pending.events);
            }
        }
        self.pending.dirty.scope(scope);
        Ok(())
    }

    /// Removes the scope's budget for `period`. Reservations it held settle into the scope's
    /// other budgets only. False if there was none.
    pub fn remove_budget(&mut self, now_ms: u64, scope: &str, period: Period) -> bool {
        self.tick(now_ms);
        let Some(accounts) = self.scopes.get_mut(scope) else {
            return false;
        };
        let before = accounts.len();
        accounts.retain(|a| a.budget.period != period);
        let removed = accounts.len() != before;
        if accounts.is_empty() {
            self.scopes.remove(scope);
        }
        if removed {
            self.pending.dirty.scope(scope);
        }
        removed
    }

    /// The scope's budgets, by period.
    pub fn budgets(&self, scope: &str) -> Vec<Budget> {
        self.scopes
            .get(scope)
            .into_iter()
            .flatten()
            .map(|a| a.budget)
            .collect()
    }

    /// Sets the settled spend of the scope's `period` budget in the period holding
    /// `period_start_ms` (any instant of it), as rebuilt by the host from its usage rows: after a
    /// restart that lost the state, or for a budget created mid-period. Reservations still held
    /// are kept on top. Only the current period, or an earlier one that reservations may still
    /// settle into, can be seeded; false otherwise or without such a budget.
    pub fn set_spend(
        &mut self,
        now_ms: u64,
        scope: &str,
        period: Period,
        period_start_ms: u64,
        spent: Cost,
    ) -> bool {
        let now_ms = self.tick(now_ms);
        let Some(account) = self
            .scopes
            .get_mut(scope)
            .and_then(|accounts| accounts.iter_mut().find(|a| a.budget.period == period))
        else {
            return false;
        };
        account.roll(now_ms);
        let start = period.start_ms(period_start_ms);
        let Some(tally) = account.tally_mut(start) else {
            return false;
        };
        tally.spent = spent;
        account.notice(scope, start, now_ms, &mut self.pending.events);
        self.pending.dirty.scope(scope);
        true
    }

    /// Each budget of the scope in its current period, then any earlier period reservations may
    /// still settle into.
    pub fn standings(&self, now_ms: u64, scope: &str) -> Vec<Standing> {
        let now_ms = self.clock_ms.max(now_ms);
        let mut standings = Vec::new();
        for account in self.scopes.get(scope).into_iter().flatten() {
            let period = account.budget.period;
            let current = period.start_ms(now_ms);
            let standing = |start: u64, spent, reserved, open| Standing {
                scope: scope.to_string(),
                budget: account.budget,
                period_start_ms: start,
                period_end_ms: period.end_ms(start),
                spent,
                reserved,
                open,
            };
            let now = account.tally(current);
            standings.push(match now {
                Some(t) => standing(current, t.spent, t.reserved, t.open),
                None => standing(current, Cost::ZERO, Cost::ZERO, 0),
            });
            for t in account
                .tallies
                .iter()
                .filter(|t| t.start_ms < current && t.open > 0)
            {
                standings.push(standing(t.start_ms, t.spent, t.reserved, t.open));
            }
        }
        standings
    }

    /// Per dimension, the budget of the chain with the least left now (ties: the later reset,
    /// then chain order): what the response headers report.
    pub fn remaining<S: AsRef<str>>(&self, now_ms: u64, chain: &[S]) -> Remaining {
        let now_ms = self.clock_ms.max(now_ms);
        let mut remaining = Remaining::default();
        for scope in distinct(chain) {
            for account in self.scopes.get(&scope).into_iter().flatten() {
                let used = account.used(now_ms);
                let budget = &account.budget;
                for dimension in Dimension::ALL {
                    let Some(limit) = budget.limit(dimension) else {
                        continue;
                    };
                    let candidate = Headroom {
                        scope: scope.clone(),
                        period: budget.period,
                        limit,
                        remaining: limit.saturating_sub(used.get(dimension)),
                        resets_at_ms: budget.period.end_ms(now_ms),
                    };
                    let slot = match dimension {
                        Dimension::Usd => &mut remaining.usd,
                        Dimension::Tokens => &mut remaining.tokens,
                    };
                    if slot.as_ref().is_none_or(|h| tighter(&candidate, h)) {
                        *slot = Some(candidate);
                    }
                }
            }
        }
        remaining
    }

    /// Number of scopes with budgets.
    pub fn scopes(&self) -> usize {
        self.scopes.len()
    }
}

fn tighter(a: &Headroom, b: &Headroom) -> bool {
    let reset = |h: &Headroom| (h.resets_at_ms.is_none(), h.resets_at_ms.unwrap_or(0));
    (a.remaining, std::cmp::Reverse(reset(a))) < (b.remaining, std::cmp::Reverse(reset(b)))
}
