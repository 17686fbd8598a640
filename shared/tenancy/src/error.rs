//! The crate's own error: what failed when text did not name a known label.
//! Everything a client sees is an [`envelope::ApiError`]; this type is the `FromStr` error.

/// Longest part of a rejected input echoed back in a message (inputs can be large).
const ECHO_LIMIT: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenancyError {
    /// Text that is not one of a fixed set of names (a role, a scope, a provider…).
    #[error("unknown {what} \"{given}\" (expected {})", .expected.join(", "))]
    UnknownLabel {
        what: &'static str,
        given: String,
        expected: &'static [&'static str],
    },
}

impl TenancyError {
    pub(crate) fn unknown_label(
        what: &'static str,
        given: &str,
        expected: &'static [&'static str],
    ) -> Self {
        TenancyError::UnknownLabel {
            what,
            given: given.chars().take(ECHO_LIMIT).collect(),
            expected,
        }
    }
}
