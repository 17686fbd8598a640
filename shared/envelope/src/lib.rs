//! The one HTTP error envelope of the gateway, JSON body parsing and request ids.
//!
//! Contract: no I/O, no clock, no randomness (callers pass random bytes in). Every client-visible
//! error is an [`ApiError`], rendered as `{"error":{"type","code","message","request_id"}}` by
//! [`ApiError::to_json`] and nowhere else. Messages name the offending field and never carry an
//! internal cause, a secret or a long echo of user input.

mod error;
mod parse;
pub mod request_id;
pub mod url;

pub use error::{ApiError, ErrorKind};
pub use parse::{parse_json, parse_object, parse_value};
