//! What can fail when the admin side configures budgets. The arithmetic itself never fails: a
//! request that does not fit is a [`crate::Refusal`], not an error.

/// Messages name the rule that was broken, never the value sent.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum Error {
    #[error("a scope is org:, instance:, project: or key: followed by an id")]
    Scope,
    #[error("a budget limits usd, tokens or both")]
    NoLimit,
    #[error("a soft threshold is a percent from 1 to 100")]
    SoftPercent,
}
