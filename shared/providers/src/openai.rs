//! The OpenAI Chat Completions wire format, as our tenants' OpenAI SDKs speak it:
//! request parsing and validation, the `chat.completion` object, and the
//! `chat.completion.chunk` SSE stream.

mod chunk;
mod request;
mod response;

pub use chunk::ChunkEncoder;
pub use request::parse_request;
pub use response::render_response;
pub(crate) use response::usage_json;
