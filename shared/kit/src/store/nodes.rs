//! The hierarchy's three levels — organizations, instances, projects — share one shape (id, parents, name,
//! slug, timestamps), so one repository serves them all.

use super::audit::{Event, Writer};
use super::{last_rows, Arg, Db};
use crate::fault::Fault;
use serde::Deserialize;
use serde_json::json;
use tenancy::ids::IdKind;
use tenancy::page::Page;
use tenancy::records::{Instance, Org, Project};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Org,
    Instance,
    Project,
}

struct Spec {
    table: &'static str,
    /// The select list, aliased to [`Node`]'s fields.
    select: &'static str,
    /// Column holding the direct parent's id, for lists.
    parent: &'static str,
    kind: IdKind,
    target: &'static str,
    /// Audit actions for create, update, delete.
    actions: [&'static str; 3],
}

impl Level {
    fn spec(self) -> Spec {
        match self {
            Level::Org => Spec {
                table: "organizations",
                select: "id, id AS org_id, NULL AS instance_id, name, slug, created_at, updated_at",
                parent: "id",
                kind: IdKind::Org,
                target: "org",
                actions: ["org.create", "org.update", "org.delete"],
            },
            Level::Instance => Spec {
                table: "instances",
                select: "id, org_id, NULL AS instance_id, name, slug, created_at, updated_at",
                parent: "org_id",
                kind: IdKind::Instance,
                target: "instance",
                actions: ["instance.create", "instance.update", "instance.delete"],
            },
            Level::Project => Spec {
                table: "projects",
                select: "id, org_id, instance_id, name, slug, created_at, updated_at",
                parent: "instance_id",
                kind: IdKind::Project,
                target: "project",
                actions: ["project.create", "project.update", "project.delete"],
            },
        }
    }
}

/// One org, instance or project. `org_id` of an org is its own id.
#[derive(Debug, Clone, Deserialize)]
pub struct Node {
    pub id: String,
    pub org_id: String,
    pub instance_id: Option<String>,
    pub name: String,
    pub slug: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Where a new node goes: its org, and its instance for a project.
pub struct Parent<'a> {
    pub org_id: Option<&'a str>,
    pub instance_id: Option<&'a str>,
}

pub async fn create(
    w: &Writer<'_>,
    level: Level,
    parent: &Parent<'_>,
    name: &str,
    slug: &str,
) -> Result<Node, Fault> {
    let spec = level.spec();
    let id = w.new_id(spec.kind);
    let node = Node {
        org_id: parent.org_id.unwrap_or(&id).to_string(),
        instance_id: parent.instance_id.map(str::to_string),
        id,
        name: name.trim().to_string(),
        slug: slug.to_string(),
        created_at: w.now,
        updated_at: w.now,
    };
    let insert = match level {
        Level::Org => w.db.stmt(
            "INSERT INTO organizations (id, name, slug, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
            &[Arg::Text(&node.id), Arg::Text(&node.name), Arg::Text(&node.slug), Arg::Int(w.now)],
        )?,
        Level::Instance => w.db.stmt(
            "INSERT INTO instances (id, org_id, name, slug, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            &[Arg::Text(&node.id), Arg::Text(&node.org_id), Arg::Text(&node.name), Arg::Text(&node.slug), Arg::Int(w.now)],
        )?,
        Level::Project => w.db.stmt(
            "INSERT INTO projects (id, org_id, instance_id, name, slug, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            &[
                Arg::Text(&node.id),
                Arg::Text(&node.org_id),
                Arg::opt_text(node.instance_id.as_deref()),
                Arg::Text(&node.name),
                Arg::Text(&node.slug),
                Arg::Int(w.now),
            ],
        )?,
    };
    let detail = json!({"name": node.name, "slug": node.slug});
    let audit = w.audit(&event(&spec, &node, 0, detail))?;
    w.db.batch(vec![insert, audit]).await?;
    Ok(node)
}

pub async fn get(db: &Db, level: Level, id: &str) -> Result<Option<Node>, Fault> {
    let spec = level.spec();
    let sql = format!("SELECT {} FROM {} WHERE id = ?1", spec.select, spec.table);
    db.one(&sql, &[Arg::Text(id)]).await
}

