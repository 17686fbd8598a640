//! The Anthropic Messages wire format, as our tenants' Anthropic SDKs speak it: request
//! parsing, the `message` object, and the named-event SSE stream.

mod event;
mod request;
mod response;

pub use event::EventEncoder;
pub use request::parse_request;
pub(crate) use response::error_type;
pub use response::render_response;

/// The API version this crate speaks, upstream (`anthropic-version`) and downstream.
pub const API_VERSION: &str = "2023-06-01";
