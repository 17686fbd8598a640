//! The caller's side of the limiter object in one isolate, as data: the grants held here
//! ([`Leases`]), the calls to the object in flight, and which of them move capacity. The shell (kit's
//! limiter client) does the waiting and the I/O; every rule about when a call may leave, what it carries
//! and whether its answer can be trusted is here.
//!
//! - A call that moves capacity (asks a grant or carries releases) leaves only when no other call is in
//!   flight, and no call leaves while it is: so the object never judges a scope while capacity of this
//!   isolate is on its way in or out.
//! - A refusal judged while grant activity happened here (a grant landed, releases left, or a grant over
//!   its scopes is held) may be stale: [`Gate::land`] says so and the shell asks again.
//! - Cancel-safety: a call is a ticket with its start time. A request that dies with its call in flight
//!   (its future dropped or never polled again) cannot hold the gate shut: a call older than
//!   [`CALL_LOST_MS`] no longer counts as in flight. The shell's deadline on the call is shorter, so a
//!   live call is never presumed lost.
//! - The release timer ([`Timer`]) proves it is alive by its heartbeat; one that died (the host ends
//!   background work 30 s after a response) is replaced by the next admission that finds grants held.

use std::collections::BTreeMap;

use crate::admission::{Admission, Release, Reservation};
use crate::lease::Leases;

/// A call in flight longer than this is presumed lost (the shell gives up on a call before).
pub const CALL_LOST_MS: u64 = 4_000;

#[derive(Clone, Copy, Debug)]
struct Call {
    started_ms: u64,
    moving: bool,
}

/// One instance's side of the gate in this isolate.
#[derive(Default, Debug)]
pub struct Gate {
    leases: Leases,
    /// Calls in flight, by ticket.
    calls: BTreeMap<u64, Call>,
    next_ticket: u64,
    /// Bumped whenever a grant lands here or releases leave (a refusal judged meanwhile may be stale).
    activity: u64,
    /// Releases for the next call (a grant displaced by another for the same checks).
    spare: Vec<Release>,
}

/// A call's way out: what it carries and how it found the gate.
#[derive(Debug)]
pub struct Pass {
    pub ticket: u64,
    pub releases: Vec<Release>,
    /// Whether it asks for a grant.
    pub ask: bool,
    seen: u64,
}

/// What [`Gate::begin`] decided.
#[derive(Debug)]
pub enum Step<T> {
    /// Answered here, no call needed.
    Done(T),
    /// Wait a moment and ask again.
    Wait,
    /// Make the call, then [`Gate::end`] or [`Gate::land`] it.
    Go(Pass),
}

impl Gate {
    /// Whether a call over `scopes` may leave now, and with what. First `local` is tried (a grant held
    /// here may answer). `want_grant`: ask for one if no other call is in flight. `patient`: false once
    /// the caller has waited long enough (it then goes whatever is in flight: a call must not wait
    /// behind a slow one for ever).
    pub fn begin<T>(
        &mut self,
        now_ms: u64,
        scopes: &[&str],
        want_grant: bool,
        patient: bool,
        local: impl FnOnce(&mut Leases, u64) -> Option<T>,
    ) -> Step<T> {
        self.calls
            .retain(|_, c| now_ms.saturating_sub(c.started_ms) < CALL_LOST_MS);
        if self.calls.values().any(|c| c.moving) && patient {
            return Step::Wait;
        }
        if let Some(done) = local(&mut self.leases, now_ms) {
            return Step::Done(done);
        }
        let moves = !self.spare.is_empty()
            || self.leases.next_end_ms().is_some_and(|end| end <= now_ms)
            || self.leases.covers(scopes);
        if moves && !self.calls.is_empty() && patient {
            return Step::Wait;
        }
        let ask = want_grant && self.calls.is_empty();
        let mut releases = self.leases.releases(now_ms, scopes);
        releases.append(&mut self.spare);
        if !releases.is_empty() {
            self.activity += 1;
        }
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.calls.insert(
            ticket,
            Call {
                started_ms: now_ms,
                moving: ask || !releases.is_empty(),
            },
        );
        Step::Go(Pass {
            ticket,
            releases,
            ask,
            seen: self.activity,
        })
    }

