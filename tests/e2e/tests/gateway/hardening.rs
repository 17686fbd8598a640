//! Regression cases of the hardening issue on the generation path: token limits that bound what the
//! upstream may generate (no max_tokens, client-cut streams) under concurrency, fallbacks admitted by
//! their own limits and the key's allow-list, direct `provider/model` names priced and gated by their
//! config, the response cache scoped per project and config version, and wire details (`param`, ids).

use e2e::{case, ensure, ensure_eq, expect_error, expect_status, Case, Ctx};
use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::rate_limits::split;
use crate::streams::read_openai;
use crate::tenant::{
    add_key, add_model, attempts, await_usage, count, group, put_policy, tenant, CLAUDE, GPT,
};
use crate::wire::{chat_body, fault_key, post, str_at, streamed, user, CHAT};

pub fn cases() -> Vec<Case> {
    vec![
        case!(token_limit_holds_under_50_parallel_requests_without_max_tokens),
        case!(client_cut_streams_are_counted_and_keep_their_reservation),
        case!(fallbacks_pass_their_own_limits_and_the_allow_list),
        case!(direct_names_are_priced_and_gated_by_their_config),
        case!(cache_is_per_project_and_per_config_version),
        case!(errors_name_their_param_and_ids_agree),
    ]
}

/// No max_tokens: each request now reserves (and sends upstream) the default completion limit of 4096,
/// so under 20,000 tokens/min at most four pass, and what they generated stays within the limit plus one
/// reservation. (Before: 1024 was reserved, nothing was sent upstream, and ~19 requests generated 5,000
/// tokens each.)
async fn token_limit_holds_under_50_parallel_requests_without_max_tokens(
    ctx: &Ctx,
) -> Result<(), String> {
    const LIMIT: u64 = 20_000;
    const DEFAULT_COMPLETION: u64 = 4096;
    let t = tenant(ctx, "tpm50").await?;
    put_policy(
        ctx,
        &t.instance_id,
        "key",
        &t.key.id,
        json!({"tokens_per_minute": LIMIT}),
    )
    .await?;
    let fkey = fault_key("tpm50");
    let body = json!({"model": GPT,
        "messages": [user(&format!("generate a lot [[sim: tokens=5000, key={fkey}]]"))]});
    let api = t.api(ctx);
    let answers = join_all((0..50).map(|_| post(&api, CHAT, &body, &[]))).await;
    let (ok, limited) = split(answers.into_iter().collect::<Result<Vec<_>, _>>()?)?;
    ensure!(
        !ok.is_empty() && limited.len() >= 40,
        "(200s, 429s) = ({}, {})",
        ok.len(),
        limited.len()
    );
    let mut used = 0;
    let mut largest_prompt = 0;
    for resp in &ok {
        let completion = resp
            .body
            .pointer("/usage/completion_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let prompt = resp
            .body
            .pointer("/usage/prompt_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        ensure!(
            completion <= DEFAULT_COMPLETION,
            "the upstream generated {completion} > the sent limit"
        );
        used += completion + prompt;
        largest_prompt = largest_prompt.max(prompt);
    }
    let bound = LIMIT + DEFAULT_COMPLETION + largest_prompt;
    ensure!(
        used <= bound,
        "{} admitted requests used {used} tokens > {bound}",
        ok.len()
    );
    ensure_eq!(
        attempts(ctx, &fkey).await?,
        ok.len() as u64,
        "requests that reached the provider"
    );
    Ok(())
}

/// Opens a stream and drops it after its first bytes (a client that went away).
async fn cut_stream(ctx: &Ctx, secret: &str, body: &Value) -> Result<u16, String> {
    let mut resp = ctx
        .http
        .post(format!("{}{CHAT}", ctx.base))
        .bearer_auth(secret)
        .json(body)
        .send()
        .await
        .map_err(|e| format!("stream: {e}"))?;
    let status = resp.status().as_u16();
    if status == 200 {
        resp.chunk()
            .await
            .map_err(|e| format!("first chunk: {e}"))?;
    }
    Ok(status)
}

/// A stream the client cuts used to settle as zero tokens at $0, so its tokens/min never counted. Now its
/// row counts what was sent (never zero) and its reservation stands: of 50 parallel streams reserving
/// 2,000 tokens each under 10,000 tokens/min, exactly four pass, and once the clients have cut them all
/// and their rows are written, the window still holds them: the next request is refused.
async fn client_cut_streams_are_counted_and_keep_their_reservation(
    ctx: &Ctx,
) -> Result<(), String> {
    let t = tenant(ctx, "cut-tpm").await?;
    put_policy(
        ctx,
        &t.instance_id,
        "key",
        &t.key.id,
        json!({"tokens_per_minute": 10_000}),
    )
    .await?;
    // Slow chunks: the client is gone long before the stream would end.
    let body = streamed(
        json!({"model": GPT, "max_tokens": 2000,
               "messages": [user("a long answer [[sim: tokens=2000, chunk_delay_ms=50]]")]}),
        false,
    );
    let statuses = join_all((0..50).map(|_| cut_stream(ctx, &t.key.secret, &body))).await;
    let statuses = statuses.into_iter().collect::<Result<Vec<u16>, String>>()?;
    let cut = statuses.iter().filter(|s| **s == 200).count() as u64;
    let refused = statuses.iter().filter(|s| **s == 429).count() as u64;
    ensure!(
        cut == 4 && refused == 46,
        "statuses of 50 parallel streams under 10,000 tokens/min: {statuses:?}"
    );
    let rows = await_usage(&t.api(ctx), &t.instance_id, "status", |rows| {
        count(group(rows, "499"), "requests") >= cut
    })
    .await?;
    let row = group(&rows, "499");
    ensure!(
        count(row, "completion_tokens") > 0,
        "cut streams counted no completion: {rows:?}"
    );
    ensure!(
        count(row, "prompt_tokens") > 0,
        "cut streams counted no prompt: {rows:?}"
    );
    let cost = row
        .and_then(|r| r.get("cost_usd").and_then(Value::as_f64))
        .unwrap_or(0.0);
    ensure!(cost > 0.0, "cut streams cost nothing: {rows:?}");
    // The settlements follow the rows in the same flush; the window still holds the reservations.
    for _ in 0..3 {
        let probe = json!({"model": GPT, "max_tokens": 2000, "messages": [user("one more")]});
        let resp = post(&t.api(ctx), CHAT, &probe, &[]).await?;
        expect_error(&resp, 429, "rate_limited")?;
    }
    Ok(())
}

/// Fallbacks used to skip their provider's limits and the key's allow-list.
async fn fallbacks_pass_their_own_limits_and_the_allow_list(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "fb-limits").await?;
    crate::fallbacks::rejected_key(ctx, &t.instance_id).await?;
    add_model(
        ctx,
        &t.instance_id,
        json!({"id": "gpt-primary", "provider": "openai", "upstream_model": "gpt-4o",
               "provider_key": "openai-revoked", "fallbacks": [CLAUDE]}),
    )
    .await?;
    put_policy(
        ctx,
        &t.instance_id,
        "provider",
        "anthropic",
        json!({"requests_per_minute": 1}),
    )
    .await?;
    let first = post(
        &t.api(ctx),
        CHAT,
        &chat_body("gpt-primary", "via the fallback"),
        &[],
    )
    .await?;
    expect_status(&first, 200)?;
    // The fallback's provider allows one request a minute: the next one is not sent there.
    let key = fault_key("fb-limits");
    let second = post(
        &t.api(ctx),
        CHAT,
        &chat_body("gpt-primary", &format!("again [[sim: key={key}]]")),
        &[],
    )
    .await?;
    ensure_eq!(
        second.status,
        502,
        "the primary's error once the fallback is limited: {}",
        second.describe()
    );
    ensure_eq!(
        attempts(ctx, &key).await?,
        0,
        "answered attempts past the fallback's limit"
    );

    let narrow = add_key(
        ctx,
        &t.instance_id,
        json!({"name": "narrow", "scopes": ["generate"], "models": ["gpt-primary"]}),
    )
    .await?;
    let resp = post(
        &ctx.with_key(&narrow.secret),
        CHAT,
        &chat_body("gpt-primary", "no claude for me"),
        &[],
    )
    .await?;
    ensure_eq!(
        resp.status,
        502,
        "a fallback outside the allow-list answered: {}",
        resp.describe()
    );
    Ok(())
}

