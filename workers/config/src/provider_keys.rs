//! Provider keys of an instance: set or replace, list (configured + masked hint), delete. The value is
//! sealed with AES-256-GCM before it reaches D1 and is never returned.

use crate::ctx::Ctx;
use crate::nodes;
use envelope::ApiError;
use kit::call::Reply;
use kit::store::nodes::Level;
use kit::store::provider_keys::{self as repo, Sealed};
use kit::{bindings, random, Fault};
use serde_json::json;
use tenancy::access::Need;
use tenancy::inputs::{resolve_provider, ProviderKeyInput};
use worker::Request;

fn check_name(name: &str) -> Result<(), Fault> {
    Ok(tenancy::inputs::slug("name", name)?)
}

/// Local development serves providers from loopback (the simulator); a deployment never does.
fn loopback_allowed(ctx: &Ctx<'_>) -> bool {
    ctx.env
        .var(bindings::ALLOW_LOOPBACK_UPSTREAMS)
        .is_ok_and(|v| v.to_string() == "true")
}

/// Sets or replaces a provider key. Its `base_url` is checked here (https, loopback only locally) and is
/// the only address its secret is ever sent to: changing it means sending the secret again.
pub async fn set(ctx: &Ctx<'_>, req: &mut Request, instance_id: &str, name: &str) -> Reply {
    check_name(name)?;
    let instance = nodes::load_for(ctx, Level::Instance, instance_id, Need::Write).await?;
    let input: ProviderKeyInput = ctx.body(req).await?;
    let provider = resolve_provider(name, input.provider)?;
    input.check_upstream(provider, loopback_allowed(ctx))?;
    let vault = ctx.settings.vault()?;
    // The associated data binds the ciphertext to its row: a value copied to another row will not open.
    let aad = format!("{}/{}", instance.id, name);
    let sealed = vault
        .seal(&input.api_key, random::bytes::<12>(), &aad)
        .map_err(|e| Fault::Data(format!("sealing failed: {e}")))?;
    let hint = vault::hint(&input.api_key);
    let key = Sealed {
        name,
        provider,
        sealed_key: &sealed,
        hint: &hint,
        base_url: input.base_url.as_deref(),
    };
    let record = repo::set(&ctx.writer(), &instance.org_id, &instance.id, &key)
        .await?
        .ok_or_else(|| ApiError::not_found("instance"))?;
    ctx.instance_changed(&instance.id).await?;
    ctx.ok(&record)
}

pub async fn list(ctx: &Ctx<'_>, instance_id: &str) -> Reply {
    let instance = nodes::load_for(ctx, Level::Instance, instance_id, Need::Read).await?;
    let keys = repo::list(&ctx.db, &instance.id).await?;
    ctx.ok(&json!({"object": "list", "data": keys, "next_cursor": null}))
}

pub async fn delete(ctx: &Ctx<'_>, instance_id: &str, name: &str) -> Reply {
    check_name(name)?;
    let instance = nodes::load_for(ctx, Level::Instance, instance_id, Need::Write).await?;
    if !repo::delete(&ctx.writer(), &instance.org_id, &instance.id, name).await? {
        return Err(ApiError::not_found("provider key").into());
    }
    ctx.instance_changed(&instance.id).await?;
    ctx.call.no_content()
}
