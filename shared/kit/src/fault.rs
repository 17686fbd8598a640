//! What can go wrong inside a worker: an [`ApiError`] meant for the client, or an internal cause that is
//! logged once with the request id and answered with a generic 500.

use envelope::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum Fault {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("worker runtime: {0}")]
    Worker(#[from] worker::Error),
    #[error("kv: {0}")]
    Kv(#[from] worker::KvError),
    #[error("stored data: {0}")]
    Data(String),
    #[error("setting {0} is missing or empty")]
    Misconfigured(&'static str),
    /// The rate limiter could not be asked (unreachable, failed, or too slow): nothing is admitted
    /// without it, and the client is told to retry shortly.
    #[error("rate limiter unavailable: {0}")]
    LimiterUnavailable(String),
    /// The budget ledger could not be asked: a request whose chain has a budget is not admitted
    /// without it.
    #[error("budget ledger unavailable: {0}")]
    BudgetUnavailable(String),
}

impl Fault {
    /// The client's view: the API error itself, or a generic 500 for internal causes.
    pub fn client_error(&self) -> ApiError {
        match self {
            Fault::Api(e) => e.clone(),
            Fault::LimiterUnavailable(_) => ApiError::rate_limiter_unavailable(),
            Fault::BudgetUnavailable(_) => ApiError::budget_unavailable(),
            _ => ApiError::internal(),
        }
    }

    pub fn is_internal(&self) -> bool {
        !matches!(self, Fault::Api(_))
    }
}

impl From<serde_json::Error> for Fault {
    fn from(e: serde_json::Error) -> Self {
        Fault::Data(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_limiter_is_503_with_retry_after_and_its_cause_stays_inside() {
        let fault = Fault::LimiterUnavailable("the DO answered 500: storage read failed".into());
        assert!(fault.is_internal(), "the cause is logged");
        let error = fault.client_error();
        assert_eq!(error.status(), 503);
        assert_eq!(error.code, "rate_limiter_unavailable");
        assert_eq!(error.retry_after_secs, Some(1));
        assert!(!error.to_json("req_1").contains("storage"));
    }
}
