//! Client of the rate limiter Durable Object (one object per instance, hosted by the text-gen worker).
//!
//! The object admits and records atomically, and hands out grants of spare capacity (see
//! `limits::lease`): requests that fit a grant held here are admitted in the isolate, with no round trip,
//! until the grant's second ends or its room runs out. A call to the object carries the releases of every
//! grant held here over the scopes it touches (then settlements, then the admission), so the object judges
//! with what is really used. Capacity can still be parked where the object cannot see it while a call is
//! in flight (a grant on its way here, a release on its way there): a refusal judged during such activity
//! is asked again once it has landed, so a single isolate ends up with exactly the decisions the object
//! would have made request by request. Under load the object is called a few times a second instead of
//! once per request. Settlements run after the responses: into held grants where they can, the rest by the
//! object. Which call may leave when, and whether its answer can be trusted, is `limits::gate` (pure,
//! tested natively); here are the waits and the I/O: a deadline on every call, a 503 when the object
//! cannot be asked, a guard that ends a call dropped with its request, and a release timer that is
//! replaced when the host cut it. (No request ever waits on another request's future: workerd runs a
//! woken task in the waker's request context, so each request only awaits its own I/O and timers.)

use crate::bindings;
use crate::fault::Fault;
use crate::raw;
use limits::gate::{Gate, Pass, Step, Timer};
use limits::lease::Leases;
use limits::{Admission, Check, Release, Reservation};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::HashMap;
use worker::wasm_bindgen::JsValue;
use worker::Env;

/// One admission the object is asked for: one request of `tokens` against `checks`, and a grant of up to
/// `lease` more if it can spare it.
#[derive(Serialize, Deserialize)]
pub struct AdmitCall {
    pub checks: Vec<Check>,
    pub tokens: u64,
    #[serde(default)]
    pub lease: u64,
}

/// One reservation to settle with the tokens really used.
#[derive(Serialize, Deserialize, Clone)]
pub struct SettleCall {
    pub reservation: Reservation,
    pub actual_tokens: u64,
}

/// `POST /calls`: releases, then settlements, then admissions (answered in order, one each).
#[derive(Serialize, Deserialize, Default)]
pub struct Calls {
    pub releases: Vec<Release>,
    pub settles: Vec<SettleCall>,
    pub admits: Vec<AdmitCall>,
}

/// Requests a grant is asked for: at a thousand requests a second, a call every ~130 ms.
const LEASE_ASK: u64 = 128;
/// Times a refusal is asked again because grant activity may have made it stale.
const MAX_RETRIES: usize = 3;
/// How long a call waits for the way to clear, at most.
const GATE_WAIT_MS: u64 = 2_000;
/// A call to the object that has not answered in this long has failed (shorter than
/// [`limits::gate::CALL_LOST_MS`], so the gate never presumes a live call lost).
const CALL_DEADLINE_MS: u64 = 3_000;

thread_local! {
    /// Per instance: the grants held here and the calls in flight.
    static GATES: RefCell<HashMap<String, Gate>> = RefCell::new(HashMap::new());
    /// The release timer (see [`release_when_due`]).
    static TIMER: RefCell<Timer> = RefCell::new(Timer::default());
}

fn now_ms() -> u64 {
    crate::clock::now_ms().max(0) as u64
}

fn with_gate<T>(instance_id: &str, f: impl FnOnce(&mut Gate) -> T) -> T {
    GATES.with(|g| f(g.borrow_mut().entry(instance_id.to_string()).or_default()))
}

/// Whether this isolate holds grants and no release timer is alive: then one is claimed, and the
/// caller must start [`release_when_due`].
fn claim_timer(instance_id: &str, now: u64) -> bool {
    with_gate(instance_id, |g| g.holds_grants()) && TIMER.with(|t| t.borrow_mut().claim(now))
}

/// A call in flight. Dropped unanswered (its request went away), it ends its ticket, so the gate does
/// not wait for it (the gate also stops counting a call after [`limits::gate::CALL_LOST_MS`], for a
/// future that is never polled again and never dropped).
struct InFlight<'a> {
    instance_id: &'a str,
    ticket: Option<u64>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            with_gate(self.instance_id, |g| g.end(ticket));
        }
    }
}

