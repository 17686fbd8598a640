use super::*;
use crate::catalog::tests::{key, model};
use crate::plan::{plan, Format, PlanInput};
use budget::{Headroom, Period};
use serde_json::json;
use tenancy::inputs::Provider;

fn principal(project: Option<&str>) -> Principal {
    Principal {
        key_id: "key_1".into(),
        key_prefix: "de_test_x".into(),
        name: "k".into(),
        org_id: "org_1".into(),
        instance_id: "ins_1".into(),
        project_id: project.map(str::to_string),
        user_id: None,
        role: None,
        scopes: vec![tenancy::roles::Scope::Generate],
        expires_at: None,
        revoked_at: None,
        allowed_models: None,
        access_revoked: false,
    }
}

fn catalog() -> Catalog {
    // $1 per million input tokens, $2 per million output tokens.
    Catalog::new(
        vec![model("gpt", Provider::Openai, "gpt-4o-mini")],
        vec![key("openai", Provider::Openai, None)],
        Vec::new(),
    )
}

#[test]
fn the_chain_runs_from_the_key_to_the_org() {
    assert_eq!(
        chain(&principal(Some("prj_1"))),
        ["key:key_1", "project:prj_1", "instance:ins_1", "org:org_1"]
    );
    assert_eq!(
        chain(&principal(None)),
        ["key:key_1", "instance:ins_1", "org:org_1"]
    );
}

#[test]
fn the_ledger_is_asked_only_when_a_scope_of_the_chain_has_a_budget() {
    let p = principal(Some("prj_1"));
    assert_eq!(budget_chain(&catalog(), &p), None);
    let other = catalog().with_budget_scopes(["project:prj_2".to_string()]);
    assert_eq!(budget_chain(&other, &p), None);
    let org = catalog().with_budget_scopes(["org:org_1".to_string()]);
    assert_eq!(budget_chain(&org, &p), Some(chain(&p)));
}

#[test]
fn the_worst_case_covers_the_prompt_bound_and_every_completion_token() {
    let p = principal(None);
    let body = json!({"model": "gpt", "max_tokens": 200,
        "messages": [{"role": "user", "content": "héllo wörld"}]});
    let request = providers::openai::parse_request(body.to_string().as_bytes()).unwrap();
    let plan = plan(PlanInput {
        format: Format::OpenAi,
        principal: &p,
        request,
        catalog: &catalog(),
        timeout_ms: 1_000,
        budget_ms: 1_000,
        cache: false,
    })
    .unwrap();
    let leg = &plan.legs[0];
    // 13 bytes + 4 framing + 3 priming; 200 completion tokens.
    assert_eq!(leg.prompt_tokens_bound, 20);
    assert_eq!(leg.completion_tokens, 200);
    let worst = chat_worst(leg);
    assert_eq!(worst, Cost::new(20 + 400, 220));
    // Whatever the upstream counts within those bounds costs no more.
    let config = &leg.route.config;
    assert!(actual(config.cost_usd(20, 200), 20, 200) == worst);
    assert!(actual(config.cost_usd(7, 150), 7, 150).usd_micros < worst.usd_micros);
}

#[test]
fn actual_costs_round_like_the_worst_case() {
    assert_eq!(actual(0.000_000_4, 1, 2), Cost::new(0, 3));
    assert_eq!(actual(1.234_567_5, 0, 0), Cost::new(1_234_568, 0));
    assert_eq!(actual(f64::NAN, 0, 0), Cost::ZERO);
}

fn refusal(never: bool, resets_at_ms: Option<u64>) -> Refusal {
    Refusal {
        scope: "project:prj_1".into(),
        period: Period::Monthly,
        dimension: Dimension::Usd,
        limit: 5_000_000,
        remaining: 400_000,
        resets_at_ms,
        never,
    }
}

#[test]
fn a_refusal_names_the_budget_what_is_left_and_the_reset() {
    let now = 1_764_000_000_000;
    let reset = now + 90_500;
    let e = refusal_error(&refusal(false, Some(reset)), Cost::new(520_000, 0), now);
    assert_eq!(e.status(), 429);
    assert_eq!(e.kind.error_type(), "insufficient_quota");
    assert_eq!(e.code, "budget_exceeded");
    assert_eq!(e.retry_after_secs, Some(91));
    assert_eq!(
        e.message,
        format!(
            "budget exceeded: the monthly budget of project prj_1 ($5 in USD) has $0.4 left, and this request may cost up to $0.52; it resets at {}",
            rfc3339(reset)
        )
    );
    let never = refusal_error(&refusal(true, Some(reset)), Cost::new(6_000_000, 0), now);
    assert_eq!(never.retry_after_secs, None);
    assert_eq!(
        never.message,
        "budget exceeded: the monthly budget of project prj_1 ($5 in USD) is below what this request may cost (up to $6), so it cannot be admitted until the budget is raised"
    );
    let total = refusal_error(&refusal(false, None), Cost::new(520_000, 0), now);
    assert_eq!(total.retry_after_secs, None);
    assert!(total.message.ends_with("it does not reset"));
}

#[test]
fn headers_report_the_tightest_budget_per_dimension() {
    let remaining = Remaining {
        usd: Some(Headroom {
            scope: "instance:ins_1".into(),
            period: Period::Daily,
            limit: 10_000_000,
            remaining: 2_500_000,
            resets_at_ms: Some(86_400_000),
        }),
        tokens: Some(Headroom {
            scope: "key:key_1".into(),
            period: Period::Total,
            limit: 1_000,
            remaining: 10,
            resets_at_ms: None,
        }),
    };
    let h = headers(&remaining);
    let get = |name: &str| h.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str());
    assert_eq!(get("x-de-budget-scope"), Some("instance:ins_1"));
    assert_eq!(get("x-de-budget-remaining-usd"), Some("2.5"));
    assert_eq!(get("x-de-budget-limit-usd"), Some("10"));
    assert_eq!(get("x-de-budget-reset-usd"), Some("1970-01-02T00:00:00Z"));
    assert_eq!(get("x-de-budget-remaining-tokens"), Some("10"));
    assert_eq!(get("x-de-budget-reset-tokens"), None);
    assert!(headers(&Remaining::default()).is_empty());
}
