//! Panel members: a person sitting for an agency, with deputies who may attend
//! in their place; one member of each panel is its chair (SPEC §1, seed 000 §3.5).

use super::{check_saved, diff, unique};
use crate::db::{self, Conn, DbResult, Row, Tx};
use crate::{Actor, ChangeError, audit, params};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Deputy {
    pub user_id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Member {
    pub id: i64,
    pub panel_id: i64,
    pub user_id: i64,
    pub user_name: String,
    pub agency_id: i64,
    pub agency_name: String,
    pub is_chair: bool,
    pub deputies: Vec<Deputy>,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct Fields {
    pub user_id: i64,
    pub agency_id: i64,
    pub is_chair: bool,
    pub deputy_user_ids: Vec<i64>,
}

const SELECT: &str = "SELECT m.id, m.panel_id, m.user_id, u.name, m.agency_id, a.name, m.is_chair, m.version \
    FROM panel_members m JOIN users u ON u.id = m.user_id JOIN agencies a ON a.id = m.agency_id";

fn from_row(conn: &mut Conn, r: &Row) -> DbResult<Member> {
    let id: i64 = r.get(0)?;
    let deputies = conn
        .query(
            "SELECT d.user_id, u.name FROM member_deputies d JOIN users u ON u.id = d.user_id WHERE d.member_id = $1 ORDER BY LOWER(u.name)",
            &params![id],
        )?
        .iter()
        .map(|d| Ok(Deputy { user_id: d.get(0)?, name: d.get(1)? }))
        .collect::<DbResult<_>>()?;
    Ok(Member {
        id,
        panel_id: r.get(1)?,
        user_id: r.get(2)?,
        user_name: r.get(3)?,
        agency_id: r.get(4)?,
        agency_name: r.get(5)?,
        is_chair: r.get(6)?,
        deputies,
        version: r.get(7)?,
    })
}

pub fn of_panel(conn: &mut Conn, panel_id: i64) -> DbResult<Vec<Member>> {
    let rows = conn.query(
        &format!(
            "{SELECT} WHERE m.panel_id = $1 ORDER BY m.is_chair DESC, LOWER(a.name), LOWER(u.name)"
        ),
        &params![panel_id],
    )?;
    rows.iter().map(|r| from_row(conn, r)).collect()
}

pub fn get(conn: &mut Conn, id: i64) -> DbResult<Option<Member>> {
    let row = conn.query_opt(&format!("{SELECT} WHERE m.id = $1"), &params![id])?;
    row.map(|r| from_row(conn, &r)).transpose()
}

/// Panels where this user sits as a member or a deputy.
pub fn panels_of_user(conn: &mut Conn, user_id: i64) -> DbResult<Vec<(i64, String, bool, bool)>> {
    conn.query(
        "SELECT p.id, p.name, m.is_chair, FALSE FROM panel_members m JOIN panels p ON p.id = m.panel_id WHERE m.user_id = $1 \
         UNION ALL \
         SELECT p.id, p.name, FALSE, TRUE FROM member_deputies d JOIN panel_members m ON m.id = d.member_id \
         JOIN panels p ON p.id = m.panel_id WHERE d.user_id = $1 ORDER BY 2",
        &params![user_id],
    )?
    .iter()
    .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
    .collect()
}

fn check(tx: &mut Tx<'_>, f: &Fields) -> Result<(), ChangeError> {
    if crate::accounts::get(tx, f.user_id)?.is_none() {
        return Err(ChangeError::Invalid(
            "Select the person who sits on the panel".to_owned(),
        ));
    }
    if super::agencies::get(tx, f.agency_id)?.is_none() {
        return Err(ChangeError::Invalid(
            "Select the agency the member represents".to_owned(),
        ));
    }
    if f.deputy_user_ids.contains(&f.user_id) {
        return Err(ChangeError::Invalid(
            "A member cannot be their own deputy".to_owned(),
        ));
    }
    for d in &f.deputy_user_ids {
        if crate::accounts::get(tx, *d)?.is_none() {
            return Err(ChangeError::Invalid(
                "Select deputies from the list of people".to_owned(),
            ));
        }
    }
    Ok(())
}

fn save_details(tx: &mut Tx<'_>, panel_id: i64, id: i64, f: &Fields) -> DbResult<()> {
    if f.is_chair {
        tx.execute("UPDATE panel_members SET is_chair = FALSE, version = version + 1 WHERE panel_id = $1 AND id <> $2 AND is_chair = TRUE", &params![panel_id, id])?;
    }
    tx.execute(
        "DELETE FROM member_deputies WHERE member_id = $1",
        &params![id],
    )?;
    let mut deputies = f.deputy_user_ids.clone();
    deputies.sort_unstable();
    deputies.dedup();
    for d in deputies {
        tx.execute(
            "INSERT INTO member_deputies (member_id, user_id) VALUES ($1, $2)",
            &params![id, d],
        )?;
    }
    Ok(())
}

fn taken() -> String {
    "That person is already a member of this panel".to_owned()
}

pub fn create(
    tx: &mut Tx<'_>,
    actor: &Actor,
    panel_id: i64,
    f: &Fields,
) -> Result<i64, ChangeError> {
    check(tx, f)?;
    let now = db::now();
    let id: i64 = tx
        .query_one(
            "INSERT INTO panel_members (panel_id, user_id, agency_id, is_chair, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
            &params![panel_id, f.user_id, f.agency_id, f.is_chair, now],
        )
        .map_err(|e| unique(e, taken))?
        .get(0)?;
    save_details(tx, panel_id, id, f)?;
    let created = get(tx, id)?.ok_or(ChangeError::NotFound)?;
    audit::record(
        tx,
        actor,
        "panel-member.added",
        "panel",
        Some(panel_id.to_string()),
        serde_json::to_value(&created).unwrap_or_default(),
    )?;
    Ok(id)
}

pub fn update(
    tx: &mut Tx<'_>,
    actor: &Actor,
    id: i64,
    version: i64,
    f: &Fields,
) -> Result<Member, ChangeError> {
    check(tx, f)?;
    let before = get(tx, id)?.ok_or(ChangeError::NotFound)?;
    let n = tx
        .execute(
            "UPDATE panel_members SET user_id = $1, agency_id = $2, is_chair = $3, version = version + 1, updated_at = $4 WHERE id = $5 AND version = $6",
            &params![f.user_id, f.agency_id, f.is_chair, db::now(), id, version],
        )
        .map_err(|e| unique(e, taken))?;
    check_saved(tx, "panel_members", id, n)?;
    save_details(tx, before.panel_id, id, f)?;
    let after = get(tx, id)?.ok_or(ChangeError::NotFound)?;
    audit::record(
        tx,
        actor,
        "panel-member.updated",
        "panel",
        Some(before.panel_id.to_string()),
        serde_json::json!({"member_id": id, "changes": diff(&before, &after)}),
    )?;
    Ok(after)
}

pub fn remove(tx: &mut Tx<'_>, actor: &Actor, id: i64, version: i64) -> Result<(), ChangeError> {
    let before = get(tx, id)?.ok_or(ChangeError::NotFound)?;
    if before.version != version {
        return Err(ChangeError::Conflict {
            current: before.version,
        });
    }
    tx.execute(
        "DELETE FROM member_deputies WHERE member_id = $1",
        &params![id],
    )?;
    tx.execute(
        "DELETE FROM panel_members WHERE id = $1 AND version = $2",
        &params![id, version],
    )?;
    audit::record(
        tx,
        actor,
        "panel-member.removed",
        "panel",
        Some(before.panel_id.to_string()),
        serde_json::to_value(&before).unwrap_or_default(),
    )?;
    Ok(())
}
