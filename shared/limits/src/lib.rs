//! Rate-limit arithmetic: requests/min and tokens/min over a sliding 60-second window.
//!
//! Contract: no I/O, no clock and no randomness; every call takes `now_ms` (Unix ms) from the
//! shell. A [`Limiter`] holds only counters (the limits arrive with each call) and is meant to
//! live in one Durable Object, whose single-threaded execution makes [`Limiter::admit`] atomic:
//! it checks and records against every scope at once, all or nothing, so with a limit of `k`
//! requests/min exactly `k` calls in a minute are admitted. Tokens are reserved up front and
//! corrected once by [`Limiter::settle`]. Memory is bounded: at most 60 buckets per scope,
//! idle scopes dropped by [`Limiter::prune`], at most [`MAX_OUTSTANDING`] unsettled reservations.

mod admission;
mod check;
pub mod gate;
pub mod lease;
mod limiter;
mod window;

pub use admission::{retry_after_secs, Admission, Grant, Quota, Release, Reservation};
pub use check::{Check, Limit};
pub use limiter::{
    Changes, EntryState, Header, Limiter, ScopeState, MAX_OUTSTANDING, SETTLE_WITHIN_MS,
};
pub use window::WINDOW_SECS;
