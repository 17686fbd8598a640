//! D1 access: a thin wrapper that binds arguments, reads rows and runs batches, mapping constraint
//! failures to the client errors they mean. The repositories live in the sub-modules.

pub mod audit;
pub mod budgets;
pub mod gateway;
pub mod keys;
pub mod models;
pub mod nodes;
pub mod policies;
pub mod provider_keys;
pub mod sessions;
pub mod usage;
pub mod users;

use crate::bindings;
use crate::fault::Fault;
use envelope::ApiError;
use serde::de::DeserializeOwned;
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result, Env};

/// One bound SQL argument.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Text(&'a str),
    Int(i64),
    Real(f64),
    Null,
}

impl<'a> Arg<'a> {
    pub fn opt_text(value: Option<&'a str>) -> Arg<'a> {
        value.map_or(Arg::Null, Arg::Text)
    }
    pub fn opt_int(value: Option<i64>) -> Arg<'a> {
        value.map_or(Arg::Null, Arg::Int)
    }
    pub fn opt_real(value: Option<f64>) -> Arg<'a> {
        value.map_or(Arg::Null, Arg::Real)
    }
    fn to_js(self) -> JsValue {
        match self {
            Arg::Text(s) => JsValue::from_str(s),
            // Timestamps and counters stay far below 2^53, exact in a JS number.
            Arg::Int(n) => JsValue::from_f64(n as f64),
            Arg::Real(x) => JsValue::from_f64(x),
            Arg::Null => JsValue::NULL,
        }
    }
}

pub struct Db(D1Database);

impl Db {
    pub fn from_env(env: &Env) -> Result<Db, Fault> {
        Ok(Db(env.d1(bindings::DB)?))
    }

    pub fn stmt(&self, sql: &str, args: &[Arg]) -> Result<D1PreparedStatement, Fault> {
        let values: Vec<JsValue> = args.iter().map(|a| a.to_js()).collect();
        Ok(self.0.prepare(sql).bind(&values)?)
    }

    pub async fn one<T: DeserializeOwned>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
    ) -> Result<Option<T>, Fault> {
        Ok(self.stmt(sql, args)?.first::<T>(None).await?)
    }

    pub async fn all<T: DeserializeOwned>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
    ) -> Result<Vec<T>, Fault> {
        let result = self.stmt(sql, args)?.all().await?;
        Ok(result.results::<T>()?)
    }

    /// Runs the statements as one atomic batch (D1 wraps a batch in a transaction).
    pub async fn batch(
        &self,
        statements: Vec<D1PreparedStatement>,
    ) -> Result<Vec<D1Result>, Fault> {
        self.0.batch(statements).await.map_err(constraint_error)
    }

    pub async fn ping(&self) -> Result<(), Fault> {
        self.one::<serde_json::Value>("SELECT 1 AS ok", &[])
            .await
            .map(|_| ())
    }
}

/// Rows of the last statement of a batch (used to read back what the batch wrote).
pub fn last_rows<T: DeserializeOwned>(results: &[D1Result]) -> Result<Vec<T>, Fault> {
    match results.last() {
        Some(result) => Ok(result.results::<T>()?),
        None => Ok(Vec::new()),
    }
}

fn constraint_error(error: worker::Error) -> Fault {
    let text = format!("{error} {error:?}");
    if text.contains("UNIQUE constraint failed") {
        return ApiError::conflict(conflict_message(&text)).into();
    }
    if text.contains("FOREIGN KEY constraint failed") {
        return ApiError::unprocessable("body", "refers to a resource that does not exist").into();
    }
    Fault::Worker(error)
}

/// Names the clashing field without echoing any value: D1 reports "UNIQUE constraint failed: table.col, ...".
fn conflict_message(text: &str) -> String {
    let columns = text
        .split("UNIQUE constraint failed: ")
        .nth(1)
        .map(|rest| {
            rest.split(|c: char| {
                !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == ',' || c == ' ')
            })
            .next()
            .unwrap_or("")
        })
        .unwrap_or("");
    let field = columns
        .split(',')
        .map(|c| c.trim().rsplit('.').next().unwrap_or(""))
        .rfind(|c| !c.ends_with("_id") && !c.is_empty());
    match field {
        Some(field) => format!("{field}: already in use"),
        None => "already exists".to_string(),
    }
}

/// Maps a JSON-text column (arrays stored as TEXT) to a value.
pub fn json_column<T: DeserializeOwned + Default>(text: &str) -> T {
    serde_json::from_str(text).unwrap_or_default()
}
