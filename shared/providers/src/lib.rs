//! Provider adapters: our canonical chat request and response, the OpenAI and Anthropic wire
//! formats on both sides of the gateway, upstream request building, response and stream
//! decoding, error classification, the retry policy and prompt-size estimates; image generation
//! (OpenAI and Ideogram) with its storage keys.
//!
//! Contract: sans-IO. Nothing here sends a request, reads a clock or draws a random number:
//! [`upstream::build_request`] returns the request to send, the parsers take the bytes that
//! came back, [`retry::next_delay`] takes the elapsed time and the jitter. No panics on any
//! input. Client-facing failures are [`envelope::ApiError`]s; upstream failures are
//! [`upstream::UpstreamError`]s, which say whether a retry may help and what the client sees.

pub mod anthropic;
pub mod chat;
pub mod embeddings;
mod field;
pub mod images;
pub mod openai;
pub mod responses;
pub mod retry;
pub mod tokens;
pub mod upstream;
