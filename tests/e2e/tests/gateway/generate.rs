//! `POST /generate`, the seed's shape: `{"prompt","model_id","options"}` → `{"object":"generation",…}`.

use e2e::{case, ensure, ensure_eq, expect_status, Case, Ctx};
use serde_json::json;

use crate::tenant::{tenant, CLAUDE, GPT};
use crate::wire::{post, prompt_tokens, reply_text, str_at, u64_at, DEFAULT_REPLY, GENERATE};

pub fn cases() -> Vec<Case> {
    vec![
        case!(seed_shape_with_options),
        case!(seed_shape_on_both_providers),
    ]
}

async fn seed_shape_with_options(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "gen").await?;
    let (system, prompt) = ("You write lists.", "List five words");
    let body = json!({"prompt": prompt, "model_id": GPT,
        "options": {"max_tokens": 5, "temperature": 0.5, "top_p": 1.0, "system": system}});
    let resp = post(&t.api(ctx), GENERATE, &body, &[]).await?;
    let b = expect_status(&resp, 200)?;
    let d = resp.describe();
    ensure_eq!(str_at(b, "/object")?, "generation", "object in {d}");
    ensure!(!str_at(b, "/id")?.is_empty(), "empty id in {d}");
    ensure_eq!(str_at(b, "/model")?, GPT, "model in {d}");
    ensure_eq!(str_at(b, "/text")?, reply_text(5).as_str(), "text in {d}");
    ensure_eq!(
        str_at(b, "/finish_reason")?,
        "length",
        "finish_reason in {d}"
    );
    let prompt_want = prompt_tokens(&[system, prompt]);
    ensure_eq!(
        u64_at(b, "/usage/prompt_tokens")?,
        prompt_want,
        "prompt_tokens in {d}"
    );
    ensure_eq!(
        u64_at(b, "/usage/completion_tokens")?,
        5,
        "completion_tokens in {d}"
    );
    ensure_eq!(
        u64_at(b, "/usage/total_tokens")?,
        prompt_want + 5,
        "total_tokens in {d}"
    );
    ensure_eq!(
        Some(str_at(b, "/request_id")?),
        resp.request_id(),
        "request_id vs the x-request-id header"
    );
    Ok(())
}

async fn seed_shape_on_both_providers(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "gen-both").await?;
    let prompt = "Plain prompt without options";
    for model in [GPT, CLAUDE] {
        let body = json!({"prompt": prompt, "model_id": model});
        let resp = post(&t.x_api(ctx), GENERATE, &body, &[]).await?;
        let b = expect_status(&resp, 200)?;
        let d = resp.describe();
        ensure_eq!(str_at(b, "/model")?, model, "model in {d}");
        ensure_eq!(
            str_at(b, "/text")?,
            reply_text(DEFAULT_REPLY).as_str(),
            "text in {d}"
        );
        ensure_eq!(str_at(b, "/finish_reason")?, "stop", "finish_reason in {d}");
        ensure_eq!(
            u64_at(b, "/usage/prompt_tokens")?,
            prompt_tokens(&[prompt]),
            "prompt_tokens in {d}"
        );
        ensure_eq!(
            u64_at(b, "/usage/completion_tokens")?,
            DEFAULT_REPLY,
            "completion_tokens in {d}"
        );
    }
    Ok(())
}
