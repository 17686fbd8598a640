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
//! object. (No request ever waits on another request's future: workerd runs a woken task in the waker's
//! request context, so each request only awaits its own I/O and timers.)

use crate::bindings;
use crate::fault::Fault;
use crate::raw;
use limits::lease::Leases;
use limits::{Admission, Check, Release, Reservation};
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
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

/// Per instance: the grants held here and the calls in flight.
#[derive(Default)]
struct State {
    leases: Leases,
    /// Calls to the object in flight from this isolate.
    inflight: u32,
    /// Whether one of them moves capacity (asks a grant or carries releases). Such a call starts only
    /// when no other is in flight, and no call starts while it is: so the object never judges a scope
    /// while capacity of this isolate is on its way in or out, and every answer is exact.
    moving: bool,
    /// Bumped whenever a grant lands here or releases leave (a refusal judged meanwhile may be stale).
    activity: u64,
    /// Releases for the next call (a grant displaced by another for the same checks).
    spare: Vec<Release>,
}

thread_local! {
    static STATES: RefCell<HashMap<String, State>> = RefCell::new(HashMap::new());
    /// Whether a release timer is running (see [`release_when_due`]).
    static TIMER: Cell<bool> = const { Cell::new(false) };
}

/// Times a refusal is asked again because grant activity may have made it stale.
const MAX_RETRIES: usize = 3;
/// How long a call waits for the way to clear, at most (a call lost with its request must not block
/// the isolate).
const GATE_WAIT_MS: u64 = 2_000;

fn now_ms() -> u64 {
    crate::clock::now_ms().max(0) as u64
}

fn with_state<T>(instance_id: &str, f: impl FnOnce(&mut State) -> T) -> T {
    STATES.with(|s| f(s.borrow_mut().entry(instance_id.to_string()).or_default()))
}

/// A call's way through the gate: what it carries and how it found the state.
struct Pass {
    releases: Vec<Release>,
    /// Whether it asks for a grant.
    ask: bool,
    /// `State::activity` when it left.
    seen: u64,
}

enum Gate<T> {
    /// Answered here, no call needed.
    Done(T),
    Go(Pass),
}

/// Waits (on this request's own timer: see the module note) until a call over `scopes` may leave, then
/// lets it: first `local` is tried (a grant held here may answer), then the releases due for the scopes
/// are taken. `want_grant`: ask for one if no other call is in flight.
async fn begin<T>(
    instance_id: &str,
    scopes: &[&str],
    want_grant: bool,
    mut local: impl FnMut(&mut State, u64) -> Option<T>,
) -> Gate<T> {
    let started = now_ms();
    loop {
        let now = now_ms();
        let patient = now.saturating_sub(started) < GATE_WAIT_MS;
        let step = with_state(instance_id, |s| {
            if s.moving && patient {
                return None;
            }
            if let Some(done) = local(s, now) {
                return Some(Gate::Done(done));
            }
            let moves = !s.spare.is_empty()
                || s.leases.next_end_ms().is_some_and(|end| end <= now)
                || s.leases.covers(scopes);
            if moves && s.inflight > 0 && patient {
                return None;
            }
            let ask = want_grant && s.inflight == 0;
            let mut releases = s.leases.releases(now, scopes);
            releases.append(&mut s.spare);
            if !releases.is_empty() {
                s.activity += 1;
            }
            s.inflight += 1;
            s.moving = ask || !releases.is_empty();
            Some(Gate::Go(Pass {
                releases,
                ask,
                seen: s.activity,
            }))
        });
        match step {
            Some(gate) => return gate,
            None => worker::Delay::from(std::time::Duration::from_millis(1)).await,
        }
    }
}

/// The call is back.
fn end(state: &mut State) {
    state.inflight = state.inflight.saturating_sub(1);
    state.moving = false;
}

/// Admits one request of `tokens` against `checks` for `instance_id`: from a grant held here if one has
/// room, else by the object. The second value says a grant is now held and no release timer runs: the
/// caller should run [`release_when_due`] after its response (in `wait_until`).
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
        let pass = match begin(instance_id, &scopes, true, |s, now| {
            s.leases.admit(&key, now, tokens)
        })
        .await
        {
            Gate::Done(admission) => return Ok((admission, false)),
            Gate::Go(pass) => pass,
        };
        let calls = Calls {
            releases: pass.releases,
            settles: Vec::new(),
            admits: vec![AdmitCall {
                checks: checks.clone(),
                tokens,
                lease: if pass.ask { LEASE_ASK } else { 0 },
            }],
        };
        let answer = post(env, instance_id, CALLS_URL, &calls)
            .await
            .and_then(|body| Ok(serde_json::from_slice::<Vec<Admission>>(&body)?));
        let (admission, stale, watch) = with_state(instance_id, |s| {
            end(s);
            let admission = answer?
                .pop()
                .ok_or_else(|| Fault::Data("limiter: no admission in the answer".into()))?;
            // Only a call made while another was in flight can have been judged with capacity moving.
            let stale = !admission.admitted
                && !admission.never
                && (s.activity != pass.seen || s.leases.covers(&scopes));
            let mut watch = false;
            if let Some(grant) = admission.grant.clone() {
                s.activity += 1;
                if let Some(displaced) = s.leases.hold(key.clone(), grant, admission.quotas.clone())
                {
                    s.spare.push(displaced);
                }
                watch = !TIMER.with(|t| t.replace(true));
            }
            Ok::<_, Fault>((admission, stale, watch))
        })?;
        if !stale || attempt >= MAX_RETRIES {
            return Ok((admission, watch));
        }
        attempt += 1;
    }
}

