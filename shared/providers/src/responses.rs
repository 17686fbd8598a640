//! The OpenAI Responses API (`POST /v1/responses`) as our tenants' SDKs speak it, stateless: the request
//! becomes the canonical chat request (so every upstream — OpenAI, Anthropic, OpenAI-compatible — serves
//! it through the same translation as chat), and the answer is rendered back as a `response` object or
//! as the Responses event stream ([`ResponseEncoder`]).
//!
//! Stateless means `store: false` semantics: nothing is kept, `previous_response_id` and item references
//! are refused with a 400 that says to send the whole conversation as `input`, and reasoning items sent
//! back as history are dropped (no upstream could use another model's reasoning).

mod encoder;
mod request;
mod response;

pub use encoder::ResponseEncoder;
pub use request::parse_request;
pub use response::render_response;

#[cfg(test)]
mod tests;
