//! Organisations: the legal bodies that pay (SPEC §1).

use super::{check_saved, diff, unique};
use crate::db::{self, Conn, DbResult, Row, Tx};
use crate::{Actor, ChangeError, audit, params};
use serde::Serialize;

/// The kinds of paying body.
pub const KINDS: [(&str, &str); 4] = [
    ("local-authority", "Local authority"),
    ("nhs", "NHS commissioner (ICB)"),
    ("education", "School or education body"),
    ("other", "Other"),
];

pub fn kind_label(kind: &str) -> &'static str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("Other", |(_, l)| l)
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Organisation {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct Fields {
    pub name: String,
    pub kind: String,
}

fn from_row(r: &Row) -> DbResult<Organisation> {
    Ok(Organisation {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: r.get(2)?,
        version: r.get(3)?,
    })
}

pub fn list(conn: &mut Conn) -> DbResult<Vec<Organisation>> {
    conn.query(
        "SELECT id, name, kind, version FROM organisations ORDER BY LOWER(name), id",
        &[],
    )?
    .iter()
    .map(from_row)
    .collect()
}

pub fn get(conn: &mut Conn, id: i64) -> DbResult<Option<Organisation>> {
    conn.query_opt(
        "SELECT id, name, kind, version FROM organisations WHERE id = $1",
        &params![id],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

fn taken(name: &str) -> String {
    format!("There is already an organisation called {name}")
}

pub fn create(tx: &mut Tx<'_>, actor: &Actor, f: &Fields) -> Result<i64, ChangeError> {
    let now = db::now();
    let id: i64 = tx
        .query_one(
            "INSERT INTO organisations (name, kind, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id",
            &params![&f.name, &f.kind, now],
        )
        .map_err(|e| unique(e, || taken(&f.name)))?
        .get(0)?;
    audit::record(
        tx,
        actor,
        "organisation.created",
        "organisation",
        Some(id.to_string()),
        serde_json::json!({"name": f.name, "kind": f.kind}),
    )?;
    Ok(id)
}

pub fn update(
    tx: &mut Tx<'_>,
    actor: &Actor,
    id: i64,
    version: i64,
    f: &Fields,
) -> Result<Organisation, ChangeError> {
    let before = get(tx, id)?.ok_or(ChangeError::NotFound)?;
    let n = tx
        .execute(
            "UPDATE organisations SET name = $1, kind = $2, version = version + 1, updated_at = $3 WHERE id = $4 AND version = $5",
            &params![&f.name, &f.kind, db::now(), id, version],
        )
        .map_err(|e| unique(e, || taken(&f.name)))?;
    check_saved(tx, "organisations", id, n)?;
    let after = get(tx, id)?.ok_or(ChangeError::NotFound)?;
    audit::record(
        tx,
        actor,
        "organisation.updated",
        "organisation",
        Some(id.to_string()),
        diff(&before, &after),
    )?;
    Ok(after)
}
