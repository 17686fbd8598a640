//! Budgets: spend limits on an org, an instance, a project or an API key, per period. The definitions
//! are D1 rows (what the generation path's snapshot reads to know a chain has a budget); the running
//! spend and the reservations live in the org's ledger object (`kit::budget`), which these handlers set
//! and read.
//!
//! Who may set what: a budget bounds what is below it, so it is set from above. Org and instance
//! budgets need the org's own admin rights (the platform token, or a key of an org owner or admin that
//! is not bound to a project); project budgets the instance's (not a project-bound key); key budgets
//! the key's project's, and never by the key itself. Reading needs admin:read on the instance, and a
//! project-bound key sees its project's budgets and its keys' only.
//!
//! Writes: a new or changed budget goes to D1 (with its audit row, in one batch) and then to the
//! ledger, which seeds a new budget with what its scope already spent this period (from the usage rows,
//! rounded per row as settlements are). A ledger that does not answer leaves the budget saved but not
//! applied: the 503 says to repeat the (idempotent) request. A removal goes to the ledger first, then
//! to D1, so a failure between them leaves the budget listed and removable again, never applied
//! without being listed.

use crate::ctx::Ctx;
use crate::nodes;
use budget::{
    format_usd, micros_to_usd, rfc3339, usd_to_micros, Budget, Headroom, Period, Standing,
};
use envelope::ApiError;
use kit::budget::{AdminCall, Seed};
use kit::call::Reply;
use kit::store::budgets::{self as repo, Place, Row};
use kit::store::nodes::Level;
use kit::Fault;
use serde_json::{json, Value};
use tenancy::access::{self, Need, Target};
use tenancy::inputs::{budget_path, BudgetInput, BudgetScope};
use tenancy::principal::Actor;
use worker::Request;

/// A budget's place, resolved and authorized.
struct Resolved {
    scope: String,
    org_id: String,
    instance_id: Option<String>,
    project_id: Option<String>,
}

impl Resolved {
    fn place(&self) -> Place<'_> {
        Place {
            scope: &self.scope,
            org_id: &self.org_id,
            instance_id: self.instance_id.as_deref(),
            project_id: self.project_id.as_deref(),
        }
    }
}

fn period(name: &str) -> Result<Period, Fault> {
    Period::parse(name).ok_or_else(|| {
        ApiError::invalid_field("period", "must be daily, weekly, monthly or total").into()
    })
}

fn now_ms(ctx: &Ctx<'_>) -> u64 {
    u64::try_from(ctx.now).unwrap_or(0)
}

/// The org's own budget: its owners' and admins' (or the platform's) to set.
async fn org_place(ctx: &Ctx<'_>, org_id: &str, need: Need) -> Result<Resolved, Fault> {
    let org = nodes::load(ctx, Level::Org, org_id).await?;
    ctx.authorize(need, &Target::org(&org.id))?;
    Ok(Resolved {
        scope: format!("org:{}", org.id),
        org_id: org.id,
        instance_id: None,
        project_id: None,
    })
}

/// An instance's, project's or key's budget, authorized for `need` (see the module note).
async fn instance_place(
    ctx: &Ctx<'_>,
    instance_id: &str,
    scope: &str,
    target: &str,
    need: Need,
) -> Result<Resolved, Fault> {
    let instance = nodes::load(ctx, Level::Instance, instance_id).await?;
    let org_id = instance.org_id.clone();
    // Out of reach is a 404 whatever the scope.
    ctx.authorize(Need::Read, &Target::instance(&org_id, &instance.id))?;
    let kind = budget_path(scope, target, &instance.id)?;
    let project_id = match kind {
        BudgetScope::Instance => {
            let above = Target::org(&org_id);
            if need == Need::Write {
                ctx.authorize(Need::Write, &above).map_err(|_| {
                    ApiError::forbidden(
                        "forbidden",
                        "an instance budget is set by the org's owners or admins",
                    )
                })?;
            }
            None
        }
        BudgetScope::Project => {
            let project = nodes::load(ctx, Level::Project, target).await?;
            if project.instance_id.as_deref() != Some(instance.id.as_str()) {
                return Err(ApiError::not_found("project").into());
            }
            ctx.authorize(
                Need::Read,
                &Target::project(&org_id, &instance.id, &project.id),
            )?;
            if need == Need::Write {
                ctx.authorize(Need::Write, &Target::instance(&org_id, &instance.id))?;
            }
            Some(project.id)
        }
        BudgetScope::Key => {
            let key = kit::store::keys::get(&ctx.db, target)
                .await?
                .filter(|k| k.record.instance_id == instance.id)
                .ok_or_else(|| ApiError::not_found("key"))?;
            let project = key.record.project_id.clone();
            let at = Target::key(&org_id, &instance.id, project.as_deref());
            ctx.authorize(need, &at)?;
            if need == Need::Write {
                if let Actor::Key(actor) = &ctx.actor {
                    if actor.key_id == key.record.id {
                        return Err(ApiError::forbidden(
                            "forbidden",
                            "an API key cannot change its own budget",
                        )
                        .into());
                    }
                }
            }
            project
        }
    };
    Ok(Resolved {
        scope: format!("{}:{target}", kind.as_str()),
        org_id,
        instance_id: Some(instance.id),
        project_id,
    })
}

