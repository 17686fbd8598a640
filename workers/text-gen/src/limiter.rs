//! The rate limiter Durable Object: one per instance. Each call (releases of grants, settlements, then
//! admissions — see `kit::limiter`) runs in one synchronous step on the in-memory limiter, so concurrent
//! requests cannot race.
//!
//! Storage: the object's SQLite database, one row per scope, one per reservation or grant that may still
//! be settled, and a header (`limits::Limiter::take_changes`). Every call writes what it changed before
//! it answers, in the same synchronous step (SQL storage calls are synchronous and the writes of one
//! step commit together; the answer leaves only once they are durable), so a restart or an eviction
//! forgets nothing that was admitted. The state is loaded before the first call and before an alarm; a
//! failed read answers 500 (the caller refuses the request with 503) rather than admitting against an
//! empty state.

use kit::limiter::Calls;
use limits::{Changes, EntryState, Header, ScopeState};
use serde::Deserialize;
use std::cell::{Cell, RefCell};
use worker::{
    durable_object, DurableObject, Env, Request, Response, Result, SqlStorageValue, State,
};

/// Where an older build kept the whole state as one value (imported once, then deleted).
const LEGACY_KEY: &str = "limiter";
/// Idle scopes and expired entries are dropped at most this often (and by an alarm this long after a
/// call, so an idle object's storage empties too).
const PRUNE_EVERY_MS: u64 = 60_000;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS limiter_header (id INTEGER PRIMARY KEY CHECK (id = 0), state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS limiter_scopes (name TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS limiter_entries (id INTEGER PRIMARY KEY, state TEXT NOT NULL);";

#[durable_object]
pub struct Limiter {
    state: State,
    limiter: RefCell<limits::Limiter>,
    loaded: Cell<bool>,
    last_prune_ms: Cell<u64>,
    /// The stored entries below this id are known to be deleted.
    deleted_below: Cell<u64>,
    /// When the pending prune alarm fires (0: none set by this instance).
    alarm_at_ms: Cell<u64>,
}

impl DurableObject for Limiter {
    fn new(state: State, _env: Env) -> Self {
        Limiter {
            state,
            limiter: RefCell::new(limits::Limiter::default()),
            loaded: Cell::new(false),
            last_prune_ms: Cell::new(0),
            deleted_below: Cell::new(0),
            alarm_at_ms: Cell::new(0),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        if req.path() != "/calls" {
            return Response::error("not found", 404);
        }
        let calls: Calls = serde_json::from_slice(&req.bytes().await?)?;
        self.load().await?;
        let now = now_ms();
        let body = {
            let mut limiter = self.limiter.borrow_mut();
            if now.saturating_sub(self.last_prune_ms.get()) > PRUNE_EVERY_MS {
                limiter.prune(now);
                self.last_prune_ms.set(now);
            }
            for release in &calls.releases {
                limiter.release(now, release);
            }
            for call in &calls.settles {
                limiter.settle(now, &call.reservation, call.actual_tokens);
            }
            let admissions: Vec<limits::Admission> = calls
                .admits
                .iter()
                .map(|a| limiter.admit(now, &a.checks, a.tokens, a.lease))
                .collect();
            self.save(&mut limiter)?;
            serde_json::to_vec(&admissions)?
        };
        self.schedule_prune(now).await?;
        Response::from_bytes(body)
    }

    async fn alarm(&self) -> Result<Response> {
        self.alarm_at_ms.set(0);
        self.load().await?;
        let now = now_ms();
        let mut limiter = self.limiter.borrow_mut();
        limiter.prune(now);
        self.last_prune_ms.set(now);
        self.save(&mut limiter)?;
        Response::ok("pruned")
    }
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

impl Limiter {
    /// Restores the stored state once per object lifetime. Every failure is an error (never an empty
    /// state: admitting against it would let a whole window through again).
    async fn load(&self) -> Result<()> {
        if self.loaded.get() {
            return Ok(());
        }
        let sql = self.state.storage().sql();
        sql.exec(SCHEMA, None)?;
        let header: Vec<StateRow> = sql
            .exec("SELECT state FROM limiter_header WHERE id = 0", None)?
            .to_array()?;
        let header: Header = match header.first() {
            Some(row) => serde_json::from_str(&row.state)?,
            None => Header::default(),
        };
        let mut limiter = limits::Limiter::restored(header);
        let scopes: Vec<ScopeRow> = sql
            .exec("SELECT name, state FROM limiter_scopes", None)?
            .to_array()?;
        for row in scopes {
            limiter.restore_scope(row.name, serde_json::from_str::<ScopeState>(&row.state)?);
        }
        let entries: Vec<StateRow> = sql
            .exec("SELECT state FROM limiter_entries", None)?
            .to_array()?;
        for row in entries {
            limiter.restore_entry(serde_json::from_str::<EntryState>(&row.state)?);
        }
        // A state saved whole by an older build: it is the newer one if it exists (this build deletes it
        // as soon as it has stored it piece by piece).
        let storage = self.state.storage();
        if let Some(text) = storage.get::<String>(LEGACY_KEY).await? {
            let mut legacy: limits::Limiter = serde_json::from_str(&text)?;
            legacy.mark_all_changed();
            self.save(&mut legacy)?;
            storage.delete(LEGACY_KEY).await?;
            limiter = legacy;
        }
        *self.limiter.borrow_mut() = limiter;
        self.loaded.set(true);
        Ok(())
    }

    /// Writes what changed since the last save (synchronously: see the module note). On failure the
    /// changes are kept for the next save and the call fails.
    fn save(&self, limiter: &mut limits::Limiter) -> Result<()> {
        let changes = limiter.take_changes();
        match self.write(&changes) {
            Ok(()) => Ok(()),
            Err(e) => {
                limiter.retake(changes);
                Err(e)
            }
        }
    }

    fn write(&self, changes: &Changes) -> Result<()> {
        let sql = self.state.storage().sql();
        let header = serde_json::to_string(&changes.header)?;
        sql.exec(
            "INSERT OR REPLACE INTO limiter_header (id, state) VALUES (0, ?)",
            vec![header.into()],
        )?;
        for (name, state) in &changes.scopes {
            match state {
                Some(state) => sql.exec(
                    "INSERT OR REPLACE INTO limiter_scopes (name, state) VALUES (?, ?)",
                    vec![name.as_str().into(), serde_json::to_string(state)?.into()],
                )?,
                None => sql.exec(
                    "DELETE FROM limiter_scopes WHERE name = ?",
                    vec![name.as_str().into()],
                )?,
            };
        }
        for (id, state) in &changes.entries {
            let id = row_id(*id);
            match state {
                Some(state) => sql.exec(
                    "INSERT OR REPLACE INTO limiter_entries (id, state) VALUES (?, ?)",
                    vec![id, serde_json::to_string(state)?.into()],
                )?,
                None => sql.exec("DELETE FROM limiter_entries WHERE id = ?", vec![id])?,
            };
        }
        if changes.entries_below > self.deleted_below.get() {
            sql.exec(
                "DELETE FROM limiter_entries WHERE id < ?",
                vec![row_id(changes.entries_below)],
            )?;
            self.deleted_below.set(changes.entries_below);
        }
        Ok(())
    }

    /// Sets the prune alarm unless one is already due within the next minute.
    async fn schedule_prune(&self, now: u64) -> Result<()> {
        if self.alarm_at_ms.get() > now {
            return Ok(());
        }
        let at = now + PRUNE_EVERY_MS + 1_000;
        self.alarm_at_ms.set(at);
        self.state.storage().set_alarm(at as i64).await
    }
}

/// Entry ids as SQLite integers (ids count up from 0 per object: far below 2^53).
fn row_id(id: u64) -> SqlStorageValue {
    SqlStorageValue::Integer(i64::try_from(id).unwrap_or(i64::MAX))
}

fn now_ms() -> u64 {
    kit::clock::now_ms().max(0) as u64
}
