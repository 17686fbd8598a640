//! `POST /v1/embeddings` through the platform: the openai Node SDK (its default base64 encoding, which it
//! decodes, and plain floats) and Vercel's AI SDK get the simulator's vectors under our model name; the
//! usage row counts the upstream's input tokens and their cost; token limits admit exactly what fits; what
//! cannot embed is a 400 naming the field.

use e2e::seed::unique;
use e2e::{case, ensure, ensure_eq, expect_error, Case, Ctx};
use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::tenant::{
    add_model, attempts, await_usage, count, group, put_policy, tenant, upstream, Tenant, GPT,
};
use crate::wire::post;

pub const EMBEDDINGS: &str = "/v1/embeddings";
pub const EMBED: &str = "embed-test";
/// USD per million input tokens.
const EMBED_PRICE: f64 = 0.02;

pub fn cases() -> Vec<Case> {
    vec![
        case!(openai_sdk_embeds_and_the_row_counts_the_input),
        case!(ai_sdk_embeds),
        case!(token_limits_admit_exactly_what_fits),
        case!(what_cannot_embed_is_400_naming_the_field),
    ]
}

/// A tenant with the embedding model `embed-test` (openai, `text-embedding-3-small`).
async fn embedding_tenant(ctx: &Ctx, label: &str) -> Result<Tenant, String> {
    let t = tenant(ctx, label).await?;
    add_model(
        ctx,
        &t.instance_id,
        json!({"id": EMBED, "provider": "openai", "upstream_model": "text-embedding-3-small",
               "capabilities": ["embeddings"], "input_price_per_mtok": EMBED_PRICE}),
    )
    .await?;
    Ok(t)
}

fn u64s(v: &Value, pointer: &str) -> Vec<u64> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

/// Two texts (3 and 4 words: 7 input tokens in the simulator), then one with `dimensions: 16` (3 more):
/// 8-float unit vectors in input order, then a 16-float one, under our model name; the same vector for
/// the same text whichever encoding carried it; the usage rows count 10 input tokens at the model's price.
async fn openai_sdk_embeds_and_the_row_counts_the_input(ctx: &Ctx) -> Result<(), String> {
    let t = embedding_tenant(ctx, "embed-sdk").await?;
    let key = unique("embed");
    let text = format!("hello [[sim: key={key}]]");
    let mut firsts = Vec::new();
    for scenario in ["openai", "openai-float"] {
        let got = e2e::sdk::run(
            ctx.root(),
            "embeddings.mjs",
            &[scenario, &ctx.base, &t.key.secret, EMBED, &text],
        )
        .await?;
        ensure_eq!(got.get("model"), Some(&json!(EMBED)), "{scenario}: model");
        ensure_eq!(u64s(&got, "/lengths"), [8, 8], "{scenario}: vector lengths");
        ensure_eq!(u64s(&got, "/indexes"), [0, 1], "{scenario}: indexes");
        let norm = got.get("norm").and_then(Value::as_f64).unwrap_or_default();
        ensure!(
            (norm - 1.0).abs() < 1e-4,
            "{scenario}: a unit vector, |v| = {norm}"
        );
        ensure_eq!(
            got.pointer("/usage/prompt_tokens"),
            Some(&json!(7)),
            "{scenario}: usage"
        );
        ensure_eq!(
            got.get("single_length"),
            Some(&json!(16)),
            "{scenario}: dimensions"
        );
        firsts.push(got.get("first").cloned().unwrap_or_default());
    }
    ensure_eq!(
        firsts.first(),
        firsts.get(1),
        "the same vector through base64 and floats"
    );
    let sent = upstream()?.last_request(&ctx.http, &key).await?;
    ensure_eq!(
        (sent.get("model"), sent.get("dimensions")),
        (Some(&json!("text-embedding-3-small")), Some(&json!(16))),
        "what the upstream got: {sent}"
    );
    let rows = await_usage(&t.api(ctx), &t.instance_id, "model", |rows| {
        count(group(rows, EMBED), "requests") == 4
    })
    .await?;
    let row = group(&rows, EMBED);
    ensure_eq!(
        (count(row, "prompt_tokens"), count(row, "completion_tokens")),
        (20, 0),
        "the usage rows' tokens: {rows:?}"
    );
    let cost = row
        .and_then(|r| r.get("cost_usd"))
        .and_then(Value::as_f64)
        .unwrap_or_default();
    ensure!(
        (cost - 20.0 * EMBED_PRICE / 1e6).abs() < 1e-12,
        "the cost of 20 tokens at {EMBED_PRICE}/M: {cost}"
    );
    Ok(())
}