/// Waits (on this request's own timer: see the module note) until the gate lets a call over `scopes`
/// leave, or answers it with `local`.
async fn begin<T>(
    instance_id: &str,
    scopes: &[&str],
    want_grant: bool,
    mut local: impl FnMut(&mut Leases, u64) -> Option<T>,
) -> Result<T, Pass> {
    let started = now_ms();
    loop {
        let now = now_ms();
        let patient = now.saturating_sub(started) < GATE_WAIT_MS;
        let step = with_gate(instance_id, |g| {
            g.begin(now, scopes, want_grant, patient, |leases, now| {
                local(leases, now)
            })
        });
        match step {
            Step::Done(done) => return Ok(done),
            Step::Go(pass) => return Err(pass),
            Step::Wait => worker::Delay::from(std::time::Duration::from_millis(1)).await,
        }
    }
}

/// Admits one request of `tokens` against `checks` for `instance_id`: from a grant held here if one has
/// room, else by the object. The second value says a grant is held and no release timer is alive: the
/// caller should run [`release_when_due`] after its response (in `wait_until`). An object that cannot
/// be reached in time is [`Fault::LimiterUnavailable`] (503 with Retry-After: nothing is admitted
/// without it).
pub async fn admit(
    env: &Env,
    instance_id: &str,
    checks: Vec<Check>,
    tokens: u64,
) -> Result<(Admission, bool), Fault> {
    let key = Leases::key(&checks);
    let scopes: Vec<String> = checks.iter().map(|c| c.scope.clone()).collect();
    let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let mut attempt = 0;
    loop {
        let pass = match begin(instance_id, &scopes, true, |leases, now| {
            leases.admit(&key, now, tokens)
        })
        .await
        {
            Ok(admission) => return Ok((admission, claim_timer(instance_id, now_ms()))),
            Err(pass) => pass,
        };
        let mut flight = InFlight {
            instance_id,
            ticket: Some(pass.ticket),
        };
        let calls = Calls {
            releases: pass.releases.clone(),
            settles: Vec::new(),
            admits: vec![AdmitCall {
                checks: checks.clone(),
                tokens,
                lease: if pass.ask { LEASE_ASK } else { 0 },
            }],
        };
        let answer = post(env, instance_id, &calls)
            .await
            .and_then(|body| Ok(serde_json::from_slice::<Vec<Admission>>(&body)?));
        flight.ticket = None;
        let answer = answer.and_then(|mut admissions| {
            admissions
                .pop()
                .ok_or_else(|| Fault::LimiterUnavailable("the limiter sent no admission".into()))
        });
        let admission = match answer {
            Ok(admission) => admission,
            Err(e) => {
                with_gate(instance_id, |g| g.end(pass.ticket));
                return Err(e);
            }
        };
        let stale = with_gate(instance_id, |g| g.land(&pass, &key, &scopes, &admission));
        if !stale || attempt >= MAX_RETRIES {
            return Ok((admission, claim_timer(instance_id, now_ms())));
        }
        attempt += 1;
    }
}

/// Settles reservations of one instance: into grants still held here where they fit, the rest by the
/// object (after the releases of their scopes).
pub async fn settle(env: &Env, instance_id: &str, calls: Vec<SettleCall>) -> Result<(), Fault> {
    let rest: Vec<SettleCall> = with_gate(instance_id, |g| {
        calls
            .into_iter()
            .filter(|c| !g.settle_local(&c.reservation, c.actual_tokens))
            .collect()
    });
    if rest.is_empty() {
        return Ok(());
    }
    let scopes: Vec<&str> = rest
        .iter()
        .flat_map(|c| c.reservation.scopes.iter().map(String::as_str))
        .collect();
    let Err(pass) = begin::<()>(instance_id, &scopes, false, |_, _| None).await else {
        return Ok(());
    };
    let calls = Calls {
        releases: pass.releases,
        settles: rest,
        admits: Vec::new(),
    };
    send(env, instance_id, pass.ticket, &calls).await
}

