//! API keys: only the keyed hash and a display prefix are stored; the secret never reaches D1.

use super::audit::{Event, Writer};
use super::{last_rows, Arg, Db};
use crate::fault::Fault;
use serde::Deserialize;
use serde_json::json;
use tenancy::inputs::KeyEnvironment;
use tenancy::page::Page;
use tenancy::principal::Principal;
use tenancy::records::ApiKeyRecord;
use tenancy::roles::{parse_scopes, Role, Scope};

const COLUMNS: &str =
    "id, org_id, instance_id, project_id, user_id, name, prefix, key_hash, scopes, environment, \
     created_at, expires_at, revoked_at, last_rotated_at, allowed_models";
const EXISTS: &str = "SELECT 1 FROM api_keys WHERE id = ?11";

/// A key as stored: its record plus the hash, which never leaves the kit.
pub struct StoredKey {
    pub record: ApiKeyRecord,
    pub key_hash: String,
}

#[derive(Deserialize)]
struct Row {
    id: String,
    org_id: String,
    instance_id: String,
    project_id: Option<String>,
    user_id: Option<String>,
    name: String,
    prefix: String,
    key_hash: String,
    scopes: String,
    environment: String,
    created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
    last_rotated_at: Option<i64>,
    allowed_models: Option<String>,
}

impl From<Row> for StoredKey {
    fn from(r: Row) -> StoredKey {
        let environment = if r.environment == "test" {
            KeyEnvironment::Test
        } else {
            KeyEnvironment::Live
        };
        StoredKey {
            key_hash: r.key_hash,
            record: ApiKeyRecord {
                scopes: parse_scopes(&r.scopes),
                id: r.id,
                org_id: r.org_id,
                instance_id: r.instance_id,
                project_id: r.project_id,
                user_id: r.user_id,
                name: r.name,
                prefix: r.prefix,
                environment,
                created_at: r.created_at,
                expires_at: r.expires_at,
                revoked_at: r.revoked_at,
                last_rotated_at: r.last_rotated_at,
                allowed_models: r.allowed_models.and_then(|m| serde_json::from_str(&m).ok()),
            },
        }
    }
}

fn environment_name(env: KeyEnvironment) -> &'static str {
    match env {
        KeyEnvironment::Live => "live",
        KeyEnvironment::Test => "test",
    }
}

fn scopes_json(scopes: &[Scope]) -> Result<String, Fault> {
    Ok(serde_json::to_string(scopes)?)
}

/// Inserts `key` (built by the caller, with a fresh id) under `key_hash`, with its audit row.
pub async fn create(w: &Writer<'_>, key: &ApiKeyRecord, key_hash: &str) -> Result<(), Fault> {
    let scopes = scopes_json(&key.scopes)?;
    let models = key
        .allowed_models
        .as_ref()
        .map(serde_json::to_string)
        .transpose()?;
    let insert = w.db.stmt(
        &format!("INSERT INTO api_keys ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL, NULL, ?13)"),
        &[
            Arg::Text(&key.id),
            Arg::Text(&key.org_id),
            Arg::Text(&key.instance_id),
            Arg::opt_text(key.project_id.as_deref()),
            Arg::opt_text(key.user_id.as_deref()),
            Arg::Text(&key.name),
            Arg::Text(&key.prefix),
            Arg::Text(key_hash),
            Arg::Text(&scopes),
            Arg::Text(environment_name(key.environment)),
            Arg::Int(key.created_at),
            Arg::opt_int(key.expires_at),
            Arg::opt_text(models.as_deref()),
        ],
    )?;
    let detail = json!({"name": key.name, "prefix": key.prefix, "scopes": key.scopes, "project_id": key.project_id, "models": key.allowed_models});
    let audit = w.audit(&event(&key.id, key, "key.create", detail))?;
    w.db.batch(vec![insert, audit]).await?;
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> Result<Option<StoredKey>, Fault> {
    let row: Option<Row> = db
        .one(
            &format!("SELECT {COLUMNS} FROM api_keys WHERE id = ?1"),
            &[Arg::Text(id)],
        )
        .await?;
    Ok(row.map(StoredKey::from))
}

/// Keys of an instance, optionally only those of one project.
pub async fn list(
    db: &Db,
    instance_id: &str,
    project_id: Option<&str>,
    page: &Page,
) -> Result<Vec<ApiKeyRecord>, Fault> {
    let cursor = page.cursor.as_deref().unwrap_or("");
    let rows: Vec<Row> = db
        .all(
            &format!(
                "SELECT {COLUMNS} FROM api_keys WHERE instance_id = ?1 AND (?2 IS NULL OR project_id = ?2) \
                 AND id > ?3 ORDER BY id LIMIT ?4"
            ),
            &[Arg::Text(instance_id), Arg::opt_text(project_id), Arg::Text(cursor), Arg::Int(page.fetch_limit().into())],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| StoredKey::from(r).record)
        .collect())
}

/// Marks the key revoked (idempotent: the first revocation time stays).
pub async fn revoke(w: &Writer<'_>, key: &ApiKeyRecord) -> Result<Option<StoredKey>, Fault> {
    let update = w.db.stmt(
        "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
        &[Arg::Text(&key.id), Arg::Int(w.now)],
    )?;
    let audit = w.audit_if(
        &event(&key.id, key, "key.revoke", json!({"prefix": key.prefix})),
        EXISTS,
        &key.id,
    )?;
    reread(w, vec![update, audit], &key.id).await
}