fn budget_of(input: &BudgetInput, period: Period) -> Result<Budget, Fault> {
    let usd_micros = match input.usd {
        Some(usd) => Some(
            usd_to_micros(usd)
                .ok_or_else(|| ApiError::unprocessable("usd", "must be a number of dollars"))?,
        ),
        None => None,
    };
    Ok(Budget {
        period,
        usd_micros,
        tokens: input.tokens,
        soft_percent: input.soft_percent,
    })
}

/// `PUT /admin/orgs/{org}/budgets/{period}`
pub async fn set_org(ctx: &Ctx<'_>, req: &mut Request, org_id: &str, period_name: &str) -> Reply {
    let period = period(period_name)?;
    let place = org_place(ctx, org_id, Need::Write).await?;
    set(ctx, req, place, period).await
}

/// `PUT /admin/instances/{ins}/budgets/{scope}/{target}/{period}`
pub async fn set_in_instance(
    ctx: &Ctx<'_>,
    req: &mut Request,
    instance_id: &str,
    scope: &str,
    target: &str,
    period_name: &str,
) -> Reply {
    let period = period(period_name)?;
    let place = instance_place(ctx, instance_id, scope, target, Need::Write).await?;
    set(ctx, req, place, period).await
}

async fn set(ctx: &Ctx<'_>, req: &mut Request, place: Resolved, period: Period) -> Reply {
    let input: BudgetInput = ctx.body(req).await?;
    let budget = budget_of(&input, period)?;
    let created = repo::set(&ctx.writer(), &place.place(), &budget).await?;
    let now = now_ms(ctx);
    let seed = if created {
        let start = period.start_ms(now);
        let spent = repo::spent_since(&ctx.db, &place.scope, start).await?;
        Some(Seed {
            period_start_ms: start,
            spent,
        })
    } else {
        None
    };
    let call = AdminCall::Set {
        scope: place.scope.clone(),
        budget,
        seed,
    };
    let answer = kit::budget::admin(ctx.env, &place.org_id, call)
        .await
        .map_err(not_applied)?;
    forget(ctx, &place).await?;
    let rows = repo::of_scopes(&ctx.db, std::slice::from_ref(&place.scope)).await?;
    let row = rows
        .iter()
        .find(|r| r.period == period.as_str())
        .ok_or_else(|| ApiError::not_found("budget"))?;
    let body = render(row, &answer.standings, now);
    if created {
        ctx.created(&body)
    } else {
        ctx.ok(&body)
    }
}

fn not_applied(fault: Fault) -> Fault {
    worker::console_error!("applying a budget to its ledger failed: {}", fault);
    ApiError::unavailable(
        "the budget was saved but its ledger did not answer, so it is not applied yet; repeat the request",
    )
    .with_retry_after(1)
    .into()
}

/// Snapshots that know which scopes have budgets are dropped: the org's every instance for an org
/// budget, else the budget's instance.
async fn forget(ctx: &Ctx<'_>, place: &Resolved) -> Result<(), Fault> {
    let instances = match &place.instance_id {
        Some(id) => vec![id.clone()],
        None => repo::instance_ids(&ctx.db, &place.org_id).await?,
    };
    kit::principal::forget_instances(ctx.env, &instances).await
}

/// `DELETE /admin/orgs/{org}/budgets/{period}`
pub async fn delete_org(ctx: &Ctx<'_>, org_id: &str, period_name: &str) -> Reply {
    let period = period(period_name)?;
    let place = org_place(ctx, org_id, Need::Write).await?;
    delete(ctx, place, period).await
}

