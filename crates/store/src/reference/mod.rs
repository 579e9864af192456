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

/// The names of every panel, organisation and agency, each list in the order
/// its own `list` gives: what a filter form's choices need, in one query.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub panels: Vec<(i64, String)>,
    pub organisations: Vec<(i64, String)>,
    pub agencies: Vec<(i64, String)>,
}

pub fn names(conn: &mut crate::db::Conn) -> crate::db::DbResult<Names> {
    // One round trip, sorted here (SQLite sorted the compound slowly).
    let mut rows: Vec<(i64, String, i64, String)> = conn
        .query(
            "SELECT 0, id, name, '' FROM panels
             UNION ALL SELECT 1, id, name, '' FROM organisations
             UNION ALL SELECT 2, a.id, a.name, o.name
                       FROM agencies a JOIN organisations o ON o.id = a.organisation_id",
            &[],
        )?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(2)?, r.get(1)?, r.get(3)?)))
        .collect::<crate::db::DbResult<_>>()?;
    rows.sort_by_cached_key(|(kind, name, id, owner)| {
        (*kind, owner.to_lowercase(), name.to_lowercase(), *id)
    });
    let mut out = Names::default();
    for (kind, name, id, _) in rows {
        match kind {
            0 => out.panels.push((id, name)),
            1 => out.organisations.push((id, name)),
            _ => out.agencies.push((id, name)),
        }
    }
    Ok(out)
}