/// `provider/model` names used to cost $0 and skip `enabled`.
async fn direct_names_are_priced_and_gated_by_their_config(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "direct").await?;
    let resp = post(
        &t.api(ctx),
        CHAT,
        &chat_body("openai/gpt-4o-mini", "direct"),
        &[],
    )
    .await?;
    expect_status(&resp, 200)?;
    ensure_eq!(
        str_at(&resp.body, "/model")?,
        "openai/gpt-4o-mini",
        "model echoed as asked"
    );
    let rows = await_usage(&t.api(ctx), &t.instance_id, "model", |rows| {
        count(group(rows, "openai/gpt-4o-mini"), "requests") >= 1
    })
    .await?;
    let cost = group(&rows, "openai/gpt-4o-mini")
        .and_then(|r| r.get("cost_usd").and_then(Value::as_f64))
        .unwrap_or(0.0);
    ensure!(
        cost > 0.0,
        "a direct name is priced by its config: {rows:?}"
    );
    let missing = post(
        &t.api(ctx),
        CHAT,
        &chat_body("openai/gpt-4o", "no config"),
        &[],
    )
    .await?;
    expect_error(&missing, 404, "model_not_found")?;
    let off = ctx
        .admin()
        .patch(
            &format!("/admin/instances/{}/models/{GPT}", t.instance_id),
            json!({"enabled": false}),
        )
        .await?;
    expect_status(&off, 200)?;
    let resp = post(
        &t.api(ctx),
        CHAT,
        &chat_body("openai/gpt-4o-mini", "disabled"),
        &[],
    )
    .await?;
    expect_error(&resp, 403, "model_disabled")?;
    Ok(())
}