/// `DELETE /admin/instances/{ins}/budgets/{scope}/{target}/{period}`
pub async fn delete_in_instance(
    ctx: &Ctx<'_>,
    instance_id: &str,
    scope: &str,
    target: &str,
    period_name: &str,
) -> Reply {
    let period = period(period_name)?;
    let place = instance_place(ctx, instance_id, scope, target, Need::Write).await?;
    delete(ctx, place, period).await
}

async fn delete(ctx: &Ctx<'_>, place: Resolved, period: Period) -> Reply {
    let rows = repo::of_scopes(&ctx.db, std::slice::from_ref(&place.scope)).await?;
    if !rows.iter().any(|r| r.period == period.as_str()) {
        return Err(ApiError::not_found("budget").into());
    }
    let call = AdminCall::Remove {
        scope: place.scope.clone(),
        period,
    };
    kit::budget::admin(ctx.env, &place.org_id, call).await?;
    repo::delete(&ctx.writer(), &place.place(), period).await?;
    forget(ctx, &place).await?;
    ctx.call.no_content()
}

/// `GET /admin/orgs/{org}/budgets`: every budget of the org.
pub async fn list_org(ctx: &Ctx<'_>, org_id: &str) -> Reply {
    let org = nodes::load(ctx, Level::Org, org_id).await?;
    ctx.authorize(Need::Read, &Target::org(&org.id))?;
    let rows = repo::list_org(&ctx.db, &org.id).await?;
    list(ctx, &org.id, rows).await
}

/// `GET /admin/instances/{ins}/budgets`: the instance's, its projects' and its keys' budgets (a
/// project-bound key: its project's and its keys').
pub async fn list_instance(ctx: &Ctx<'_>, instance_id: &str) -> Reply {
    let instance = nodes::load_for(ctx, Level::Instance, instance_id, Need::Read).await?;
    let only = access::project_filter(&ctx.actor);
    let rows = repo::list_instance(&ctx.db, &instance.id, only).await?;
    list(ctx, &instance.org_id, rows).await
}

async fn list(ctx: &Ctx<'_>, org_id: &str, rows: Vec<Row>) -> Reply {
    let standings = if rows.is_empty() {
        Vec::new()
    } else {
        let mut scopes: Vec<String> = rows.iter().map(|r| r.scope.clone()).collect();
        scopes.dedup();
        let call = AdminCall::Standings { scopes };
        kit::budget::admin(ctx.env, org_id, call).await?.standings
    };
    let now = now_ms(ctx);
    let data: Vec<Value> = rows.iter().map(|r| render(r, &standings, now)).collect();
    ctx.ok(&json!({"object": "list", "data": data, "next_cursor": null}))
}

/// `GET /v1/budget`: what the calling key may still spend — the tightest budget of its chain per
/// dimension, and every budget of the chain.
pub async fn status(ctx: &Ctx<'_>) -> Reply {
    let Actor::Key(key) = &ctx.actor else {
        return Err(ApiError::forbidden(
            "forbidden",
            "the platform admin token has no budget; call this with an API key",
        )
        .into());
    };
    let chain = generation::spend::chain(key);
    let rows = repo::of_scopes(&ctx.db, &chain).await?;
    let now = now_ms(ctx);
    let (remaining, standings) = if rows.is_empty() {
        (budget::Remaining::default(), Vec::new())
    } else {
        let call = AdminCall::Remaining {
            chain: chain.clone(),
        };
        let answer = kit::budget::admin(ctx.env, &key.org_id, call).await?;
        (answer.remaining.unwrap_or_default(), answer.standings)
    };
    // Chain order: the key's own budgets first.
    let mut data: Vec<(usize, Value)> = rows
        .iter()
        .map(|r| {
            let at = chain
                .iter()
                .position(|s| *s == r.scope)
                .unwrap_or(usize::MAX);
            (at, render(r, &standings, now))
        })
        .collect();
    data.sort_by_key(|(at, _)| *at);
    ctx.ok(&json!({
        "object": "budget_status",
        "key_id": key.key_id,
        "remaining": {
            "usd": remaining.usd.as_ref().map(|h| headroom(h, true)),
            "tokens": remaining.tokens.as_ref().map(|h| headroom(h, false)),
        },
        "data": data.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
    }))
}

fn headroom(h: &Headroom, usd: bool) -> Value {
    let amount = |v: u64| {
        if usd {
            json!(micros_to_usd(v))
        } else {
            json!(v)
        }
    };
    json!({
        "scope": h.scope,
        "period": h.period.as_str(),
        "limit": amount(h.limit),
        "remaining": amount(h.remaining),
        "resets_at": h.resets_at_ms.map(rfc3339),
    })
}

