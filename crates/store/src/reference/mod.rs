//! Reference data a system administrator keeps: organisations, agencies,
//! panels with their rules, and panel members with their deputies.
//! Every record carries a version: a save names the version it was read at,
//! and a save against a newer version is refused (optimistic locking).

pub mod agencies;
pub mod members;
pub mod organisations;
pub mod panels;

use crate::db::{DbError, Tx};
use crate::{ChangeError, params};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// The fields that differ between two versions of a record, as `{field: {from, to}}`.
pub fn diff<T: Serialize>(before: &T, after: &T) -> Value {
    let (Ok(Value::Object(b)), Ok(Value::Object(a))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return json!({});
    };
    let mut out = Map::new();
    for (k, av) in &a {
        if k == "version" {
            continue;
        }
        let bv = b.get(k).unwrap_or(&Value::Null);
        if bv != av {
            out.insert(k.clone(), json!({"from": bv, "to": av}));
        }
    }
    Value::Object(out)
}

/// After `UPDATE … WHERE id = $ AND version = $`: turns "0 rows" into NotFound or Conflict.
pub(crate) fn check_saved(
    tx: &mut Tx<'_>,
    table: &str,
    id: i64,
    changed: u64,
) -> Result<(), ChangeError> {
    if changed > 0 {
        return Ok(());
    }
    match tx.query_opt(
        &format!("SELECT version FROM {table} WHERE id = $1"),
        &params![id],
    )? {
        None => Err(ChangeError::NotFound),
        Some(r) => Err(ChangeError::Conflict { current: r.get(0)? }),
    }
}

/// Maps a uniqueness violation to a message a person can act on.
pub(crate) fn unique(e: DbError, message: impl FnOnce() -> String) -> ChangeError {
    if e.is_unique_violation() {
        ChangeError::Duplicate(message())
    } else {
        ChangeError::Db(e)
    }
}
