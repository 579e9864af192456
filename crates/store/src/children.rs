//! The child register (SPEC §1, §3): one record per child, many referrals over
//! the years. Every view of a child's record is audited (`record_view`).

use crate::db::{self, Conn, DbResult, Row, Tx};
use crate::reference::{check_saved, diff, unique};
use crate::{Actor, ChangeError, audit, params};
use chrono::NaiveDate;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Child {
    pub id: i64,
    pub local_id: String,
    pub nhs_number: Option<String>,
    pub upn: Option<String>,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: NaiveDate,
    pub parental_responsibility: String,
    pub language_needs: String,
    pub version: i64,
}

impl Child {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
    }
}

/// A child's details as entered, already checked by the caller.
#[derive(Debug, Clone, Serialize)]
pub struct Fields {
    pub local_id: String,
    pub nhs_number: Option<String>,
    pub upn: Option<String>,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: NaiveDate,
    pub parental_responsibility: String,
    pub language_needs: String,
}

const COLUMNS: &str = "id, local_id, nhs_number, upn, given_name, family_name, date_of_birth, parental_responsibility, language_needs, version";

fn from_row(r: &Row) -> DbResult<Child> {
    Ok(Child {
        id: r.get(0)?,
        local_id: r.get(1)?,
        nhs_number: r.get(2)?,
        upn: r.get(3)?,
        given_name: r.get(4)?,
        family_name: r.get(5)?,
        date_of_birth: r.get(6)?,
        parental_responsibility: r.get(7)?,
        language_needs: r.get(8)?,
        version: r.get(9)?,
    })
}

