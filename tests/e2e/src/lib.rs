//! The end-to-end harness: starts the whole platform (`scripts/stack up`, one `wrangler dev`) on a free
//! port with a fresh persist directory, drives the config API over HTTP as a client would, and always
//! stops the stack again. Test cases assert what a client sees; `Ctx::sql` reads the local D1 only to
//! prove what is *not* stored (secrets, plaintext provider keys) and what a failed request did not write.
//!
//! The gateway suite also starts the provider simulator (`sim`) and reads event streams (`sse`).
//!
//! Nothing here sleeps to wait for time: waits are polls with a bound.

pub mod check;
pub mod client;
pub mod ctx;
pub mod runner;
pub mod sdk;
pub mod seed;
pub mod sim;
pub mod sse;
pub mod stack;
pub mod suite;

pub use check::{expect_error, expect_status, ApiErr};
pub use client::{Api, Resp};
pub use ctx::Ctx;
pub use runner::{Case, CaseFuture};