/// A budget as the API shows it: its definition and its current period's figures (spend settled,
/// reservations in flight, what is left).
fn render(row: &Row, standings: &[Standing], now: u64) -> Value {
    let (kind, target) = row
        .scope
        .split_once(':')
        .unwrap_or(("", row.scope.as_str()));
    let budget = row.budget();
    let period = budget.map_or(Period::Total, |b| b.period);
    // The ledger's current period (the latest it reports: earlier ones only hold late settles).
    let standing = standings
        .iter()
        .filter(|s| s.scope == row.scope && s.budget.period == period)
        .max_by_key(|s| s.period_start_ms);
    let current = standing.map_or_else(|| period.start_ms(now), |s| s.period_start_ms);
    let usd_limit = budget.and_then(|b| b.usd_micros);
    let token_limit = budget.and_then(|b| b.tokens);
    let (spent, reserved, open) = standing.map_or((None, None, 0), |s| {
        (Some(s.spent), Some(s.reserved), s.open)
    });
    let left = |limit: Option<u64>, dim: budget::Dimension| {
        let used = spent?.get(dim).saturating_add(reserved?.get(dim));
        Some(limit?.saturating_sub(used))
    };
    json!({
        "object": "budget",
        "scope": kind,
        "target": target,
        "period": row.period,
        "usd": usd_limit.map(micros_to_usd),
        "usd_exact": usd_limit.map(format_usd),
        "tokens": token_limit,
        "soft_percent": budget.and_then(|b| b.soft_percent),
        "period_start": rfc3339(current),
        "resets_at": period.end_ms(current).map(rfc3339),
        "spent_usd": spent.map(|c| micros_to_usd(c.usd_micros)),
        "spent_tokens": spent.map(|c| c.tokens),
        "reserved_usd": reserved.map(|c| micros_to_usd(c.usd_micros)),
        "reserved_tokens": reserved.map(|c| c.tokens),
        "in_flight": open,
        "remaining_usd": left(usd_limit, budget::Dimension::Usd).map(micros_to_usd),
        "remaining_tokens": left(token_limit, budget::Dimension::Tokens),
        "applied": standing.is_some(),
        "instance_id": row.instance_id,
        "project_id": row.project_id,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    })
}

/// `POST /admin/orgs/{org}/budgets/clock` `{"advance_ms": N}`: moves the org's ledger clock forward, so
/// the e2e suites can cross a period boundary. The platform token only, and only where the deployment
/// has the test-clock setting (`kit::budget::TEST_CLOCK_VAR`); elsewhere the route does not exist.
pub async fn shift_clock(ctx: &Ctx<'_>, req: &mut Request, org_id: &str) -> Reply {
    if !kit::budget::test_clock_allowed(ctx.env) || !matches!(ctx.actor, Actor::Platform) {
        return Err(ApiError::route_not_found().into());
    }
    let org = nodes::load(ctx, Level::Org, org_id).await?;
    let bytes = kit::call::read_body(req, crate::ctx::BODY_LIMIT).await?;
    let body: Value = envelope::parse_object(&bytes)?;
    let by_ms = body
        .get("advance_ms")
        .and_then(Value::as_u64)
        .ok_or_else(|| ApiError::invalid_field("advance_ms", "must be a number of milliseconds"))?;
    kit::budget::admin(ctx.env, &org.id, AdminCall::ShiftClock { by_ms }).await?;
    ctx.ok(&json!({"object": "budget_clock", "org_id": org.id, "advanced_ms": by_ms}))
}

/// `GET /admin/orgs/{org}/budget-events?limit=`: the soft-threshold, exhaustion and expiry events of
/// the org's budgets, newest first. Org-wide, so for the platform token or a key that manages the org.
pub async fn events(ctx: &Ctx<'_>, org_id: &str) -> Reply {
    let org = nodes::load(ctx, Level::Org, org_id).await?;
    ctx.authorize(Need::Read, &Target::org(&org.id))?;
    if access::instance_filter(&ctx.actor).is_some() {
        return Err(ApiError::forbidden(
            "forbidden",
            "budget events are org-wide: read them with the key of an org owner or admin",
        )
        .into());
    }
    let limit = tenancy::page::Page::from_query(&ctx.query, tenancy::ids::IdKind::Org)
        .map(|p| p.limit)
        .unwrap_or(100);
    let rows = repo::events(&ctx.db, &org.id, limit).await?;
    ctx.ok(&json!({"object": "list", "data": rows, "next_cursor": null}))
}
