//! The tenancy domain of the config service: ids, roles and scopes, the resolved principal,
//! the authorization rules of "what a key may reach", admin request bodies with their
//! validation, list pagination, and the JSON shapes of every admin resource.
//!
//! Pure: no I/O. Time (`now_ms`) and randomness come in as arguments. Failures a client
//! should see are returned as [`envelope::ApiError`]; nothing here panics on input.

pub mod access;
pub mod error;
pub mod ids;
pub mod inputs;
mod label;
pub mod page;
pub mod principal;
pub mod records;
pub mod roles;

pub use access::{authorize, grantable_scopes, role_caps, Need, Target};
pub use error::TenancyError;
pub use ids::IdKind;
pub use page::Page;
pub use principal::{Actor, Principal};
pub use roles::{Role, Scope, Scopes};
