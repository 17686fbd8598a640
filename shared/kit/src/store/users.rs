//! Users of an org, their roles and their instance access.

use super::audit::{Event, Writer};
use super::{last_rows, Arg, Db};
use crate::fault::Fault;
use envelope::ApiError;
use serde::Deserialize;
use serde_json::json;
use tenancy::ids::IdKind;
use tenancy::inputs::{NewUser, UserPatch};
use tenancy::page::Page;
use tenancy::records::User;
use tenancy::roles::Role;
use worker::D1PreparedStatement;

const SELECT: &str = "SELECT u.id, u.org_id, u.email, u.name, u.role, u.created_at, u.updated_at, \
     (SELECT group_concat(a.instance_id) FROM user_instance_access a WHERE a.user_id = u.id) AS instance_ids \
     FROM users u";
const EXISTS: &str = "SELECT 1 FROM users WHERE id = ?11";

#[derive(Deserialize)]
struct Row {
    id: String,
    org_id: String,
    email: String,
    name: String,
    role: String,
    created_at: i64,
    updated_at: i64,
    instance_ids: Option<String>,
}

impl Row {
    fn into_user(self) -> Result<User, Fault> {
        let role: Role = self
            .role
            .parse()
            .map_err(|_| Fault::Data(format!("user {} has an unknown role", self.id)))?;
        let mut instance_ids: Vec<String> = self
            .instance_ids
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        instance_ids.sort();
        Ok(User {
            id: self.id,
            org_id: self.org_id,
            email: self.email,
            name: self.name,
            role,
            instance_ids,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// 422 naming the first id in `ids` that is not an instance of `org_id`.
pub async fn check_instances(db: &Db, org_id: &str, ids: &[String]) -> Result<(), Fault> {
    for (i, id) in ids.iter().enumerate() {
        let found: Option<serde_json::Value> = db
            .one(
                "SELECT 1 AS ok FROM instances WHERE id = ?1 AND org_id = ?2",
                &[Arg::Text(id), Arg::Text(org_id)],
            )
            .await?;
        if found.is_none() {
            return Err(ApiError::unprocessable(
                &format!("instance_ids[{i}]"),
                "no such instance in this organization",
            )
            .into());
        }
    }
    Ok(())
}

pub async fn create(w: &Writer<'_>, org_id: &str, input: &NewUser) -> Result<User, Fault> {
    let mut instance_ids = input.instance_ids.clone();
    instance_ids.sort();
    let user = User {
        id: w.new_id(IdKind::User),
        org_id: org_id.to_string(),
        email: input.normalized_email(),
        name: input.name.trim().to_string(),
        role: input.role,
        instance_ids,
        created_at: w.now,
        updated_at: w.now,
    };
    let mut batch = vec![w.db.stmt(
        "INSERT INTO users (id, org_id, email, name, role, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        &[
            Arg::Text(&user.id),
            Arg::Text(org_id),
            Arg::Text(&user.email),
            Arg::Text(&user.name),
            Arg::Text(user.role.as_str()),
            Arg::Int(w.now),
        ],
    )?];
    batch.extend(grants(w.db, &user.id, org_id, &user.instance_ids)?);
    let detail =
        json!({"email": user.email, "role": user.role.as_str(), "instance_ids": user.instance_ids});
    batch.push(w.audit(&event(&user.id, org_id, "user.create", detail))?);
    w.db.batch(batch).await?;
    Ok(user)
}

fn grants(
    db: &Db,
    user_id: &str,
    org_id: &str,
    ids: &[String],
) -> Result<Vec<D1PreparedStatement>, Fault> {
    ids.iter()
        .map(|ins| {
            db.stmt(
                "INSERT INTO user_instance_access (user_id, instance_id, org_id) VALUES (?1, ?2, ?3)",
                &[Arg::Text(user_id), Arg::Text(ins), Arg::Text(org_id)],
            )
        })
        .collect()
}

pub async fn get(db: &Db, id: &str) -> Result<Option<User>, Fault> {
    let row: Option<Row> = db
        .one(&format!("{SELECT} WHERE u.id = ?1"), &[Arg::Text(id)])
        .await?;
    row.map(Row::into_user).transpose()
}

pub async fn list(db: &Db, org_id: &str, page: &Page) -> Result<Vec<User>, Fault> {
    let cursor = page.cursor.as_deref().unwrap_or("");
    let rows: Vec<Row> = db
        .all(
            &format!("{SELECT} WHERE u.org_id = ?1 AND u.id > ?2 ORDER BY u.id LIMIT ?3"),
            &[
                Arg::Text(org_id),
                Arg::Text(cursor),
                Arg::Int(page.fetch_limit().into()),
            ],
        )
        .await?;
    rows.into_iter().map(Row::into_user).collect()
}

pub async fn update(w: &Writer<'_>, user: &User, patch: &UserPatch) -> Result<Option<User>, Fault> {
    let name = patch.name.as_deref().map(str::trim);
    let role = patch.role.map(|r| r.as_str());
    let mut batch = vec![w.db.stmt(
        "UPDATE users SET name = COALESCE(?2, name), role = COALESCE(?3, role), updated_at = ?4 WHERE id = ?1",
        &[Arg::Text(&user.id), Arg::opt_text(name), Arg::opt_text(role), Arg::Int(w.now)],
    )?];
    if let Some(ids) = &patch.instance_ids {
        batch.push(w.db.stmt(
            "DELETE FROM user_instance_access WHERE user_id = ?1",
            &[Arg::Text(&user.id)],
        )?);
        batch.extend(grants(w.db, &user.id, &user.org_id, ids)?);
    }
    let detail = json!({"name": name, "role": role, "instance_ids": patch.instance_ids});
    batch.push(w.audit_if(
        &event(&user.id, &user.org_id, "user.update", detail),
        EXISTS,
        &user.id,
    )?);
    batch.push(w.db.stmt(&format!("{SELECT} WHERE u.id = ?1"), &[Arg::Text(&user.id)])?);
    let results = w.db.batch(batch).await?;
    last_rows::<Row>(&results)?
        .into_iter()
        .next()
        .map(Row::into_user)
        .transpose()
}

/// Deletes the user; their keys go with them (schema cascade).
pub async fn delete(w: &Writer<'_>, user: &User) -> Result<(), Fault> {
    let audit = w.audit_if(
        &event(
            &user.id,
            &user.org_id,
            "user.delete",
            json!({"email": user.email}),
        ),
        EXISTS,
        &user.id,
    )?;
    let delete =
        w.db.stmt("DELETE FROM users WHERE id = ?1", &[Arg::Text(&user.id)])?;
    w.db.batch(vec![audit, delete]).await?;
    Ok(())
}

fn event<'a>(
    id: &'a str,
    org_id: &'a str,
    action: &'static str,
    detail: serde_json::Value,
) -> Event<'a> {
    Event {
        org_id,
        instance_id: None,
        action,
        target_type: "user",
        target_id: id,
        detail,
    }
}
