//! The canonical chat types: our OpenAI-compatible request, a provider-neutral response, and
//! the [`Delta`]s a stream carries. Every adapter translates to and from these.

mod request;
mod response;
pub(crate) mod tools;

pub(crate) use request::part_text;
pub use request::{ChatRequest, Content, Message, Role};
pub use response::{ChatResponse, Choice, Delta, FinishReason, Usage};
pub use tools::{Tool, ToolCall, ToolChoice};