/// Settles reservations of one instance: into grants still held here where they fit, the rest by the
/// object (after the releases of their scopes).
pub async fn settle(env: &Env, instance_id: &str, calls: Vec<SettleCall>) -> Result<(), Fault> {
    let rest: Vec<SettleCall> = with_state(instance_id, |s| {
        calls
            .into_iter()
            .filter(|c| !s.leases.settle(&c.reservation, c.actual_tokens))
            .collect()
    });
    if rest.is_empty() {
        return Ok(());
    }
    let scopes: Vec<&str> = rest
        .iter()
        .flat_map(|c| c.reservation.scopes.iter().map(String::as_str))
        .collect();
    let pass = match begin::<()>(instance_id, &scopes, false, |_, _| None).await {
        Gate::Done(()) => return Ok(()),
        Gate::Go(pass) => pass,
    };
    let calls = Calls {
        releases: pass.releases,
        settles: rest,
        admits: Vec::new(),
    };
    let sent = post(env, instance_id, CALLS_URL, &calls).await;
    with_state(instance_id, end);
    sent.map(|_| ())
}

/// Gives back the grants held here when their second ends, until none is held. Run it (in `wait_until`)
/// when [`admit`] says so; one runs per isolate.
pub async fn release_when_due(env: Env) {
    loop {
        let next = STATES.with(|s| {
            s.borrow()
                .values()
                .filter_map(|state| state.leases.next_end_ms())
                .min()
        });
        let Some(end_ms) = next else {
            TIMER.with(|t| t.set(false));
            return;
        };
        let wait = end_ms.saturating_sub(now_ms()) + 1;
        worker::Delay::from(std::time::Duration::from_millis(wait)).await;
        let now = now_ms();
        let due: Vec<String> = STATES.with(|s| {
            s.borrow()
                .iter()
                .filter(|(_, state)| state.leases.next_end_ms().is_some_and(|e| e <= now))
                .map(|(id, _)| id.clone())
                .collect()
        });
        for instance_id in due {
            // An empty call: it carries the releases of every grant of a past second.
            let pass = match begin::<()>(&instance_id, &[], false, |_, _| None).await {
                Gate::Done(()) => continue,
                Gate::Go(pass) => pass,
            };
            if pass.releases.is_empty() {
                with_state(&instance_id, end);
                continue;
            }
            let calls = Calls {
                releases: pass.releases,
                ..Calls::default()
            };
            let sent = post(&env, &instance_id, CALLS_URL, &calls).await;
            with_state(&instance_id, end);
            if let Err(e) = sent {
                worker::console_error!("releasing rate-limit grants failed: {}", e);
            }
        }
    }
}

/// Posts `body` as JSON to the instance's object and returns the answer's bytes (raw stub fetch and
/// `arrayBuffer()`: see [`crate::raw`]).
async fn post<B: Serialize>(
    env: &Env,
    instance_id: &str,
    url: &str,
    body: &B,
) -> Result<Vec<u8>, Fault> {
    let stub: raw::RawStub = env
        .durable_object(bindings::LIMITER)?
        .get_by_name(instance_id)?
        .into_rpc();
    let body = serde_json::to_vec(body)?;
    let outbound = raw::Outbound {
        method: "POST",
        url,
        headers: &[],
        body: &body,
    };
    let failed = |e: JsValue| Fault::Worker(worker::Error::JsError(raw::describe(&e)));
    let response = raw::fetch_stub(&stub, &outbound).await.map_err(failed)?;
    if !response.ok() {
        return Err(Fault::Worker(worker::Error::RustError(format!(
            "limiter {url} answered {}",
            response.status()
        ))));
    }
    raw::bytes(&response).await.map_err(failed)
}

/// The host part is ignored by a Durable Object; the path selects the operation.
const CALLS_URL: &str = "https://limiter/calls";
