//! Client of the budget ledgers: one Durable Object per org (class `Budgets`, hosted by the text-gen
//! worker), holding the `budget::Ledger` of every budget in the org — the org's own, its instances',
//! projects' and keys'. A request whose chain has a budget (the instance snapshot says so, see
//! `generation::spend::budget_chain`) reserves its worst case there before the upstream is called, in
//! one call that judges every scope of the chain at once; the settlement with what it really cost rides
//! with its usage row (`crate::usage`). The admin API sets, removes and reads budgets through
//! [`admin`].
//!
//! A ledger that cannot be asked in time refuses the request (503 `budget_unavailable`): a budget is
//! never bypassed because its ledger is slow.

use crate::fault::Fault;
use crate::{bindings, raw};
use budget::{Budget, Cost, Period, Refusal, Remaining, Reservation, Standing};
use serde::{Deserialize, Serialize};
use worker::wasm_bindgen::JsValue;
use worker::Env;

/// One reservation: `worst` at every scope of `chain`, under the request's own id (a retried call holds
/// once).
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct ReserveCall {
    pub request_id: String,
    pub chain: Vec<String>,
    pub worst: Cost,
}

/// One reservation settled with what the request cost.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct SettleCall {
    pub reservation: u64,
    pub actual: Cost,
}

/// `POST /calls`: settlements, then at most one reservation.
#[derive(Serialize, Deserialize, Default, Debug)]
pub struct Calls {
    pub org_id: String,
    #[serde(default)]
    pub settles: Vec<SettleCall>,
    #[serde(default)]
    pub reserve: Option<ReserveCall>,
}

/// The answer to [`Calls`]: the reservation's verdict, and what the chain has left after it.
#[derive(Serialize, Deserialize, Default, Debug)]
pub struct Answer {
    #[serde(default)]
    pub reserved: Option<Verdict>,
    #[serde(default)]
    pub remaining: Option<Remaining>,
}

#[derive(Serialize, Deserialize, Debug)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Held(Reservation),
    Refused(Refusal),
}

/// What a budget is seeded with when it is created: the spend its scope already has this period (from
/// the usage rows).
#[derive(Serialize, Deserialize, Clone, Copy, Debug)]
pub struct Seed {
    pub period_start_ms: u64,
    pub spent: Cost,
}

/// `POST /admin`: the admin API's operations on one org's ledger.
#[derive(Serialize, Deserialize, Debug)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AdminCall {
    /// Sets (or replaces) the scope's budget of `budget.period`; a new one starts from `seed`.
    Set {
        scope: String,
        budget: Budget,
        #[serde(default)]
        seed: Option<Seed>,
    },
    Remove {
        scope: String,
        period: Period,
    },
    /// The standings of the scopes' budgets.
    Standings {
        scopes: Vec<String>,
    },
    /// What the chain has left (the tightest budget per dimension), with its scopes' standings.
    Remaining {
        chain: Vec<String>,
    },
    /// Moves this ledger's clock forward (a period reset in the e2e suites). Refused unless the
    /// ledger's worker has the test-clock setting ([`TEST_CLOCK_VAR`]), which deployments leave out.
    ShiftClock {
        by_ms: u64,
    },
}

/// Var: `true` lets the admin API move a budget ledger's clock forward. Local wrangler configs only.
pub const TEST_CLOCK_VAR: &str = "DE_TEST_CLOCK";

/// Whether this worker has the test-clock setting.
pub fn test_clock_allowed(env: &Env) -> bool {
    env.var(TEST_CLOCK_VAR)
        .map(|v| v.to_string() == "true")
        .unwrap_or(false)
}

/// An [`AdminCall`] with the org it is for.
#[derive(Serialize, Deserialize, Debug)]
pub struct Admin {
    pub org_id: String,
    #[serde(flatten)]
    pub call: AdminCall,
}

#[derive(Serialize, Deserialize, Default, Debug)]
pub struct AdminAnswer {
    #[serde(default)]
    pub standings: Vec<Standing>,
    #[serde(default)]
    pub remaining: Option<Remaining>,
    #[serde(default)]
    pub removed: bool,
}

/// A reservation held for a request: settled with its usage row.
#[derive(Clone, Debug)]
pub struct Hold {
    pub org_id: String,
    pub reservation: u64,
    /// What the chain had left once this request's worst case was held (the response headers).
    pub remaining: Remaining,
}

/// A ledger call that has not answered in this long has failed.
const CALL_DEADLINE_MS: u64 = 3_000;

/// Holds `worst` at every scope of `chain` in the org's ledger, or says which budget refused.
pub async fn reserve(
    env: &Env,
    org_id: &str,
    request_id: &str,
    chain: Vec<String>,
    worst: Cost,
) -> Result<Result<Hold, Refusal>, Fault> {
    let calls = Calls {
        org_id: org_id.to_string(),
        settles: Vec::new(),
        reserve: Some(ReserveCall {
            request_id: request_id.to_string(),
            chain,
            worst,
        }),
    };
    let answer: Answer = post(env, org_id, CALLS_URL, &calls).await?;
    match answer.reserved {
        Some(Verdict::Held(reservation)) => Ok(Ok(Hold {
            org_id: org_id.to_string(),
            reservation: reservation.id,
            remaining: answer.remaining.unwrap_or_default(),
        })),
        Some(Verdict::Refused(refusal)) => Ok(Err(refusal)),
        None => Err(Fault::BudgetUnavailable(
            "the ledger sent no verdict".into(),
        )),
    }
}

/// Settles reservations of one org.
pub async fn settle(env: &Env, org_id: &str, settles: Vec<SettleCall>) -> Result<(), Fault> {
    if settles.is_empty() {
        return Ok(());
    }
    let calls = Calls {
        org_id: org_id.to_string(),
        settles,
        reserve: None,
    };
    post::<_, Answer>(env, org_id, CALLS_URL, &calls)
        .await
        .map(|_| ())
}

/// One admin operation on the org's ledger.
pub async fn admin(env: &Env, org_id: &str, call: AdminCall) -> Result<AdminAnswer, Fault> {
    let admin = Admin {
        org_id: org_id.to_string(),
        call,
    };
    post(env, org_id, ADMIN_URL, &admin).await
}

async fn post<T: Serialize, A: for<'de> Deserialize<'de>>(
    env: &Env,
    org_id: &str,
    url: &str,
    call: &T,
) -> Result<A, Fault> {
    let unavailable = |what: String| Fault::BudgetUnavailable(what);
    let stub: raw::RawStub = env
        .durable_object(bindings::BUDGETS)?
        .get_by_name(org_id)?
        .into_rpc();
    let body = serde_json::to_vec(call)?;
    let outbound = raw::Outbound {
        method: "POST",
        url,
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
    let bytes = raw::bytes(&response).await.map_err(failed)?;
    Ok(serde_json::from_slice(&bytes)?)
}

/// The host part is ignored by a Durable Object; the path selects the operation.
const CALLS_URL: &str = "https://budgets/calls";
const ADMIN_URL: &str = "https://budgets/admin";