    /// The call is over (answered, failed or abandoned). Unknown tickets are ignored.
    pub fn end(&mut self, ticket: u64) {
        self.calls.remove(&ticket);
    }

    /// The call came back with `admission` for the checks of `key` over `scopes`: ends it, holds the
    /// grant it brought, and says whether a refusal may be stale (grant activity happened here while it
    /// was judged, or a grant over its scopes is held): then the caller asks again.
    pub fn land(&mut self, pass: &Pass, key: &str, scopes: &[&str], admission: &Admission) -> bool {
        self.end(pass.ticket);
        let stale = !admission.admitted
            && !admission.never
            && (self.activity != pass.seen || self.leases.covers(scopes));
        if let Some(grant) = admission.grant.clone() {
            self.activity += 1;
            if let Some(displaced) =
                self.leases
                    .hold(key.to_string(), grant, admission.quotas.clone())
            {
                self.spare.push(displaced);
            }
        }
        stale
    }

    /// Settles into a grant held here when it can (see [`Leases::settle`]).
    pub fn settle_local(&mut self, reservation: &Reservation, actual_tokens: u64) -> bool {
        self.leases.settle(reservation, actual_tokens)
    }

    /// When the earliest held grant's second ends.
    pub fn next_end_ms(&self) -> Option<u64> {
        self.leases.next_end_ms()
    }

    /// The scopes of every grant held here (a retiring timer releases them all).
    pub fn held_scopes(&self) -> Vec<String> {
        self.leases.scopes()
    }

    pub fn holds_grants(&self) -> bool {
        !self.leases.is_empty()
    }

    /// Calls in flight that are not presumed lost.
    pub fn in_flight(&self, now_ms: u64) -> usize {
        self.calls
            .values()
            .filter(|c| now_ms.saturating_sub(c.started_ms) < CALL_LOST_MS)
            .count()
    }
}

/// How long after its expected wake-up a release timer counts as dead.
pub const TIMER_SLACK_MS: u64 = 2_000;
/// A release timer retires after this long (the host cuts background work 30 s after the response that
/// started it): it releases every grant held and stops, and the next grant starts a new one.
pub const TIMER_LIFETIME_MS: u64 = 20_000;

/// The one release timer of an isolate: which run is current and whether it is alive.
#[derive(Default, Debug)]
pub struct Timer {
    generation: u64,
    alive_until_ms: u64,
    started_ms: u64,
}

impl Timer {
    /// Whether a new timer must start now (none is alive). If so it is claimed: the caller starts it,
    /// and it runs as [`Timer::generation`].
    pub fn claim(&mut self, now_ms: u64) -> bool {
        if self.alive_until_ms > now_ms {
            return false;
        }
        self.generation += 1;
        self.started_ms = now_ms;
        self.alive_until_ms = now_ms + TIMER_SLACK_MS;
        true
    }

    /// The current run.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Run `generation` will wake at `wake_ms`. False if it has been replaced (it should stop).
    pub fn beat(&mut self, generation: u64, wake_ms: u64) -> bool {
        if generation != self.generation {
            return false;
        }
        self.alive_until_ms = wake_ms + TIMER_SLACK_MS;
        true
    }

    /// Whether run `generation` has lived its time at `now_ms`.
    pub fn retiring(&self, generation: u64, now_ms: u64) -> bool {
        generation != self.generation || now_ms.saturating_sub(self.started_ms) >= TIMER_LIFETIME_MS
    }

    /// Run `generation` stops (no grant held, or retired).
    pub fn stop(&mut self, generation: u64) {
        if generation == self.generation {
            self.alive_until_ms = 0;
        }
    }
}

#[cfg(test)]
mod tests;
