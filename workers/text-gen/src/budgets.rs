//! The budget ledger Durable Object: one per org, holding every budget of the org (its own, its
//! instances', projects' and keys') in one `budget::Ledger`. A call (settlements, then at most one
//! reservation; or one admin operation) runs in one synchronous step on the in-memory ledger, so a
//! reservation judges every scope of its chain at once and concurrent requests cannot race.
//!
//! Storage: the object's SQLite database, like the rate limiter's — a header, one row per scope with
//! budgets, one per reservation that may still settle — written in the same synchronous step as the
//! call, before it answers (so a restart forgets nothing that was reserved or spent). The events the
//! ledger raises (soft threshold, exhausted, expired, forgotten) go to an outbox table in that same
//! step; the call that raised them then copies them to D1 (`budget_events`) and deletes them once
//! written, and an alarm retries a copy that failed. The alarm also sweeps stale reservations (see
//! `budget::Settings::hold_ms`; every call expires what is due as well).

use budget::{Changes, Event, Header, Ledger, ReservationState, ScopeState, Settings};
use kit::budget::{Admin, AdminAnswer, AdminCall, Answer, Calls, Verdict};
use kit::store::{Arg, Db};
use serde::Deserialize;
use std::cell::{Cell, RefCell};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS budget_header (id INTEGER PRIMARY KEY CHECK (id = 0), state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS budget_scopes (name TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS budget_reservations (id INTEGER PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS budget_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, org_id TEXT NOT NULL, event TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS budget_org (id INTEGER PRIMARY KEY CHECK (id = 0), org_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS budget_clock (id INTEGER PRIMARY KEY CHECK (id = 0), offset_ms INTEGER NOT NULL);";

/// Events copied to D1 per alarm, at most.
const OUTBOX_BATCH: usize = 50;
/// A failed copy to D1 is tried again this much later.
const OUTBOX_RETRY_MS: u64 = 5_000;

#[durable_object]
pub struct Budgets {
    state: State,
    env: Env,
    ledger: RefCell<Ledger>,
    loaded: Cell<bool>,
    /// The org this object serves (named by every call; stored for the events of a sweep).
    org_id: RefCell<String>,
    /// When the pending alarm fires (0: none set by this instance).
    alarm_at_ms: Cell<u64>,
    /// How far this ledger's clock runs ahead of the host's (only ever set by the e2e suites' test
    /// clock, see `kit::budget::AdminCall::ShiftClock`).
    offset_ms: Cell<u64>,
}

impl DurableObject for Budgets {
    fn new(state: State, env: Env) -> Self {
        Budgets {
            state,
            env,
            ledger: RefCell::new(Ledger::new(Settings::default())),
            loaded: Cell::new(false),
            org_id: RefCell::new(String::new()),
            alarm_at_ms: Cell::new(0),
            offset_ms: Cell::new(0),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        let bytes = req.bytes().await?;
        self.load()?;
        let now = self.now();
        let (body, events) = match path.as_str() {
            "/calls" => {
                let calls: Calls = serde_json::from_slice(&bytes)?;
                self.remember_org(&calls.org_id)?;
                let mut ledger = self.ledger.borrow_mut();
                for settle in &calls.settles {
                    ledger.settle(now, settle.reservation, settle.actual);
                }
                let mut answer = Answer::default();
                if let Some(ask) = &calls.reserve {
                    let verdict = ledger.reserve(now, &ask.request_id, &ask.chain, ask.worst);
                    answer.reserved = Some(match verdict {
                        Ok(reservation) => Verdict::Held(reservation),
                        Err(refusal) => Verdict::Refused(refusal),
                    });
                    answer.remaining = Some(ledger.remaining(now, &ask.chain));
                }
                let events = self.save(&mut ledger)?;
                (serde_json::to_vec(&answer)?, events)
            }
            "/admin" => {
                let call: Admin = serde_json::from_slice(&bytes)?;
                self.remember_org(&call.org_id)?;
                if let AdminCall::ShiftClock { by_ms } = call.call {
                    return self.shift_clock(by_ms);
                }
                let mut ledger = self.ledger.borrow_mut();
                let answer = match admin(&mut ledger, now, call.call) {
                    Ok(answer) => answer,
                    Err(message) => return Response::error(message, 400),
                };
                let events = self.save(&mut ledger)?;
                (serde_json::to_vec(&answer)?, events)
            }
            _ => return Response::error("not found", 404),
        };
        // The rare call that raised events copies them itself (the ledger's state is already stored,
        // so calls that run meanwhile see it); the alarm retries a copy that failed.
        let copied = if events > 0 {
            self.copy_outbox().await
        } else {
            Ok(())
        };
        if let Err(e) = copied {
            worker::console_error!("copying budget events to D1 failed: {}", e);
            self.set_alarm(now + OUTBOX_RETRY_MS).await?;
        } else {
            self.schedule(now).await?;
        }
        Response::from_bytes(body)
    }

    async fn alarm(&self) -> Result<Response> {
        self.alarm_at_ms.set(0);
        self.load()?;
        let now = self.now();
        {
            let mut ledger = self.ledger.borrow_mut();
            ledger.sweep(now);
            self.save(&mut ledger)?;
        }
        let copied = self.copy_outbox().await;
        let pending = self.outbox_len()?;
        let next = match copied {
            Ok(()) if pending == 0 => self.sweep_due(now),
            Ok(()) => Some(now + 1),
            Err(e) => {
                worker::console_error!("copying budget events to D1 failed: {}", e);
                Some(now + OUTBOX_RETRY_MS)
            }
        };
        if let Some(at) = next {
            self.set_alarm(at).await?;
        }
        Response::ok("swept")
    }
}

/// One admin operation; a malformed one is a 400 with its reason.
fn admin(
    ledger: &mut Ledger,
    now: u64,
    call: AdminCall,
) -> std::result::Result<AdminAnswer, String> {
    let mut answer = AdminAnswer::default();
    match call {
        AdminCall::Set {
            scope,
            budget,
            seed,
        } => {
            let existed = ledger
                .budgets(&scope)
                .iter()
                .any(|b| b.period == budget.period);
            ledger
                .set_budget(now, &scope, budget)
                .map_err(|e| e.to_string())?;
            if let (false, Some(seed)) = (existed, seed) {
                ledger.set_spend(now, &scope, budget.period, seed.period_start_ms, seed.spent);
            }
            answer.standings = ledger.standings(now, &scope);
        }
        AdminCall::Remove { scope, period } => {
            answer.removed = ledger.remove_budget(now, &scope, period);
        }
        AdminCall::Standings { scopes } => {
            answer.standings = scopes
                .iter()
                .flat_map(|scope| ledger.standings(now, scope))
                .collect();
        }
        AdminCall::Remaining { chain } => {
            answer.remaining = Some(ledger.remaining(now, &chain));
            answer.standings = chain
                .iter()
                .flat_map(|scope| ledger.standings(now, scope))
                .collect();
        }
        AdminCall::ShiftClock { .. } => return Err("the clock is shifted before the ledger".into()),
    }
    Ok(answer)
}

#[derive(Deserialize)]
struct ScopeRow {
    name: String,
    state: String,
}

#[derive(Deserialize)]
struct StateRow {
    state: String,
}

#[derive(Deserialize)]
struct OutboxRow {
    seq: i64,
    org_id: String,
    event: String,
}

#[derive(Deserialize)]
struct CountRow {
    n: i64,
}

#[derive(Deserialize)]
struct ClockRow {
    offset_ms: i64,
}

#[derive(Deserialize)]
struct OrgRow {
    org_id: String,
}

impl Budgets {
    /// Restores the stored ledger once per object lifetime; every failure is an error (never an empty
    /// ledger: admitting against it would forget the spend).
    fn load(&self) -> Result<()> {
        if self.loaded.get() {
            return Ok(());
        }
        let sql = self.state.storage().sql();
        sql.exec(SCHEMA, None)?;
        let header: Vec<StateRow> = sql
            .exec("SELECT state FROM budget_header WHERE id = 0", None)?
            .to_array()?;
        let header: Header = match header.first() {
            Some(row) => serde_json::from_str(&row.state)?,
            None => Header::default(),
        };
        let mut ledger = Ledger::restored(header, Settings::default());
        let scopes: Vec<ScopeRow> = sql
            .exec("SELECT name, state FROM budget_scopes", None)?
            .to_array()?;
        for row in scopes {
            ledger.restore_scope(row.name, serde_json::from_str::<ScopeState>(&row.state)?);
        }
        let held: Vec<StateRow> = sql
            .exec("SELECT state FROM budget_reservations", None)?
            .to_array()?;
        for row in held {
            ledger.restore_reservation(serde_json::from_str::<ReservationState>(&row.state)?);
        }
        let org: Vec<OrgRow> = sql
            .exec("SELECT org_id FROM budget_org WHERE id = 0", None)?
            .to_array()?;
        if let Some(row) = org.into_iter().next() {
            *self.org_id.borrow_mut() = row.org_id;
        }
        let clock: Vec<ClockRow> = sql
            .exec("SELECT offset_ms FROM budget_clock WHERE id = 0", None)?
            .to_array()?;
        if let Some(row) = clock.first() {
            self.offset_ms
                .set(u64::try_from(row.offset_ms).unwrap_or(0));
        }
        *self.ledger.borrow_mut() = ledger;
        self.loaded.set(true);
        Ok(())
    }

    /// Writes what changed and the events raised, synchronously (see the module note); the events are
    /// returned for the alarm's scheduling. On failure the changes are kept for the next save.
    fn save(&self, ledger: &mut Ledger) -> Result<usize> {
        let changes = ledger.take_changes();
        let events = ledger.take_events();
        let org_id = self.org_id.borrow().clone();
        match self.write(&changes, &events, &org_id) {
            Ok(()) => Ok(events.len()),
            Err(e) => {
                ledger.retake(changes);
                Err(e)
            }
        }
    }

    fn write(&self, changes: &Changes, events: &[Event], org_id: &str) -> Result<()> {
        let sql = self.state.storage().sql();
        let header = serde_json::to_string(&changes.header)?;
        sql.exec(
            "INSERT OR REPLACE INTO budget_header (id, state) VALUES (0, ?)",
            vec![header.into()],
        )?;
        for (name, state) in &changes.scopes {
            match state {
                Some(state) => sql.exec(
                    "INSERT OR REPLACE INTO budget_scopes (name, state) VALUES (?, ?)",
                    vec![name.as_str().into(), serde_json::to_string(state)?.into()],
                )?,
                None => sql.exec(
                    "DELETE FROM budget_scopes WHERE name = ?",
                    vec![name.as_str().into()],
                )?,
            };
        }
        for (id, state) in &changes.reservations {
            let id = worker::SqlStorageValue::Integer(i64::try_from(*id).unwrap_or(i64::MAX));
            match state {
                Some(state) => sql.exec(
                    "INSERT OR REPLACE INTO budget_reservations (id, state) VALUES (?, ?)",
                    vec![id, serde_json::to_string(state)?.into()],
                )?,
                None => sql.exec("DELETE FROM budget_reservations WHERE id = ?", vec![id])?,
            };
        }
        for event in events {
            sql.exec(
                "INSERT INTO budget_outbox (org_id, event) VALUES (?, ?)",
                vec![org_id.into(), serde_json::to_string(event)?.into()],
            )?;
        }
        Ok(())
    }

    fn now(&self) -> u64 {
        now_ms().saturating_add(self.offset_ms.get())
    }

    /// Moves the clock forward, for good (the ledger never runs backwards): test deployments only.
    fn shift_clock(&self, by_ms: u64) -> Result<Response> {
        if !kit::budget::test_clock_allowed(&self.env) {
            return Response::error("the test clock is off", 403);
        }
        let offset = self.offset_ms.get().saturating_add(by_ms);
        let stored = i64::try_from(offset).unwrap_or(i64::MAX);
        self.state.storage().sql().exec(
            "INSERT OR REPLACE INTO budget_clock (id, offset_ms) VALUES (0, ?)",
            vec![worker::SqlStorageValue::Integer(stored)],
        )?;
        self.offset_ms.set(offset);
        Response::from_bytes(serde_json::to_vec(&AdminAnswer::default())?)
    }

    /// Stores the org this object serves the first time a call names it.
    fn remember_org(&self, org_id: &str) -> Result<()> {
        if org_id.is_empty() || *self.org_id.borrow() == org_id {
            return Ok(());
        }
        self.state.storage().sql().exec(
            "INSERT OR REPLACE INTO budget_org (id, org_id) VALUES (0, ?)",
            vec![org_id.into()],
        )?;
        *self.org_id.borrow_mut() = org_id.to_string();
        Ok(())
    }

    fn outbox_len(&self) -> Result<usize> {
        let rows: Vec<CountRow> = self
            .state
            .storage()
            .sql()
            .exec("SELECT COUNT(*) AS n FROM budget_outbox", None)?
            .to_array()?;
        Ok(rows
            .first()
            .map_or(0, |r| usize::try_from(r.n).unwrap_or(0)))
    }

    /// Copies a batch of outbox events to D1 (`INSERT OR IGNORE` by a stable id, so a copy that landed
    /// but was not deleted here is not duplicated), then deletes them here.
    async fn copy_outbox(&self) -> std::result::Result<(), kit::Fault> {
        let sql = self.state.storage().sql();
        let rows: Vec<OutboxRow> = sql
            .exec(
                &format!("SELECT seq, org_id, event FROM budget_outbox ORDER BY seq LIMIT {OUTBOX_BATCH}"),
                None,
            )?
            .to_array()?;
        if rows.is_empty() {
            return Ok(());
        }
        let db = Db::from_env(&self.env)?;
        let mut statements = Vec::with_capacity(rows.len());
        for row in &rows {
            let event: Event = match serde_json::from_str(&row.event) {
                Ok(event) => event,
                Err(e) => {
                    worker::console_error!("dropping an unreadable budget event: {}", e);
                    continue;
                }
            };
            let id = format!("bev_{}_{}", row.org_id, row.seq);
            statements.push(event_row(&db, &id, &row.org_id, &event)?);
        }
        if !statements.is_empty() {
            db.batch(statements).await?;
        }
        let last = rows.last().map_or(0, |r| r.seq);
        sql.exec(
            "DELETE FROM budget_outbox WHERE seq <= ?",
            vec![worker::SqlStorageValue::Integer(last)],
        )?;
        Ok(())
    }

    /// When the next sweep is due: past the hold time of the oldest reservation still held.
    fn sweep_due(&self, now: u64) -> Option<u64> {
        let ledger = self.ledger.borrow();
        (ledger.outstanding() > 0).then(|| now + ledger.settings().hold_ms + 1_000)
    }

    /// After a call: an alarm at the next sweep unless one is already set. A set alarm is never moved
    /// later: one whose time has passed may not have run yet (it clears its mark when it does).
    async fn schedule(&self, now: u64) -> Result<()> {
        let pending = self.alarm_at_ms.get();
        let want = if pending != 0 {
            None
        } else {
            self.sweep_due(now)
        };
        match want {
            Some(at) if pending == 0 || at < pending => self.set_alarm(at).await,
            _ => Ok(()),
        }
    }

    async fn set_alarm(&self, at: u64) -> Result<()> {
        self.alarm_at_ms.set(at);
        self.state.storage().set_alarm(at as i64).await
    }
}

/// The D1 row of one event.
fn event_row(
    db: &Db,
    id: &str,
    org_id: &str,
    event: &Event,
) -> std::result::Result<worker::D1PreparedStatement, kit::Fault> {
    const SQL: &str = "INSERT OR IGNORE INTO budget_events (id, org_id, scope, type, period, period_start_ms, \
                       dimension, threshold, used, request_id, at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
    let int = |v: u64| Arg::Int(i64::try_from(v).unwrap_or(i64::MAX));
    match event {
        Event::SoftThreshold(t) | Event::Exhausted(t) => {
            let kind = if matches!(event, Event::SoftThreshold(_)) {
                "soft_threshold"
            } else {
                "exhausted"
            };
            let dimension = match t.dimension {
                budget::Dimension::Usd => "usd",
                budget::Dimension::Tokens => "tokens",
            };
            db.stmt(
                SQL,
                &[
                    Arg::Text(id),
                    Arg::Text(org_id),
                    Arg::Text(&t.scope),
                    Arg::Text(kind),
                    Arg::Text(t.period.as_str()),
                    int(t.period_start_ms),
                    Arg::Text(dimension),
                    int(t.threshold),
                    int(t.used),
                    Arg::Null,
                    int(t.at_ms),
                ],
            )
        }
        Event::Expired(lapse) | Event::Forgotten(lapse) => {
            let kind = if matches!(event, Event::Expired(_)) {
                "expired"
            } else {
                "forgotten"
            };
            db.stmt(
                SQL,
                &[
                    Arg::Text(id),
                    Arg::Text(org_id),
                    Arg::Null,
                    Arg::Text(kind),
                    Arg::Null,
                    Arg::Null,
                    Arg::Null,
                    Arg::Null,
                    int(lapse.worst_case.usd_micros),
                    Arg::Text(&lapse.request_id),
                    int(lapse.at_ms),
                ],
            )
        }
    }
}

fn now_ms() -> u64 {
    kit::clock::now_ms().max(0) as u64
}
