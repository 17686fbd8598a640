//! Budget arithmetic: spend limits per scope (org → instance → project → key) and period, with
//! reservations that make admission exact under any concurrency.
//!
//! Contract: no I/O, no clock and no randomness; every call takes `now_ms` (Unix ms, UTC) from
//! the shell, and nothing panics on any input (amounts saturate). A [`Ledger`] is meant to live in
//! one Durable Object, whose one-call-at-a-time execution makes [`Ledger::reserve`] atomic across
//! every scope of a chain.
//!
//! # Units
//! Money is `u64` micro-dollars (1 USD = 1,000,000 µ$) and tokens are `u64`; a [`Cost`] carries
//! both. Floating point only appears in the edge conversions ([`usd_to_micros`],
//! [`micros_to_usd`]); prices become µ$ per million tokens and [`token_cost_micros`] rounds a
//! request's cost up to the micro-dollar.
//!
//! # Budgets and periods
//! A [`Budget`] limits USD, tokens or both per [`Period`]: a UTC calendar day, an ISO week
//! (Monday 00:00 to Monday 00:00), a calendar month, or all time (`Total`, never resets). A scope
//! holds at most one budget per period, so `(scope, period)` names a budget, and a daily and a
//! monthly budget can stand together. Budgets live in the ledger ([`Ledger::set_budget`],
//! [`Ledger::remove_budget`]): the hot path sends only scope ids, and a change takes effect on
//! the next call, with no cache in between. Replacing a budget keeps its period's spend. A new
//! budget starts at zero; the host seeds it from its usage rows with [`Ledger::set_spend`] (as
//! it does after a restart that lost the state).
//!
//! # Lifecycle of a request
//! 1. [`Ledger::reserve`] with the request's chain (e.g. `key:k`, `project:p`, `instance:i`,
//!    `org:o`) and its worst-case cost. It is admitted only if every budget of every scope has
//!    room for the worst case in its current period (spent + reserved + worst ≤ limit, per
//!    dimension); then the worst case is held at all of them, else at none, and the
//!    [`Refusal`] names the budget, the dimension and when it resets (for a 429
//!    `budget_exceeded` with `Retry-After`). A reserve retried with the request id of a
//!    reservation still outstanding returns that reservation instead of holding twice.
//! 2. [`Ledger::settle`] with the real cost replaces the hold, once; more than the worst case
//!    counts in full (a stream cut by the client still settles what was generated). A second
//!    settle changes nothing and says so ([`Settled::NotHeld`]).
//! 3. Or [`Ledger::release`] when nothing was generated (the upstream failed).
//!
//! [`Ledger::remaining`] reports, per dimension, the tightest budget of a chain for the response
//! headers; [`Ledger::standings`] the figures of a scope's budgets for the admin API.
//!
//! # Period roll
//! Spend starts from zero at each period boundary. A cost belongs to the period its request was
//! admitted in: a reservation made before the boundary stays counted in that period (it takes no
//! room in the new one), and its settle, whenever it comes, lands there. Those earlier tallies
//! are kept exactly as long as a reservation made in them may still settle. The host should stamp
//! (or group) its usage rows with the reservation's `at_ms`, so that spend rebuilt from them
//! agrees with the ledger. A budget set after a request was admitted counts that request's cost
//! only if its current period holds the admission instant (the same period: its seed from usage
//! rows cannot include a request still in flight); a budget created after that period ended has
//! nothing to do with that cost, which stays in the usage rows and in the budgets that did exist.
//!
//! # Expiry and late settles
//! A reservation neither settled nor released within [`Settings::hold_ms`] (15 min by default,
//! far beyond the longest request) expires: its hold is given back, because a request lost to a
//! crashed isolate or a dropped connection must not hold budget forever, and an
//! [`Event::Expired`] names it. It is still remembered for [`Settings::settle_within_ms`] (24 h)
//! after it was made: a settle arriving meanwhile counts in full, in the period it was made in
//! ([`Settled::CountedLate`]); spend is never dropped because a request outlived its hold. The
//! price of that rule is that a request outliving the hold time can overspend its budget by its
//! own cost, as others may have used the room it gave back; so the hold time should exceed the
//! longest request by a wide margin. Past the window (or beyond [`MAX_EXPIRED`]) it is
//! forgotten with an [`Event::Forgotten`], so even that loss is reported, never silent.
//!
//! # Events
//! When spend plus reservations of a budget reaches its soft threshold (a percent of a limit) or
//! its limit, in either dimension, an [`Event::SoftThreshold`] or [`Event::Exhausted`] is raised,
//! once per budget and period (replacing a budget does not re-arm them). Events, with expiries,
//! are drained with [`Ledger::take_events`] after each call; a host that must not lose them
//! stores them with the state changes (an outbox) before forwarding them.
//!
//! # Persistence
//! The ledger serializes whole, and also row by row like the rate limiter: one row per scope,
//! one per reservation, a header; [`Ledger::take_changes`] hands what changed since the last
//! save, and [`Ledger::restored`] with `restore_*` rebuilds the ledger from the rows.
//!
//! # Memory
//! One row per scope with budgets (its budgets and the periods still open), one per reservation
//! in flight or expired (at most [`MAX_EXPIRED`] of those). Scopes without budgets cost nothing
//! but the reservation; a host may skip the ledger for an org with no budget at all.
//!
//! # A hot org
//! One object per org serializes that org's requests (a Durable Object does hundreds to about a
//! thousand calls per second; a reservation here is a few map lookups per budget of the chain).
//! The crate assumes nothing about which scopes share a ledger, so a host can:
//! - **shard by instance** (or project): one ledger per instance holds the budgets of the
//!   instance, its projects and keys, and takes the org's budget out of the chain; the org's
//!   ledger then only hands out leases;
//! - **lease** a slice of a wide budget: the shard reserves a block (e.g. $5 or 10% of what is
//!   left) at the org's ledger under a lease id of its own, sets it as a `Total` budget on a local
//!   lease scope, and admits from it without a round trip; before the hold time runs out, or when
//!   the block runs low, it settles the block at the org with what its requests actually spent
//!   (including holds still in flight, counted at their worst case) and takes a new one. Exactness
//!   holds because a block is held at the org before any of it is used; the cost is that budget
//!   parked in an idle shard is unavailable to the others until it goes back, so bound blocks by
//!   size and time (as the rate limiter bounds its grants).
//!
//! Both compose from [`Ledger::reserve`] and [`Ledger::settle`] on scope ids the host chooses.

mod account;
mod budget;
mod error;
mod ledger;
mod money;
mod outcome;
mod period;

pub use budget::{Budget, Dimension, ScopeKind};
pub use error::Error;
pub use ledger::{
    Changes, Header, Ledger, ReservationState, ScopeState, Settings, DEFAULT_HOLD_MS,
    DEFAULT_SETTLE_WITHIN_MS, MAX_EXPIRED,
};
pub use money::{
    format_usd, micros_to_usd, token_cost_micros, usd_to_micros, Cost, MICROS_PER_USD,
};
pub use outcome::{
    Event, Headroom, Lapse, Refusal, Remaining, Reservation, Settled, Standing, Threshold,
};
pub use period::{rfc3339, Period, DAY_MS};
