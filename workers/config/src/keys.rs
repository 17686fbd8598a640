//! API keys: create (the secret is shown once), list, read, revoke, rotate, delete.

use crate::ctx::Ctx;
use crate::nodes;
use envelope::ApiError;
use keys::{ApiKey, Environment};
use kit::call::Reply;
use kit::store::keys::{self as repo, StoredKey};
use kit::store::nodes::Level;
use kit::store::users;
use kit::{principal, random, Fault};
use tenancy::access::{self, KeyGrant, Need, Target};
use tenancy::ids::{self, IdKind};
use tenancy::inputs::{KeyEnvironment, NewApiKey};
use tenancy::page::query_param;
use tenancy::records::{ApiKeyRecord, ApiKeyWithSecret};
use tenancy::roles::Role;
use worker::Request;

/// A fresh key. 64 random bytes give 43 base62 characters with overwhelming probability; on the rare
/// shortfall the generator says so and we draw again.
fn mint(environment: KeyEnvironment) -> Result<ApiKey, Fault> {
    let env = match environment {
        KeyEnvironment::Live => Environment::Live,
        KeyEnvironment::Test => Environment::Test,
    };
    for _ in 0..4 {
        if let Ok(key) = keys::generate(env, &random::bytes::<64>()) {
            return Ok(key);
        }
    }
    Err(Fault::Data(
        "could not draw enough randomness for a key".into(),
    ))
}

fn hash(ctx: &Ctx<'_>, key: &ApiKey) -> String {
    keys::hash(ctx.settings.key_hash_secret.as_bytes(), key)
        .as_str()
        .to_string()
}

/// The record plus the secret: the only responses that ever carry it.
fn with_secret(record: ApiKeyRecord, key: &ApiKey) -> ApiKeyWithSecret {
    ApiKeyWithSecret {
        key: record,
        secret: key.as_str().to_string(),
    }
}

fn target(record: &ApiKeyRecord) -> Target<'_> {
    Target::key(
        &record.org_id,
        &record.instance_id,
        record.project_id.as_deref(),
    )
}

async fn load_for(ctx: &Ctx<'_>, id: &str, need: Need) -> Result<StoredKey, Fault> {
    let id = ids::parse(IdKind::Key, id, "id")?;
    let key = repo::get(&ctx.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("API key"))?;
    ctx.authorize(need, &target(&key.record))?;
    Ok(key)
}

pub async fn create(ctx: &Ctx<'_>, req: &mut Request, instance_id: &str) -> Reply {
    let instance = nodes::load_for(ctx, Level::Instance, instance_id, Need::Read).await?;
    let input: NewApiKey = ctx.body(req).await?;
    if let Some(project_id) = &input.project_id {
        let project = nodes::load(ctx, Level::Project, project_id).await;
        if !project.is_ok_and(|p| p.instance_id.as_deref() == Some(instance.id.as_str())) {
            return Err(
                ApiError::unprocessable("project_id", "no such project in this instance").into(),
            );
        }
    }
    ctx.authorize(
        Need::Write,
        &Target::key(&instance.org_id, &instance.id, input.project_id.as_deref()),
    )?;
    let scopes = input.scopes();
    let role = match &input.user_id {
        None => None,
        Some(user_id) => {
            let user = ids::parse(IdKind::User, user_id, "user_id")?;
            let user = users::get(&ctx.db, user)
                .await?
                .filter(|u| u.org_id == instance.org_id);
            let user = user.ok_or_else(|| {
                ApiError::unprocessable("user_id", "no such user in this organization")
            })?;
            if !access::user_reaches_instance(user.role, &user.instance_ids, &instance.id) {
                return Err(ApiError::unprocessable(
                    "user_id",
                    "the user has no access to this instance",
                )
                .into());
            }
            Some(user.role)
        }
    };
    access::check_grant(
        &ctx.actor,
        &KeyGrant {
            project_id: input.project_id.as_deref(),
            user_role: role,
            scopes: &scopes,
            models: input.models.as_deref(),
            expires_at: input.expires_at,
        },
    )?;
    access::role_caps(role, &scopes)?;
    let key = mint(input.environment())?;
    let record = ApiKeyRecord {
        id: ctx.writer().new_id(IdKind::Key),
        org_id: instance.org_id.clone(),
        instance_id: instance.id.clone(),
        project_id: input.project_id.clone(),
        user_id: input.user_id.clone(),
        name: input.name.trim().to_string(),
        prefix: key.display_prefix().to_string(),
        scopes,
        environment: input.environment(),
        created_at: ctx.now,
        expires_at: input.expires_at,
        revoked_at: None,
        last_rotated_at: None,
        allowed_models: input.models.clone(),
    };
    repo::create(&ctx.writer(), &record, &hash(ctx, &key)).await?;
    ctx.created(&with_secret(record, &key))
}

