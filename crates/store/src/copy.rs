//! Copies every record of an installation on SQLite into a freshly migrated
//! PostgreSQL database: how an installation that started on the embedded
//! database moves to a shared server, and how the benchmark fills PostgreSQL
//! with the stress set (generating it statement by statement over the network
//! would take hours). Streams each table through `COPY … FROM STDIN`, so
//! memory stays flat whatever the row count, all in one transaction: the
//! target ends with every row or none.

use crate::db::{Backend, Conn, DbError, DbResult};
use std::io::Write;

/// Rows copied per table, in the order copied.
pub type Copied = Vec<(String, u64)>;

/// Copies `from` (SQLite) into `to` (PostgreSQL, migrated to the same
/// version; its rows are replaced). `progress` hears (rows so far, of all).
///
/// The target's foreign keys are not checked while loading (the records come
/// from a database that checked them; some tables refer to each other), so
/// the PostgreSQL role must be allowed to set `session_replication_role`
/// (a superuser, or on PostgreSQL 15 and later a role granted `SET` on it).
pub fn sqlite_to_postgres(
    from: &mut Conn,
    to: &mut Conn,
    progress: &mut dyn FnMut(u64, u64),
) -> DbResult<Copied> {
    if (from.backend(), to.backend()) != (Backend::Sqlite, Backend::Postgres) {
        return Err(DbError::Other(
            "copy from a SQLite database into a PostgreSQL one".into(),
        ));
    }
    let version = |c: &mut Conn| -> DbResult<i64> {
        c.query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )?
        .get(0)
    };
    let (a, b) = (version(from)?, version(to)?);
    if a != b {
        return Err(DbError::Other(format!(
            "the databases are at different schema versions ({a} and {b}): run `jointpanel migrate` on both"
        )));
    }
    let Conn::Sqlite(src) = from else {
        unreachable!("checked above")
    };
    let tables: Vec<String> = src
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table'
             AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut plan = Vec::new();
    let mut total = 0u64;
    for t in &tables {
        let n: i64 = src.query_row(&format!("SELECT COUNT(*) FROM \"{t}\""), [], |r| r.get(0))?;
        let columns: Vec<String> = src
            .prepare(&format!("PRAGMA table_info(\"{t}\")"))?
            .query_map([], |r| r.get(1))?
            .collect::<Result<_, _>>()?;
        total += u64::try_from(n).unwrap_or(0);
        plan.push((t.clone(), columns));
    }
    let Conn::Postgres(dst) = to else {
        unreachable!("checked above")
    };
    let mut tx = dst.client.transaction()?;
    tx.batch_execute("SET LOCAL session_replication_role = replica")?;
    let list: Vec<String> = tables.iter().map(|t| format!("\"{t}\"")).collect();
    tx.batch_execute(&format!("TRUNCATE {}", list.join(", ")))?;
    let mut done = 0u64;
    let mut copied = Vec::new();
    for (table, columns) in &plan {
        let kinds = pg_kinds(&mut tx, table, columns)?;
        let cols: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
        let mut st = src.prepare(&format!(
            "SELECT {} FROM \"{table}\" ORDER BY rowid",
            cols.join(", ")
        ))?;
        let mut rows = st.query([])?;
        let sink = tx.copy_in(&format!(
            "COPY \"{table}\" ({}) FROM STDIN",
            cols.join(", ")
        ))?;
        let mut out = std::io::BufWriter::with_capacity(1 << 16, sink);
        let mut line = Vec::with_capacity(512);
        let mut n = 0u64;
        while let Some(r) = rows.next()? {
            line.clear();
            for (i, kind) in kinds.iter().enumerate() {
                if i > 0 {
                    line.push(b'\t');
                }
                copy_value(&mut line, r.get_ref(i)?, *kind);
            }
            line.push(b'\n');
            out.write_all(&line).map_err(io)?;
            n += 1;
            if n.is_multiple_of(10_000) {
                progress(done + n, total);
            }
        }
        out.into_inner()
            .map_err(|e| DbError::Other(e.to_string()))?
            .finish()?;
        done += n;
        progress(done, total);
        copied.push((table.clone(), n));
    }
    // Identity columns carry on from the highest id copied.
    for (table, columns) in &plan {
        if columns.iter().any(|c| c == "id") {
            tx.batch_execute(&format!(
                "SELECT setval(s, (SELECT COALESCE(MAX(id), 0) + 1 FROM \"{table}\"), false)
                 FROM pg_get_serial_sequence('\"{table}\"', 'id') AS s WHERE s IS NOT NULL"
            ))?;
        }
    }
    tx.commit()?;
    to.batch("ANALYZE")?;
    Ok(copied)
}

fn io(e: std::io::Error) -> DbError {
    DbError::Other(e.to_string())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Bytes,
    Other,
}

/// What each column is on PostgreSQL (SQLite keeps booleans as 0 and 1).
fn pg_kinds(
    tx: &mut postgres::Transaction<'_>,
    table: &str,
    columns: &[String],
) -> DbResult<Vec<Kind>> {
    let found: Vec<(String, String)> = tx
        .query(
            "SELECT column_name, data_type FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1",
            &[&table],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    columns
        .iter()
        .map(|c| match found.iter().find(|(n, _)| n == c) {
            Some((_, t)) if t == "boolean" => Ok(Kind::Bool),
            Some((_, t)) if t == "bytea" => Ok(Kind::Bytes),
            Some(_) => Ok(Kind::Other),
            None => Err(DbError::Other(format!(
                "PostgreSQL has no column {table}.{c}: are both databases migrated?"
            ))),
        })
        .collect()
}

/// One value in COPY's text format.
fn copy_value(out: &mut Vec<u8>, v: rusqlite::types::ValueRef<'_>, kind: Kind) {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => out.extend_from_slice(b"\\N"),
        ValueRef::Integer(i) if kind == Kind::Bool => {
            out.push(if i == 0 { b'f' } else { b't' });
        }
        ValueRef::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        ValueRef::Real(f) => out.extend_from_slice(f.to_string().as_bytes()),
        ValueRef::Text(t) if kind == Kind::Bytes => hex(out, t),
        ValueRef::Blob(b) => hex(out, b),
        ValueRef::Text(t) => {
            for &c in t {
                match c {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    c => out.push(c),
                }
            }
        }
    }
}

/// bytea's hex form, its backslash escaped for COPY.
fn hex(out: &mut Vec<u8>, b: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(b"\\\\x");
    for byte in b {
        out.push(DIGITS[usize::from(byte >> 4)]);
        out.push(DIGITS[usize::from(byte & 15)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::types::ValueRef;

    fn one(v: ValueRef<'_>, kind: Kind) -> String {
        let mut out = Vec::new();
        copy_value(&mut out, v, kind);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn values_are_written_in_copy_text_format() {
        assert_eq!(one(ValueRef::Null, Kind::Other), "\\N");
        assert_eq!(one(ValueRef::Integer(1), Kind::Bool), "t");
        assert_eq!(one(ValueRef::Integer(0), Kind::Bool), "f");
        assert_eq!(one(ValueRef::Integer(-42), Kind::Other), "-42");
        assert_eq!(
            one(ValueRef::Text(b"a\tb\nc\\d\re"), Kind::Other),
            "a\\tb\\nc\\\\d\\re"
        );
        assert_eq!(
            one(ValueRef::Blob(&[0, 255, 16]), Kind::Bytes),
            "\\\\x00ff10"
        );
    }
}
