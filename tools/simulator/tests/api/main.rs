//! Integration tests: each test starts its own simulator (in-process on port 0, or the binary) and
//! checks what a client sees on the wire. Modules mirror the endpoints.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod chat_completions;
mod cli;
mod faults;
mod ideogram_v3;
mod images;
mod messages;
mod support;
mod tools_and_embeddings;