/// Children of `parent_id` (all orgs when listing orgs with `None`), oldest first, one extra row for paging.
pub async fn list(
    db: &Db,
    level: Level,
    parent_id: Option<&str>,
    page: &Page,
) -> Result<Vec<Node>, Fault> {
    let spec = level.spec();
    let sql = format!(
        "SELECT {} FROM {} WHERE (?1 IS NULL OR {} = ?1) AND id > ?2 ORDER BY id LIMIT ?3",
        spec.select, spec.table, spec.parent
    );
    let cursor = page.cursor.as_deref().unwrap_or("");
    db.all(
        &sql,
        &[
            Arg::opt_text(parent_id),
            Arg::Text(cursor),
            Arg::Int(page.fetch_limit().into()),
        ],
    )
    .await
}

/// Renames `node`; returns the row as stored afterwards (None if it vanished meanwhile).
pub async fn rename(
    w: &Writer<'_>,
    level: Level,
    node: &Node,
    name: Option<&str>,
) -> Result<Option<Node>, Fault> {
    let spec = level.spec();
    let name = name.map(str::trim);
    let update = w.db.stmt(
        &format!(
            "UPDATE {} SET name = COALESCE(?2, name), updated_at = ?3 WHERE id = ?1",
            spec.table
        ),
        &[Arg::Text(&node.id), Arg::opt_text(name), Arg::Int(w.now)],
    )?;
    let exists = format!("SELECT 1 FROM {} WHERE id = ?11", spec.table);
    let audit = w.audit_if(
        &event(&spec, node, 1, json!({"name": name})),
        &exists,
        &node.id,
    )?;
    let read = w.db.stmt(
        &format!("SELECT {} FROM {} WHERE id = ?1", spec.select, spec.table),
        &[Arg::Text(&node.id)],
    )?;
    let results = w.db.batch(vec![update, audit, read]).await?;
    Ok(last_rows::<Node>(&results)?.into_iter().next())
}

/// Deletes `node` and, through the schema's cascades, everything under it.
pub async fn delete(w: &Writer<'_>, level: Level, node: &Node) -> Result<(), Fault> {
    let spec = level.spec();
    let exists = format!("SELECT 1 FROM {} WHERE id = ?11", spec.table);
    let audit = w.audit_if(
        &event(&spec, node, 2, json!({"slug": node.slug})),
        &exists,
        &node.id,
    )?;
    let delete = w.db.stmt(
        &format!("DELETE FROM {} WHERE id = ?1", spec.table),
        &[Arg::Text(&node.id)],
    )?;
    // Budgets are not under the schema's cascades (a budget row names its scope by id): the node's and
    // everything below it go in the same batch.
    let column = match level {
        Level::Org => "org_id",
        Level::Instance => "instance_id",
        Level::Project => "project_id",
    };
    let budgets = w.db.stmt(
        &format!("DELETE FROM budgets WHERE {column} = ?1"),
        &[Arg::Text(&node.id)],
    )?;
    w.db.batch(vec![audit, delete, budgets]).await?;
    Ok(())
}

fn event<'a>(spec: &Spec, node: &'a Node, verb: usize, detail: serde_json::Value) -> Event<'a> {
    let instance_id = match spec.kind {
        IdKind::Instance => Some(node.id.as_str()),
        _ => node.instance_id.as_deref(),
    };
    Event {
        org_id: &node.org_id,
        instance_id,
        action: spec.actions.get(verb).copied().unwrap_or("unknown"),
        target_type: spec.target,
        target_id: &node.id,
        detail,
    }
}

impl From<Node> for Org {
    fn from(n: Node) -> Org {
        Org {
            id: n.id,
            name: n.name,
            slug: n.slug,
            created_at: n.created_at,
            updated_at: n.updated_at,
        }
    }
}

impl From<Node> for Instance {
    fn from(n: Node) -> Instance {
        Instance {
            id: n.id,
            org_id: n.org_id,
            name: n.name,
            slug: n.slug,
            created_at: n.created_at,
            updated_at: n.updated_at,
        }
    }
}

impl From<Node> for Project {
    fn from(n: Node) -> Project {
        Project {
            id: n.id,
            org_id: n.org_id,
            instance_id: n.instance_id.unwrap_or_default(),
            name: n.name,
            slug: n.slug,
            created_at: n.created_at,
            updated_at: n.updated_at,
        }
    }
}
