//! Budgets: the body that sets one and the path parts that name it.

use envelope::ApiError;
use serde::Deserialize;

use super::Validate;
use crate::ids::{self, IdKind};

/// Upper bound on a USD limit, far above any real account, to catch unit mistakes.
pub const USD_MAX: f64 = 1_000_000_000.0;
/// Upper bound on a tokens limit.
pub const TOKENS_MAX: u64 = 1_000_000_000_000_000;

/// `PUT …/budgets/{period}`: limits in USD and/or tokens for the period, and an optional soft
/// threshold (percent of a limit) that raises an event when reached.
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BudgetInput {
    #[serde(default)]
    pub usd: Option<f64>,
    #[serde(default)]
    pub tokens: Option<u64>,
    #[serde(default)]
    pub soft_percent: Option<u8>,
}

impl Validate for BudgetInput {
    fn validate(&self, _now_ms: i64) -> Result<(), ApiError> {
        if self.usd.is_none() && self.tokens.is_none() {
            return Err(ApiError::unprocessable(
                "usd",
                "set at least one of usd, tokens",
            ));
        }
        if let Some(usd) = self.usd {
            if !usd.is_finite() || !(0.0..=USD_MAX).contains(&usd) {
                return Err(ApiError::unprocessable(
                    "usd",
                    format!("must be a number of dollars from 0 to {USD_MAX}"),
                ));
            }
        }
        if self.tokens.is_some_and(|t| t > TOKENS_MAX) {
            return Err(ApiError::unprocessable(
                "tokens",
                format!("must be from 0 to {TOKENS_MAX}"),
            ));
        }
        if self.soft_percent.is_some_and(|p| p == 0 || p > 100) {
            return Err(ApiError::unprocessable(
                "soft_percent",
                "must be a percent from 1 to 100",
            ));
        }
        Ok(())
    }
}

/// What a budget below the org is set on (the path's `{scope}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetScope {
    Instance,
    Project,
    Key,
}

impl BudgetScope {
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetScope::Instance => "instance",
            BudgetScope::Project => "project",
            BudgetScope::Key => "key",
        }
    }
}

/// The path's `{scope}/{target}` of an instance's budget: the instance itself (its own id), one of its
/// projects, or one of its API keys.
pub fn budget_path(scope: &str, target: &str, instance_id: &str) -> Result<BudgetScope, ApiError> {
    let scope = match scope {
        "instance" => BudgetScope::Instance,
        "project" => BudgetScope::Project,
        "key" => BudgetScope::Key,
        _ => {
            return Err(ApiError::invalid_field(
                "scope",
                "must be instance, project or key",
            ))
        }
    };
    match scope {
        BudgetScope::Instance if target != instance_id => Err(ApiError::invalid_field(
            "target",
            "an instance budget's target is the instance's own id",
        )),
        BudgetScope::Instance => Ok(scope),
        BudgetScope::Project => ids::parse(IdKind::Project, target, "target").map(|_| scope),
        BudgetScope::Key => ids::parse(IdKind::Key, target, "target").map(|_| scope),
    }
}