/// Keys of an instance; `?project_id=` narrows to one project, and a project-bound key sees only its own.
pub async fn list(ctx: &Ctx<'_>, instance_id: &str) -> Reply {
    let instance = nodes::load_for(ctx, Level::Instance, instance_id, Need::Read).await?;
    let page = ctx.page(IdKind::Key)?;
    let asked = match query_param(&ctx.query, "project_id") {
        Some(p) => Some(ids::parse(IdKind::Project, p, "project_id")?),
        None => None,
    };
    let bound = access::project_filter(&ctx.actor);
    if let (Some(asked), Some(bound)) = (asked, bound) {
        if asked != bound {
            return Err(ApiError::not_found("project").into());
        }
    }
    let keys = repo::list(&ctx.db, &instance.id, bound.or(asked), &page).await?;
    ctx.list(keys, &page, |k| &k.id)
}

pub async fn get(ctx: &Ctx<'_>, id: &str) -> Reply {
    ctx.ok(&load_for(ctx, id, Need::Read).await?.record)
}

/// Revokes the key; it is refused from the very next request on (its cached principal is dropped).
pub async fn revoke(ctx: &Ctx<'_>, id: &str) -> Reply {
    let key = load_for(ctx, id, Need::Write).await?;
    let revoked = repo::revoke(&ctx.writer(), &key.record)
        .await?
        .ok_or_else(|| ApiError::not_found("API key"))?;
    principal::forget(ctx.env, &[key.key_hash]).await?;
    ctx.ok(&revoked.record)
}

/// The current role of the key's user (`None` for a service key). A user that cannot be found (the schema
/// deletes their keys with them) counts as an owner, so the key is treated as the most powerful kind.
async fn user_role(ctx: &Ctx<'_>, record: &ApiKeyRecord) -> Result<Option<Role>, Fault> {
    let Some(user_id) = &record.user_id else {
        return Ok(None);
    };
    let user = users::get(&ctx.db, user_id).await?;
    Ok(Some(user.map_or(Role::Owner, |u| u.role)))
}

/// A new secret for the same key id, name and scopes; the old secret stops working at once. Rotating hands
/// out the key again, so the caller must be allowed to issue it: never a key that exceeds the caller's own.
pub async fn rotate(ctx: &Ctx<'_>, id: &str) -> Reply {
    let key = load_for(ctx, id, Need::Write).await?;
    if key.record.revoked_at.is_some() {
        return Err(ApiError::conflict("a revoked key cannot be rotated").into());
    }
    let role = user_role(ctx, &key.record).await?;
    access::check_grant(
        &ctx.actor,
        &KeyGrant {
            project_id: key.record.project_id.as_deref(),
            user_role: role,
            scopes: &access::effective_scopes(role, &key.record.scopes),
            models: key.record.allowed_models.as_deref(),
            expires_at: key.record.expires_at,
        },
    )?;
    let secret = mint(key.record.environment)?;
    let rotated = repo::rotate(
        &ctx.writer(),
        &key.record,
        secret.display_prefix(),
        &hash(ctx, &secret),
    )
    .await?
    .ok_or_else(|| ApiError::not_found("API key"))?;
    principal::forget(ctx.env, &[key.key_hash]).await?;
    ctx.ok(&with_secret(rotated.record, &secret))
}

pub async fn delete(ctx: &Ctx<'_>, id: &str) -> Reply {
    let key = load_for(ctx, id, Need::Write).await?;
    repo::delete(&ctx.writer(), &key.record).await?;
    principal::forget(ctx.env, &[key.key_hash]).await?;
    ctx.call.no_content()
}
