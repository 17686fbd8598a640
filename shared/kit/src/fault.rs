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
}

impl Fault {
    /// The client's view: the API error itself, or a generic 500 for internal causes.
    pub fn client_error(&self) -> ApiError {
        match self {
            Fault::Api(e) => e.clone(),
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
