//! Agencies: the parts of an organisation that hold a seat on a panel (SPEC §1).

use super::{check_saved, diff, unique};
use crate::db::{self, Conn, DbResult, Row, Tx};
use crate::{Actor, ChangeError, audit, params};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Agency {
    pub id: i64,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub name: String,
    /// Adult services: told when a child with an agreement nears 18.
    pub adult_services: bool,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct Fields {
    pub organisation_id: i64,
    pub name: String,
    pub adult_services: bool,
}

const SELECT: &str = "SELECT a.id, a.organisation_id, o.name, a.name, a.version, a.adult_services FROM agencies a JOIN organisations o ON o.id = a.organisation_id";

fn from_row(r: &Row) -> DbResult<Agency> {
    Ok(Agency {
        id: r.get(0)?,
        organisation_id: r.get(1)?,
        organisation_name: r.get(2)?,
        name: r.get(3)?,
        version: r.get(4)?,
        adult_services: r.get(5)?,
    })
}

pub fn list(conn: &mut Conn) -> DbResult<Vec<Agency>> {
    conn.query(
        &format!("{SELECT} ORDER BY LOWER(o.name), LOWER(a.name), a.id"),
        &[],
    )?
    .iter()
    .map(from_row)
    .collect()
}

pub fn get(conn: &mut Conn, id: i64) -> DbResult<Option<Agency>> {
    conn.query_opt(&format!("{SELECT} WHERE a.id = $1"), &params![id])?
        .as_ref()
        .map(from_row)
        .transpose()
}

fn check_organisation(tx: &mut Tx<'_>, organisation_id: i64) -> Result<(), ChangeError> {
    if super::organisations::get(tx, organisation_id)?.is_none() {
        return Err(ChangeError::Invalid(
            "Select the organisation the agency belongs to".to_owned(),
        ));
    }
    Ok(())
}

fn taken(name: &str) -> String {
    format!("There is already an agency called {name}")
}

pub fn create(tx: &mut Tx<'_>, actor: &Actor, f: &Fields) -> Result<i64, ChangeError> {
    check_organisation(tx, f.organisation_id)?;
    let now = db::now();
    let id: i64 = tx
        .query_one(
            "INSERT INTO agencies (organisation_id, name, created_at, updated_at, adult_services) VALUES ($1, $2, $3, $3, $4) RETURNING id",
            &params![f.organisation_id, &f.name, now, f.adult_services],
        )
        .map_err(|e| unique(e, || taken(&f.name)))?
        .get(0)?;
    audit::record(
        tx,
        actor,
        "agency.created",
        "agency",
        Some(id.to_string()),
        serde_json::json!({"name": f.name, "organisation_id": f.organisation_id, "adult_services": f.adult_services}),
    )?;
    Ok(id)
}

pub fn update(
    tx: &mut Tx<'_>,
    actor: &Actor,
    id: i64,
    version: i64,
    f: &Fields,
) -> Result<Agency, ChangeError> {
    check_organisation(tx, f.organisation_id)?;
    let before = get(tx, id)?.ok_or(ChangeError::NotFound)?;
    let n = tx
        .execute(
            "UPDATE agencies SET organisation_id = $1, name = $2, version = version + 1, updated_at = $3, adult_services = $6 WHERE id = $4 AND version = $5",
            &params![f.organisation_id, &f.name, db::now(), id, version, f.adult_services],
        )
        .map_err(|e| unique(e, || taken(&f.name)))?;
    check_saved(tx, "agencies", id, n)?;
    let after = get(tx, id)?.ok_or(ChangeError::NotFound)?;
    audit::record(
        tx,
        actor,
        "agency.updated",
        "agency",
        Some(id.to_string()),
        diff(&before, &after),
    )?;
    Ok(after)
}
