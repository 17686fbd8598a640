//! Provider simulator: a native HTTP server that answers like OpenAI chat completions, Anthropic
//! Messages, OpenAI images and Ideogram (3.0 multipart and legacy JSON), deterministically and fast,
//! with faults injected by a `[[sim: ...]]` directive in the prompt. The behaviour contract (token
//! rule, reply words, image endpoints, directive keys) is written down in this crate's README.md; the
//! modules below implement it.
//!
//! No randomness: a reply depends only on the request (and, for `times=`, on how many earlier
//! requests carried the same fault key). The only clock reads are `created` timestamps, image-URL
//! expiry and the delays a directive asks for.

mod anthropic;
mod attempts;
mod body;
mod chat;
mod clock;
mod conversation;
mod digest;
mod directive;
mod embeddings;
mod errors;
mod faults;
mod images;
mod intake;
mod jpeg;
mod multipart;
mod openai;
mod png;
mod reply;
mod respond;
mod server;
mod tools;
mod webp;

pub use server::{serve, Settings};