pub fn get(conn: &mut Conn, id: i64) -> DbResult<Option<Child>> {
    conn.query_opt(
        &format!("SELECT {COLUMNS} FROM children WHERE id = $1"),
        &params![id],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Children whose name, local id, NHS number or UPN contains `term`; at most `limit`.
pub fn search(conn: &mut Conn, term: &str, limit: i64) -> DbResult<Vec<Child>> {
    let digits: String = term.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let like = format!("%{}%", escape_like(&term.trim().to_lowercase()));
    // No letters or digits: the identifier columns are not searched (PostgreSQL
    // refuses NUL in text, so an empty pattern is the "never" marker).
    let id_like = if digits.is_empty() {
        String::new()
    } else {
        format!("%{}%", escape_like(&digits.to_uppercase()))
    };
    conn.query(
        &format!(
            "SELECT {COLUMNS} FROM children
             WHERE LOWER(given_name || ' ' || family_name) LIKE $1 ESCAPE '\\'
                OR LOWER(local_id) LIKE $1 ESCAPE '\\'
                OR ($2 <> '' AND (nhs_number LIKE $2 ESCAPE '\\' OR upn LIKE $2 ESCAPE '\\'))
             ORDER BY LOWER(family_name), LOWER(given_name), id LIMIT $3"
        ),
        &params![like, id_like, limit],
    )?
    .iter()
    .map(from_row)
    .collect()
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// A record that may be the same child as the one being entered.
#[derive(Debug, Clone, Serialize)]
pub struct PossibleDuplicate {
    pub child: Child,
    pub reason: &'static str,
}

/// Children sharing the NHS number, the UPN, or the name and date of birth.
pub fn possible_duplicates(
    conn: &mut Conn,
    f: &Fields,
    except: Option<i64>,
) -> DbResult<Vec<PossibleDuplicate>> {
    let except = except.unwrap_or(0);
    let mut out: Vec<PossibleDuplicate> = Vec::new();
    let mut push = |rows: Vec<Row>, reason: &'static str| -> DbResult<()> {
        for r in &rows {
            let child = from_row(r)?;
            if !out.iter().any(|d| d.child.id == child.id) {
                out.push(PossibleDuplicate { child, reason });
            }
        }
        Ok(())
    };
    if let Some(n) = &f.nhs_number {
        let rows = conn.query(
            &format!("SELECT {COLUMNS} FROM children WHERE nhs_number = $1 AND id <> $2"),
            &params![n, except],
        )?;
        push(rows, "the same NHS number")?;
    }
    if let Some(u) = &f.upn {
        let rows = conn.query(
            &format!("SELECT {COLUMNS} FROM children WHERE upn = $1 AND id <> $2"),
            &params![u, except],
        )?;
        push(rows, "the same UPN")?;
    }
    let rows = conn.query(
        &format!(
            "SELECT {COLUMNS} FROM children WHERE LOWER(family_name) = $1 AND LOWER(given_name) = $2 AND date_of_birth = $3 AND id <> $4"
        ),
        &params![
            f.family_name.to_lowercase(),
            f.given_name.to_lowercase(),
            f.date_of_birth,
            except
        ],
    )?;
    push(rows, "the same name and date of birth")?;
    Ok(out)
}

fn taken(local_id: &str) -> String {
    format!("There is already a child with the local ID {local_id}")
}

pub fn create(tx: &mut Tx<'_>, actor: &Actor, f: &Fields) -> Result<i64, ChangeError> {
    let now = db::now();
    let id: i64 = tx
        .query_one(
            "INSERT INTO children (local_id, nhs_number, upn, given_name, family_name, date_of_birth, parental_responsibility, language_needs, created_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
            &params![
                &f.local_id,
                f.nhs_number.clone(),
                f.upn.clone(),
                &f.given_name,
                &f.family_name,
                f.date_of_birth,
                &f.parental_responsibility,
                &f.language_needs,
                actor.user_id,
                now
            ],
        )
        .map_err(|e| unique(e, || taken(&f.local_id)))?
        .get(0)?;
    // The audit row names the record, not the child: identifiers stay in the record.
    audit::record(
        tx,
        actor,
        "child.created",
        "child",
        Some(id.to_string()),
        serde_json::json!({"local_id": f.local_id}),
    )?;
    Ok(id)
}

pub fn update(
    tx: &mut Tx<'_>,
    actor: &Actor,
    id: i64,
    version: i64,
    f: &Fields,
) -> Result<Child, ChangeError> {
    let before = get(tx, id)?.ok_or(ChangeError::NotFound)?;
    let n = tx
        .execute(
            "UPDATE children SET local_id = $1, nhs_number = $2, upn = $3, given_name = $4, family_name = $5, date_of_birth = $6,
                parental_responsibility = $7, language_needs = $8, version = version + 1, updated_at = $9
             WHERE id = $10 AND version = $11",
            &params![
                &f.local_id,
                f.nhs_number.clone(),
                f.upn.clone(),
                &f.given_name,
                &f.family_name,
                f.date_of_birth,
                &f.parental_responsibility,
                &f.language_needs,
                db::now(),
                id,
                version
            ],
        )
        .map_err(|e| unique(e, || taken(&f.local_id)))?;
    check_saved(tx, "children", id, n)?;
    let after = get(tx, id)?.ok_or(ChangeError::NotFound)?;
    let changed: Vec<String> = match diff(&before, &after) {
        serde_json::Value::Object(m) => m.keys().cloned().collect(),
        _ => Vec::new(),
    };
    // Field names only: the values are personal data and stay out of the log.
    audit::record(
        tx,
        actor,
        "child.updated",
        "child",
        Some(id.to_string()),
        serde_json::json!({"changed": changed}),
    )?;
    Ok(after)
}

/// Records that `actor` looked at the child's record (SPEC §9), in its own transaction.
pub fn record_view(conn: &mut Conn, actor: &Actor, child_id: i64, what: &str) -> DbResult<()> {
    let mut tx = conn.begin_relaxed()?;
    audit::record(
        &mut tx,
        actor,
        "child.viewed",
        "child",
        Some(child_id.to_string()),
        serde_json::json!({"page": what}),
    )?;
    tx.commit()
}