/// Vercel's AI SDK `embed` and `embedMany` with `@ai-sdk/openai`'s embedding model.
async fn ai_sdk_embeds(ctx: &Ctx) -> Result<(), String> {
    let t = embedding_tenant(ctx, "embed-ai-sdk").await?;
    let got = e2e::sdk::run(
        ctx.root(),
        "embeddings.mjs",
        &["ai-sdk", &ctx.base, &t.key.secret, EMBED, "two words"],
    )
    .await?;
    ensure_eq!(got.get("single_length"), Some(&json!(8)), "embed");
    ensure_eq!(u64s(&got, "/lengths"), [8, 8], "embedMany");
    ensure_eq!(got.get("tokens"), Some(&json!(5)), "embedMany usage");
    Ok(())
}

/// Token-array inputs reserve exactly what the simulator counts (their length): with 20 tokens/min, 4 of
/// 10 parallel 5-token requests pass, the rest get 429 with Retry-After, and only 4 reach the provider.
async fn token_limits_admit_exactly_what_fits(ctx: &Ctx) -> Result<(), String> {
    let t = embedding_tenant(ctx, "embed-limits").await?;
    put_policy(
        ctx,
        &t.instance_id,
        "key",
        &t.key.id,
        json!({"tokens_per_minute": 20}),
    )
    .await?;
    let api = t.api(ctx);
    let body = json!({"model": EMBED, "input": [1, 2, 3, 4, 5]});
    let resps = join_all((0..10).map(|_| post(&api, EMBEDDINGS, &body, &[]))).await;
    let mut ok = 0;
    for resp in resps {
        let resp = resp?;
        match resp.status {
            200 => ok += 1,
            429 => {
                expect_error(&resp, 429, "rate_limited")?;
                ensure!(
                    resp.header("retry-after").is_some(),
                    "429 without Retry-After"
                );
            }
            _ => return Err(format!("neither 200 nor 429: {}", resp.describe())),
        }
    }
    ensure_eq!(
        ok,
        4,
        "admitted of 10 parallel 5-token requests under 20 tokens/min"
    );
    Ok(())
}

/// A chat model, an Anthropic model (it has no embeddings API), an empty input, a bad encoding: 400
/// naming the field; nothing reaches the provider.
async fn what_cannot_embed_is_400_naming_the_field(ctx: &Ctx) -> Result<(), String> {
    let t = embedding_tenant(ctx, "embed-bad").await?;
    add_model(
        ctx,
        &t.instance_id,
        json!({"id": "claude-embed", "provider": "anthropic", "upstream_model": "claude-3-5-haiku-latest",
               "capabilities": ["embeddings"]}),
    )
    .await?;
    let api = t.api(ctx);
    let key = unique("embed-bad");
    let text = format!("x [[sim: key={key}]]");
    let cases = [
        (json!({"model": GPT, "input": text}), "model"),
        (json!({"model": "claude-embed", "input": text}), "model"),
        (json!({"model": EMBED, "input": []}), "input"),
        (json!({"model": EMBED, "input": [text, ""]}), "input[1]"),
        (
            json!({"model": EMBED, "input": text, "encoding_format": "int8"}),
            "encoding_format",
        ),
    ];
    for (body, param) in cases {
        let resp = post(&api, EMBEDDINGS, &body, &[]).await?;
        expect_error(&resp, 400, "invalid_field")?;
        ensure_eq!(
            resp.body.pointer("/error/param").and_then(Value::as_str),
            Some(param),
            "param of {body}"
        );
    }
    ensure_eq!(
        attempts(ctx, &key).await?,
        0,
        "requests that reached the provider"
    );
    Ok(())
}