/// A project key that asks for the cache.
async fn project_key(ctx: &Ctx, instance_id: &str, slug: &str) -> Result<String, String> {
    let resp = ctx
        .admin()
        .post(
            &format!("/admin/instances/{instance_id}/projects"),
            json!({"name": slug, "slug": slug}),
        )
        .await?;
    let project = expect_status(&resp, 201)?;
    let project_id = str_at(project, "/id")?.to_string();
    let key = add_key(
        ctx,
        instance_id,
        json!({"name": slug, "scopes": ["generate"], "project_id": project_id}),
    )
    .await?;
    Ok(key.secret)
}

/// The cache was shared by every project of an instance and outlived config changes.
async fn cache_is_per_project_and_per_config_version(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "cache-scope").await?;
    let a = project_key(ctx, &t.instance_id, "alpha").await?;
    let b = project_key(ctx, &t.instance_id, "beta").await?;
    let mut body = chat_body(GPT, "cache me per project");
    if let Some(o) = body.as_object_mut() {
        o.insert("temperature".into(), json!(0));
    }
    let cached = [("x-de-cache", "true")];
    let hit = |resp: &e2e::client::Resp| resp.header("x-de-cache") == Some("hit");
    let first = post(&ctx.with_key(&a), CHAT, &body, &cached).await?;
    expect_status(&first, 200)?;
    let again = post(&ctx.with_key(&a), CHAT, &body, &cached).await?;
    ensure!(
        hit(&again),
        "the same project's repeat is a hit: {:?}",
        again.headers
    );
    let other = post(&ctx.with_key(&b), CHAT, &body, &cached).await?;
    expect_status(&other, 200)?;
    ensure!(
        !hit(&other),
        "another project read project alpha's cached answer"
    );
    let patch = ctx
        .admin()
        .patch(
            &format!("/admin/instances/{}/models/{GPT}", t.instance_id),
            json!({"output_price_per_mtok": 9.0}),
        )
        .await?;
    expect_status(&patch, 200)?;
    let after = post(&ctx.with_key(&a), CHAT, &body, &cached).await?;
    expect_status(&after, 200)?;
    ensure!(
        !hit(&after),
        "a cached answer outlived a change of its model config"
    );
    Ok(())
}

/// OpenAI's error schema has `param` (null when none); stream and whole-response ids follow one rule.
async fn errors_name_their_param_and_ids_agree(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "wire-details").await?;
    let api = t.api(ctx);
    let bad = post(
        &api,
        CHAT,
        &json!({"model": GPT, "messages": [user("x")], "max_tokens": 0}),
        &[],
    )
    .await?;
    expect_error(&bad, 422, "invalid_value")?;
    ensure_eq!(
        bad.body
            .pointer("/error/param")
            .cloned()
            .unwrap_or_default(),
        json!("max_tokens"),
        "param of {}",
        bad.text
    );
    let unauth = ctx.with_key("de_test_nope").get("/v1/models").await?;
    let error = unauth
        .body
        .get("error")
        .and_then(Value::as_object)
        .ok_or("no error object")?;
    ensure!(
        error.get("param") == Some(&Value::Null),
        "param missing or not null: {}",
        unauth.text
    );

    let whole = post(&api, CHAT, &chat_body(GPT, "whole"), &[]).await?;
    let rid = whole
        .request_id()
        .ok_or("no request id")?
        .trim_start_matches("req_")
        .to_string();
    ensure_eq!(
        str_at(&whole.body, "/id")?,
        format!("chatcmpl-{rid}"),
        "whole-response id"
    );
    let resp = post(
        &api,
        CHAT,
        &streamed(chat_body(GPT, "streamed"), false),
        &[],
    )
    .await?;
    let rid = resp
        .request_id()
        .ok_or("no request id")?
        .trim_start_matches("req_")
        .to_string();
    let stream = read_openai(&resp)?;
    let first = stream.chunks.first().ok_or("no chunk")?;
    ensure_eq!(
        str_at(first, "/id")?,
        format!("chatcmpl-{rid}"),
        "stream id"
    );
    let wrong_method = api.get(CHAT).await?;
    expect_error(&wrong_method, 405, "method_not_allowed")?;
    Ok(())
}