/// Gives back the grants held here when their second ends, until none is held. Run it (in `wait_until`)
/// when [`admit`] says so. It retires after [`limits::gate::TIMER_LIFETIME_MS`] (the host ends
/// background work 30 s after the response), giving back every grant held then; the next admission
/// that finds grants held and no live timer starts a new one.
pub async fn release_when_due(env: Env) {
    let generation = TIMER.with(|t| t.borrow().generation());
    loop {
        let now = now_ms();
        let retiring = TIMER.with(|t| t.borrow().retiring(generation, now));
        let next = GATES.with(|g| g.borrow().values().filter_map(Gate::next_end_ms).min());
        let Some(end_ms) = next.filter(|_| !retiring) else {
            if retiring {
                release_all(&env).await;
            }
            TIMER.with(|t| t.borrow_mut().stop(generation));
            return;
        };
        let wake = end_ms.max(now) + 1;
        if !TIMER.with(|t| t.borrow_mut().beat(generation, wake)) {
            return;
        }
        worker::Delay::from(std::time::Duration::from_millis(wake - now)).await;
        let now = now_ms();
        let due: Vec<String> = GATES.with(|g| {
            g.borrow()
                .iter()
                .filter(|(_, gate)| gate.next_end_ms().is_some_and(|e| e <= now))
                .map(|(id, _)| id.clone())
                .collect()
        });
        for instance_id in due {
            // An empty call: it carries the releases of every grant of a past second.
            release(&env, &instance_id, &[]).await;
        }
    }
}

/// Gives back every grant held here, whatever its second (a retiring timer).
async fn release_all(env: &Env) {
    let held: Vec<(String, Vec<String>)> = GATES.with(|g| {
        g.borrow()
            .iter()
            .filter(|(_, gate)| gate.holds_grants())
            .map(|(id, gate)| (id.clone(), gate.held_scopes()))
            .collect()
    });
    for (instance_id, scopes) in held {
        let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
        release(env, &instance_id, &scopes).await;
    }
}

/// One call carrying the releases due for `scopes` (and of every grant of a past second), if any.
async fn release(env: &Env, instance_id: &str, scopes: &[&str]) {
    let Err(pass) = begin::<()>(instance_id, scopes, false, |_, _| None).await else {
        return;
    };
    if pass.releases.is_empty() {
        with_gate(instance_id, |g| g.end(pass.ticket));
        return;
    }
    let calls = Calls {
        releases: pass.releases,
        ..Calls::default()
    };
    if let Err(e) = send(env, instance_id, pass.ticket, &calls).await {
        worker::console_error!("releasing rate-limit grants failed: {}", e);
    }
}

/// Makes the call of `ticket` and ends it, whatever happens (dropped too).
async fn send(env: &Env, instance_id: &str, ticket: u64, calls: &Calls) -> Result<(), Fault> {
    let _flight = InFlight {
        instance_id,
        ticket: Some(ticket),
    };
    post(env, instance_id, calls).await.map(|_| ())
}

/// Posts `calls` as JSON to the instance's object and returns the answer's bytes (raw stub fetch and
/// `arrayBuffer()`: see [`crate::raw`]), within [`CALL_DEADLINE_MS`].
async fn post(env: &Env, instance_id: &str, calls: &Calls) -> Result<Vec<u8>, Fault> {
    let unavailable = |what: String| Fault::LimiterUnavailable(what);
    let stub: raw::RawStub = env
        .durable_object(bindings::LIMITER)?
        .get_by_name(instance_id)?
        .into_rpc();
    let body = serde_json::to_vec(calls)?;
    let outbound = raw::Outbound {
        method: "POST",
        url: CALLS_URL,
        headers: &[],
        body: &body,
    };
    let signal = raw::deadline(CALL_DEADLINE_MS);
    let failed = |e: JsValue| unavailable(raw::describe(&e));
    let response = raw::fetch_stub(&stub, &outbound, Some(&signal))
        .await
        .map_err(failed)?;
    if !response.ok() {
        return Err(unavailable(format!("it answered {}", response.status())));
    }
    raw::bytes(&response).await.map_err(failed)
}

/// The host part is ignored by a Durable Object; the path selects the operation.
const CALLS_URL: &str = "https://limiter/calls";
