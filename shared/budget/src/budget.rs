//! What a budget is, and the scopes that may carry one.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::period::Period;

/// A dimension a budget can limit.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Usd,
    Tokens,
}

impl Dimension {
    pub const ALL: [Dimension; 2] = [Dimension::Usd, Dimension::Tokens];
}

/// A limit on a scope's spend per period. A scope holds at most one budget per [`Period`] (a daily
/// and a monthly budget may stand side by side), so `(scope, period)` names a budget.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub period: Period,
    /// Micro-dollars per period (`None`: USD unlimited).
    #[serde(default)]
    pub usd_micros: Option<u64>,
    /// Tokens per period (`None`: tokens unlimited).
    #[serde(default)]
    pub tokens: Option<u64>,
    /// Percent of a limit at which spend plus reservations raise a soft-threshold event.
    #[serde(default)]
    pub soft_percent: Option<u8>,
}

impl Budget {
    /// Limits neither dimension until one is set.
    pub fn new(period: Period) -> Budget {
        Budget {
            period,
            usd_micros: None,
            tokens: None,
            soft_percent: None,
        }
    }

    pub fn usd_micros(mut self, limit: u64) -> Budget {
        self.usd_micros = Some(limit);
        self
    }

    pub fn tokens(mut self, limit: u64) -> Budget {
        self.tokens = Some(limit);
        self
    }

    pub fn soft_percent(mut self, percent: u8) -> Budget {
        self.soft_percent = Some(percent);
        self
    }

    pub fn validate(&self) -> Result<(), Error> {
        if self.usd_micros.is_none() && self.tokens.is_none() {
            return Err(Error::NoLimit);
        }
        if self.soft_percent.is_some_and(|p| p == 0 || p > 100) {
            return Err(Error::SoftPercent);
        }
        Ok(())
    }

    pub fn limit(&self, dimension: Dimension) -> Option<u64> {
        match dimension {
            Dimension::Usd => self.usd_micros,
            Dimension::Tokens => self.tokens,
        }
    }

    /// The soft threshold in a dimension: the percent of the limit, rounded up.
    pub fn soft_limit(&self, dimension: Dimension) -> Option<u64> {
        let limit = u128::from(self.limit(dimension)?);
        let percent = u128::from(self.soft_percent?.min(100));
        u64::try_from((limit * percent).div_ceil(100)).ok()
    }
}

/// The levels of the hierarchy a budget can sit on. A request's chain lists its scopes from the
/// narrowest (key) to the widest (org).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    Org,
    Instance,
    Project,
    Key,
}

impl ScopeKind {
    pub fn prefix(self) -> &'static str {
        match self {
            ScopeKind::Org => "org",
            ScopeKind::Instance => "instance",
            ScopeKind::Project => "project",
            ScopeKind::Key => "key",
        }
    }

    /// The scope id of `id` at this level, e.g. `project:p_1`.
    pub fn scope(self, id: &str) -> String {
        format!("{}:{id}", self.prefix())
    }

    /// The level of a scope id; an error unless it is `<level>:<non-empty id>`.
    pub fn of(scope: &str) -> Result<ScopeKind, Error> {
        let (prefix, id) = scope.split_once(':').ok_or(Error::Scope)?;
        let kind = [
            ScopeKind::Org,
            ScopeKind::Instance,
            ScopeKind::Project,
            ScopeKind::Key,
        ]
        .into_iter()
        .find(|k| k.prefix() == prefix)
        .ok_or(Error::Scope)?;
        if id.is_empty() {
            return Err(Error::Scope);
        }
        Ok(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_limits_something_with_a_sane_threshold() {
        assert_eq!(Budget::new(Period::Daily).validate(), Err(Error::NoLimit));
        assert_eq!(Budget::new(Period::Daily).tokens(0).validate(), Ok(()));
        let usd = Budget::new(Period::Monthly).usd_micros(5);
        assert_eq!(usd.soft_percent(0).validate(), Err(Error::SoftPercent));
        assert_eq!(usd.soft_percent(101).validate(), Err(Error::SoftPercent));
        assert_eq!(usd.soft_percent(100).validate(), Ok(()));
    }

    #[test]
    fn the_soft_limit_rounds_up() {
        let b = Budget::new(Period::Daily)
            .usd_micros(1_000_001)
            .tokens(u64::MAX)
            .soft_percent(80);
        assert_eq!(b.soft_limit(Dimension::Usd), Some(800_001));
        assert_eq!(
            b.soft_limit(Dimension::Tokens),
            Some(14_757_395_258_967_641_292)
        );
        assert_eq!(b.tokens(0).soft_limit(Dimension::Tokens), Some(0));
        assert_eq!(
            Budget::new(Period::Daily)
                .tokens(9)
                .soft_limit(Dimension::Tokens),
            None
        );
    }

    #[test]
    fn scope_ids_name_their_level() {
        assert_eq!(ScopeKind::of("org:o1"), Ok(ScopeKind::Org));
        assert_eq!(ScopeKind::of("key:k:with:colons"), Ok(ScopeKind::Key));
        assert_eq!(
            ScopeKind::of(&ScopeKind::Project.scope("p")),
            Ok(ScopeKind::Project)
        );
        for bad in ["", "org", "org:", "team:t", "ORG:o", ":x"] {
            assert_eq!(ScopeKind::of(bad), Err(Error::Scope), "{bad}");
        }
    }
}
