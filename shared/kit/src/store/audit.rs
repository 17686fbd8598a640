//! Audit rows. Every mutation adds one of these to its own D1 batch, so a change and its audit record
//! are written together or not at all.

use super::{Arg, Db};
use crate::fault::Fault;
use crate::random;
use serde::Deserialize;
use tenancy::ids::{self, IdKind};
use tenancy::page::Page;
use tenancy::records::AuditEntry;
use worker::D1PreparedStatement;

/// Who is writing, for which request, at what time: shared by every mutation of one request.
pub struct Writer<'a> {
    pub db: &'a Db,
    pub actor: String,
    pub request_id: &'a str,
    pub now: i64,
}

/// What one audit row says.
pub struct Event<'a> {
    pub org_id: &'a str,
    pub instance_id: Option<&'a str>,
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: &'a str,
    pub detail: serde_json::Value,
}

const COLUMNS: &str =
    "id, org_id, instance_id, actor, action, target_type, target_id, request_id, detail, created_at";

impl Writer<'_> {
    /// A new time-ordered id of `kind`.
    pub fn new_id(&self, kind: IdKind) -> String {
        ids::new_id(kind, self.now.max(0) as u64, &random::bytes::<10>())
    }

    /// The audit insert for `event`.
    pub fn audit(&self, event: &Event) -> Result<D1PreparedStatement, Fault> {
        let sql = format!(
            "INSERT INTO audit_log ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        );
        self.audit_stmt(&sql, event, None)
    }

    /// The audit insert for `event`, written only if `exists_sql` (one `?11` argument) finds a row — for
    /// updates and deletes, so a change that matched nothing leaves no audit row.
    pub fn audit_if(
        &self,
        event: &Event,
        exists_sql: &str,
        exists_arg: &str,
    ) -> Result<D1PreparedStatement, Fault> {
        let sql = format!(
            "INSERT INTO audit_log ({COLUMNS}) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 WHERE EXISTS ({exists_sql})"
        );
        self.audit_stmt(&sql, event, Some(exists_arg))
    }

    fn audit_stmt(
        &self,
        sql: &str,
        event: &Event,
        extra: Option<&str>,
    ) -> Result<D1PreparedStatement, Fault> {
        let id = self.new_id(IdKind::Audit);
        let detail = event.detail.to_string();
        let mut args = vec![
            Arg::Text(&id),
            Arg::Text(event.org_id),
            Arg::opt_text(event.instance_id),
            Arg::Text(&self.actor),
            Arg::Text(event.action),
            Arg::Text(event.target_type),
            Arg::Text(event.target_id),
            Arg::Text(self.request_id),
            Arg::Text(&detail),
            Arg::Int(self.now),
        ];
        if let Some(extra) = extra {
            args.push(Arg::Text(extra));
        }
        self.db.stmt(sql, &args)
    }
}

#[derive(Deserialize)]
struct Row {
    id: String,
    org_id: String,
    instance_id: Option<String>,
    actor: String,
    action: String,
    target_type: String,
    target_id: String,
    request_id: String,
    detail: String,
    created_at: i64,
}

/// Audit entries of an org, optionally of one instance, oldest first.
pub async fn list(
    db: &Db,
    org_id: &str,
    instance_id: Option<&str>,
    page: &Page,
) -> Result<Vec<AuditEntry>, Fault> {
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_log WHERE org_id = ?1 AND (?2 IS NULL OR instance_id = ?2) AND id > ?3 ORDER BY id LIMIT ?4"
    );
    let cursor = page.cursor.as_deref().unwrap_or("");
    let rows: Vec<Row> = db
        .all(
            &sql,
            &[
                Arg::Text(org_id),
                Arg::opt_text(instance_id),
                Arg::Text(cursor),
                Arg::Int(page.fetch_limit().into()),
            ],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| AuditEntry {
            id: r.id,
            org_id: r.org_id,
            instance_id: r.instance_id,
            actor: r.actor,
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
            request_id: r.request_id,
            detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::Null),
            created_at: r.created_at,
        })
        .collect())
}
