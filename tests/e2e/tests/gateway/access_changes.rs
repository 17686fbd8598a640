//! Changes to a user's standing reach the keys they already hold, on the generation path (docs/api.md,
//! "Auth" and "Principal resolution"): a key is resolved with its user's current role (a viewer's key
//! loses `generate`) and instance access (a user removed from the instance finds the key refused with 403
//! `instance_access_revoked`).
//!
//! A user PATCH drops the cached principals of the user's keys (KV, and the config and text-gen isolates
//! are told), and the local stack runs one isolate per worker, all told; so, as for a revoke, the first
//! request after the PATCH answered must see the change. No wait, no poll: a stale answer is the bug.

use e2e::client::Api;
use e2e::seed::{create_user, field, Key};
use e2e::{case, ensure_eq, expect_error, expect_status, Case, Ctx};
use serde_json::{json, Value};

use crate::tenant::{add_key, tenant, Tenant, GPT};
use crate::wire::{
    chat_body, expect_completion, post, prompt_tokens, reply_text, Tokens, CHAT, DEFAULT_REPLY,
};

pub fn cases() -> Vec<Case> {
    vec![
        case!(demoted_user_key_loses_generate_at_once),
        case!(removed_instance_access_refuses_the_key_at_once),
    ]
}

/// A member of the tenant's org with access to its instance, a `generate` key of theirs, and the
/// `admin:write` key of an org admin who manages them.
struct Standing {
    user_path: String,
    key: Key,
    manager: Key,
}

async fn member(ctx: &Ctx, t: &Tenant) -> Result<Standing, String> {
    let instance = ctx
        .admin()
        .get(&format!("/admin/instances/{}", t.instance_id))
        .await?;
    let org_id = field(expect_status(&instance, 200)?, "org_id")?;
    let instance_ids = [t.instance_id.as_str()];
    let user_id = field(
        &create_user(ctx, &org_id, "member", &instance_ids).await?,
        "id",
    )?;
    let key = add_key(
        ctx,
        &t.instance_id,
        json!({"name": "member's", "scopes": ["generate"], "user_id": user_id}),
    )
    .await?;
    let admin_id = field(&create_user(ctx, &org_id, "admin", &[]).await?, "id")?;
    let manager = add_key(
        ctx,
        &t.instance_id,
        json!({"name": "org admin", "scopes": ["admin:write"], "user_id": admin_id}),
    )
    .await?;
    Ok(Standing {
        user_path: format!("/admin/users/{user_id}"),
        key,
        manager,
    })
}

/// A chat completion the simulator answers with its default reply.
async fn expect_chat(api: &Api<'_>, prompt: &str) -> Result<(), String> {
    let resp = post(api, CHAT, &chat_body(GPT, prompt), &[]).await?;
    let want = Tokens {
        prompt: prompt_tokens(&[prompt]),
        completion: DEFAULT_REPLY,
    };
    expect_completion(&resp, GPT, &reply_text(DEFAULT_REPLY), "stop", want).map(|_| ())
}

/// The org admin PATCHes the user; returns the updated user.
async fn change(ctx: &Ctx, s: &Standing, patch: Value) -> Result<Value, String> {
    let resp = ctx
        .with_key(&s.manager.secret)
        .patch(&s.user_path, patch)
        .await?;
    expect_status(&resp, 200).cloned()
}

/// A member's key chats (and its principal is cached by doing so); the org admin demotes the member to
/// viewer, a role without `generate`; the same key's next chat gets 403 `insufficient_scope` and `/v1/me`
/// shows the capped scopes. Promoted back to member, the key chats again (the role, nothing else, refused it).
async fn demoted_user_key_loses_generate_at_once(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "demote").await?;
    let s = member(ctx, &t).await?;
    let as_key = ctx.with_key(&s.key.secret);
    expect_chat(&as_key, "hello before the demotion").await?;

    let demoted = change(ctx, &s, json!({"role": "viewer"})).await?;
    ensure_eq!(
        demoted.get("role"),
        Some(&json!("viewer")),
        "role after the demotion"
    );
    let resp = post(
        &as_key,
        CHAT,
        &chat_body(GPT, "hello after the demotion"),
        &[],
    )
    .await?;
    expect_error(&resp, 403, "insufficient_scope")
        .map_err(|e| format!("the first chat after the demotion answered: {e}"))?;
    let me = as_key.get("/v1/me").await?;
    let body = expect_status(&me, 200)?;
    ensure_eq!(body.get("role"), Some(&json!("viewer")), "/v1/me role");
    ensure_eq!(
        body.get("scopes"),
        Some(&json!([])),
        "/v1/me scopes of a viewer's generate key"
    );

    change(ctx, &s, json!({"role": "member"})).await?;
    expect_chat(&as_key, "hello after the promotion").await
}

/// A member with access to the instance chats; the org admin removes the instance from the member's
/// access; the same key's next chat (and `/v1/models`, `/v1/me`) gets 403 `instance_access_revoked`.
/// Given the access back, the key chats again.
async fn removed_instance_access_refuses_the_key_at_once(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "unshare").await?;
    let s = member(ctx, &t).await?;
    let as_key = ctx.with_key(&s.key.secret);
    expect_chat(&as_key, "hello while shared").await?;

    let removed = change(ctx, &s, json!({"instance_ids": []})).await?;
    ensure_eq!(
        removed.get("instance_ids"),
        Some(&json!([])),
        "instance_ids after the removal"
    );
    let resp = post(
        &as_key,
        CHAT,
        &chat_body(GPT, "hello after the removal"),
        &[],
    )
    .await?;
    expect_error(&resp, 403, "instance_access_revoked")
        .map_err(|e| format!("the first chat after the removal answered: {e}"))?;
    for path in ["/v1/models", "/v1/me"] {
        expect_error(&as_key.get(path).await?, 403, "instance_access_revoked")
            .map_err(|e| format!("{path} after the removal: {e}"))?;
    }

    change(ctx, &s, json!({"instance_ids": [t.instance_id]})).await?;
    expect_chat(&as_key, "hello when shared again").await
}
