//! Browser sessions (see `keys::session` and migrations/0006): rows keyed by the token's keyed hash.

use super::{Arg, Db};
use crate::fault::Fault;
use serde::Deserialize;

/// Who a session signed in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedIn {
    Platform,
    /// An API key, by its keyed hash.
    Key(String),
}

#[derive(Deserialize)]
struct Row {
    actor_kind: String,
    key_hash: Option<String>,
}

/// Stores a new session, and drops the expired ones in the same batch.
pub async fn create(
    db: &Db,
    id_hash: &str,
    who: &SignedIn,
    now: i64,
    expires_at: i64,
) -> Result<(), Fault> {
    let (kind, key_hash) = match who {
        SignedIn::Platform => ("platform", None),
        SignedIn::Key(hash) => ("key", Some(hash.as_str())),
    };
    let prune = db.stmt(
        "DELETE FROM sessions WHERE expires_at <= ?1",
        &[Arg::Int(now)],
    )?;
    let insert = db.stmt(
        "INSERT INTO sessions (id_hash, actor_kind, key_hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        &[
            Arg::Text(id_hash),
            Arg::Text(kind),
            Arg::opt_text(key_hash),
            Arg::Int(now),
            Arg::Int(expires_at),
        ],
    )?;
    db.batch(vec![prune, insert]).await?;
    Ok(())
}

/// The live session with this id, and when it expires.
pub async fn find(db: &Db, id_hash: &str, now: i64) -> Result<Option<(SignedIn, i64)>, Fault> {
    #[derive(Deserialize)]
    struct Live {
        #[serde(flatten)]
        row: Row,
        expires_at: i64,
    }
    let live: Option<Live> = db
        .one(
            "SELECT actor_kind, key_hash, expires_at FROM sessions WHERE id_hash = ?1 AND expires_at > ?2",
            &[Arg::Text(id_hash), Arg::Int(now)],
        )
        .await?;
    Ok(live.and_then(|l| {
        let who = match (l.row.actor_kind.as_str(), l.row.key_hash) {
            ("platform", None) => SignedIn::Platform,
            ("key", Some(hash)) => SignedIn::Key(hash),
            _ => return None,
        };
        Some((who, l.expires_at))
    }))
}

/// Ends a session.
pub async fn delete(db: &Db, id_hash: &str) -> Result<(), Fault> {
    db.stmt(
        "DELETE FROM sessions WHERE id_hash = ?1",
        &[Arg::Text(id_hash)],
    )?
    .run()
    .await?;
    Ok(())
}