/// Replaces the key's secret: same id, name and scopes; the old hash stops matching at once.
pub async fn rotate(
    w: &Writer<'_>,
    key: &ApiKeyRecord,
    prefix: &str,
    key_hash: &str,
) -> Result<Option<StoredKey>, Fault> {
    let update = w.db.stmt(
        "UPDATE api_keys SET prefix = ?2, key_hash = ?3, last_rotated_at = ?4 WHERE id = ?1",
        &[
            Arg::Text(&key.id),
            Arg::Text(prefix),
            Arg::Text(key_hash),
            Arg::Int(w.now),
        ],
    )?;
    let detail = json!({"old_prefix": key.prefix, "prefix": prefix});
    let audit = w.audit_if(&event(&key.id, key, "key.rotate", detail), EXISTS, &key.id)?;
    reread(w, vec![update, audit], &key.id).await
}

pub async fn delete(w: &Writer<'_>, key: &ApiKeyRecord) -> Result<(), Fault> {
    let audit = w.audit_if(
        &event(&key.id, key, "key.delete", json!({"prefix": key.prefix})),
        EXISTS,
        &key.id,
    )?;
    let delete =
        w.db.stmt("DELETE FROM api_keys WHERE id = ?1", &[Arg::Text(&key.id)])?;
    let scope = format!("key:{}", key.id);
    let budgets =
        w.db.stmt("DELETE FROM budgets WHERE scope = ?1", &[Arg::Text(&scope)])?;
    w.db.batch(vec![audit, delete, budgets]).await?;
    Ok(())
}

async fn reread(
    w: &Writer<'_>,
    mut batch: Vec<worker::D1PreparedStatement>,
    id: &str,
) -> Result<Option<StoredKey>, Fault> {
    batch.push(w.db.stmt(
        &format!("SELECT {COLUMNS} FROM api_keys WHERE id = ?1"),
        &[Arg::Text(id)],
    )?);
    let results = w.db.batch(batch).await?;
    Ok(last_rows::<Row>(&results)?
        .into_iter()
        .next()
        .map(StoredKey::from))
}

/// What a cache miss resolves a key hash to: the principal with the owning user's current standing (role
/// and instance access, see [`Principal::with_standing`]), so a demotion or a lost instance reaches the key.
pub async fn find_principal(db: &Db, key_hash: &str) -> Result<Option<Principal>, Fault> {
    #[derive(Deserialize)]
    struct P {
        id: String,
        prefix: String,
        name: String,
        org_id: String,
        instance_id: String,
        project_id: Option<String>,
        user_id: Option<String>,
        role: Option<String>,
        scopes: String,
        expires_at: Option<i64>,
        revoked_at: Option<i64>,
        allowed_models: Option<String>,
        granted: i64,
    }
    let row: Option<P> = db
        .one(
            "SELECT k.id, k.prefix, k.name, k.org_id, k.instance_id, k.project_id, k.user_id, u.role, k.scopes, \
             k.expires_at, k.revoked_at, k.allowed_models, EXISTS (SELECT 1 FROM user_instance_access a \
             WHERE a.user_id = k.user_id AND a.instance_id = k.instance_id) AS granted \
             FROM api_keys k LEFT JOIN users u ON u.id = k.user_id WHERE k.key_hash = ?1",
            &[Arg::Text(key_hash)],
        )
        .await?;
    Ok(row.map(|p| {
        Principal {
            key_id: p.id,
            key_prefix: p.prefix,
            name: p.name,
            org_id: p.org_id,
            instance_id: p.instance_id,
            project_id: p.project_id,
            user_id: p.user_id,
            role: p.role.and_then(|r| r.parse::<Role>().ok()),
            scopes: parse_scopes(&p.scopes),
            expires_at: p.expires_at,
            revoked_at: p.revoked_at,
            allowed_models: p.allowed_models.and_then(|m| serde_json::from_str(&m).ok()),
            access_revoked: false,
        }
        .with_standing(p.granted != 0)
    }))
}

/// Which keys hang under a scope about to change or vanish, so their cached principals can be dropped.
#[derive(Debug, Clone, Copy)]
pub enum Owner {
    Org,
    Instance,
    Project,
    User,
}

pub async fn hashes_under(db: &Db, owner: Owner, id: &str) -> Result<Vec<String>, Fault> {
    let column = match owner {
        Owner::Org => "org_id",
        Owner::Instance => "instance_id",
        Owner::Project => "project_id",
        Owner::User => "user_id",
    };
    #[derive(Deserialize)]
    struct H {
        key_hash: String,
    }
    let rows: Vec<H> = db
        .all(
            &format!("SELECT key_hash FROM api_keys WHERE {column} = ?1"),
            &[Arg::Text(id)],
        )
        .await?;
    Ok(rows.into_iter().map(|h| h.key_hash).collect())
}

fn event<'a>(
    id: &'a str,
    key: &'a ApiKeyRecord,
    action: &'static str,
    detail: serde_json::Value,
) -> Event<'a> {
    Event {
        org_id: &key.org_id,
        instance_id: Some(&key.instance_id),
        action,
        target_type: "api_key",
        target_id: id,
        detail,
    }
}
