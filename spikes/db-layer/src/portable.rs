//! Candidate 4: "portable SQL over the raw drivers" — the minimal version of
//! the layer the team has provisionally chosen, so its overhead is measured.
//!
//! * ONE SQL text per query, written with `$1..$n` placeholders;
//! * rewritten to `?1..?n` for SQLite (outside string literals / quoted identifiers);
//! * parameters bound from a small `Value` enum;
//! * every row decoded into `Vec<Value>`, then into a struct via `FromRow`.

use chrono::{NaiveDate, NaiveDateTime};
use postgres::types::Type;
use std::collections::HashMap;
use std::error::Error;

pub type R<T> = Result<T, Box<dyn Error + Send + Sync>>;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Bool(bool),
    Date(NaiveDate),
    Timestamp(NaiveDateTime),
}

// Text formats used on SQLite; identical to rusqlite's / Diesel's / sqlx's chrono encodings.
const DATE_FMT: &str = "%Y-%m-%d";
const TS_FMT: &str = "%Y-%m-%d %H:%M:%S%.f";

/// Rewrite `$n` placeholders to `?n`, leaving quoted text alone.
pub fn to_sqlite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(ch) = chars.next() {
        match quote {
            Some(q) => {
                if ch == q {
                    quote = None;
                }
                out.push(ch);
            }
            None if ch == '\'' || ch == '"' => {
                quote = Some(ch);
                out.push(ch);
            }
            None if ch == '$' && chars.peek().is_some_and(|c| c.is_ascii_digit()) => out.push('?'),
            None => out.push(ch),
        }
    }
    out
}

pub enum Db {
    Sqlite(rusqlite::Connection),
    Pg { client: postgres::Client, stmts: HashMap<String, postgres::Statement> },
}

// ---- binding -----------------------------------------------------------------

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value as V, ValueRef};
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(*b as i64)),
            Value::Date(d) => ToSqlOutput::Owned(V::Text(d.format(DATE_FMT).to_string())),
            Value::Timestamp(t) => ToSqlOutput::Owned(V::Text(t.format(TS_FMT).to_string())),
        })
    }
}

impl postgres::types::ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Value::Null => Ok(postgres::types::IsNull::Yes),
            // Accept INT2/INT4 targets too, so `$1` can be compared with any integer column.
            Value::Int(i) => match *ty {
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                _ => i.to_sql(ty, out),
            },
            Value::Text(s) => s.to_sql(ty, out),
            Value::Bool(b) => b.to_sql(ty, out),
            Value::Date(d) => d.to_sql(ty, out),
            Value::Timestamp(t) => t.to_sql(ty, out),
        }
    }
    fn accepts(_ty: &Type) -> bool {
        true // checked per value in to_sql
    }
    postgres::types::to_sql_checked!();
}

// ---- decoding ---------------------------------------------------------------

fn sqlite_value(v: rusqlite::types::ValueRef<'_>) -> R<Value> {
    use rusqlite::types::ValueRef;
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Text(t) => Value::Text(std::str::from_utf8(t)?.to_owned()),
        ValueRef::Real(_) | ValueRef::Blob(_) => return Err("unsupported SQLite value".into()),
    })
}

fn pg_value(row: &postgres::Row, i: usize) -> R<Value> {
    let ty = row.columns()[i].type_();
    Ok(match *ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map_or(Value::Null, Value::Int),
        Type::INT4 => row.try_get::<_, Option<i32>>(i)?.map_or(Value::Null, |x| Value::Int(x.into())),
        Type::INT2 => row.try_get::<_, Option<i16>>(i)?.map_or(Value::Null, |x| Value::Int(x.into())),
        Type::TEXT | Type::VARCHAR => row.try_get::<_, Option<String>>(i)?.map_or(Value::Null, Value::Text),
        Type::BOOL => row.try_get::<_, Option<bool>>(i)?.map_or(Value::Null, Value::Bool),
        Type::DATE => row.try_get::<_, Option<NaiveDate>>(i)?.map_or(Value::Null, Value::Date),
        Type::TIMESTAMP => row.try_get::<_, Option<NaiveDateTime>>(i)?.map_or(Value::Null, Value::Timestamp),
        ref other => return Err(format!("unsupported PostgreSQL type {other}").into()),
    })
}

/// Conversion of one `Value` into a Rust field type. SQLite has no DATE /
/// TIMESTAMP / BOOL storage, so the conversions accept the SQLite encodings.
pub trait FromValue: Sized {
    fn from_value(v: Value) -> R<Self>;
}
impl FromValue for i64 {
    fn from_value(v: Value) -> R<Self> {
        match v {
            Value::Int(i) => Ok(i),
            other => Err(format!("expected integer, got {other:?}").into()),
        }
    }
}
impl FromValue for bool {
    fn from_value(v: Value) -> R<Self> {
        match v {
            Value::Bool(b) => Ok(b),
            Value::Int(i) => Ok(i != 0),
            other => Err(format!("expected bool, got {other:?}").into()),
        }
    }
}
impl FromValue for String {
    fn from_value(v: Value) -> R<Self> {
        match v {
            Value::Text(s) => Ok(s),
            other => Err(format!("expected text, got {other:?}").into()),
        }
    }
}
impl FromValue for NaiveDate {
    fn from_value(v: Value) -> R<Self> {
        match v {
            Value::Date(d) => Ok(d),
            Value::Text(s) => Ok(NaiveDate::parse_from_str(&s, DATE_FMT)?),
            other => Err(format!("expected date, got {other:?}").into()),
        }
    }
}
impl FromValue for NaiveDateTime {
    fn from_value(v: Value) -> R<Self> {
        match v {
            Value::Timestamp(t) => Ok(t),
            Value::Text(s) => Ok(NaiveDateTime::parse_from_str(&s, TS_FMT)?),
            other => Err(format!("expected timestamp, got {other:?}").into()),
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: Value) -> R<Self> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// Walks a decoded row left to right.
pub struct Cols(std::vec::IntoIter<Value>);
impl Cols {
    pub fn next<T: FromValue>(&mut self) -> R<T> {
        T::from_value(self.0.next().ok_or("too few columns")?)
    }
}

pub trait FromRow: Sized {
    fn from_row(c: &mut Cols) -> R<Self>;
}

impl Db {
    /// Run one portable query and decode every row into `T`.
    pub fn query<T: FromRow>(&mut self, sql: &str, params: &[Value]) -> R<Vec<T>> {
        let rows = self.query_values(sql, params)?;
        rows.into_iter().map(|r| T::from_row(&mut Cols(r.into_iter()))).collect()
    }

    pub fn query_values(&mut self, sql: &str, params: &[Value]) -> R<Vec<Vec<Value>>> {
        match self {
            Db::Sqlite(conn) => {
                let sql = to_sqlite_placeholders(sql);
                let mut stmt = conn.prepare_cached(&sql)?;
                let n = stmt.column_count();
                let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    let mut vals = Vec::with_capacity(n);
                    for i in 0..n {
                        vals.push(sqlite_value(row.get_ref(i)?)?);
                    }
                    out.push(vals);
                }
                Ok(out)
            }
            Db::Pg { client, stmts } => {
                let stmt = match stmts.get(sql) {
                    Some(s) => s.clone(),
                    None => {
                        let s = client.prepare(sql)?;
                        stmts.insert(sql.to_owned(), s.clone());
                        s
                    }
                };
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    params.iter().map(|p| p as &(dyn postgres::types::ToSql + Sync)).collect();
                let rows = client.query(&stmt, &refs)?;
                rows.iter()
                    .map(|row| (0..row.len()).map(|i| pg_value(row, i)).collect::<R<Vec<_>>>())
                    .collect()
            }
        }
    }
}

// ---- what application code writes per query ---------------------------------

impl FromRow for crate::common::ReferralRow {
    fn from_row(c: &mut Cols) -> R<Self> {
        Ok(Self {
            id: c.next()?,
            child_id: c.next()?,
            panel_id: c.next()?,
            status: c.next()?,
            need_level: c.next()?,
            kind: c.next()?,
            referrer_name: c.next()?,
            team: c.next()?,
            submitted_on: c.next()?,
            review_date: c.next()?,
            annual_cost_pence: c.next()?,
            created_at: c.next()?,
            updated_at: c.next()?,
            version: c.next()?,
            summary: c.next()?,
            local_id: c.next()?,
            given_name: c.next()?,
            family_name: c.next()?,
            date_of_birth: c.next()?,
        })
    }
}

pub fn page(db: &mut Db, ts: NaiveDateTime, id: i64) -> R<Vec<crate::common::ReferralRow>> {
    db.query(crate::common::PAGE_SQL, &[Value::Timestamp(ts), Value::Int(id)])
}

#[cfg(test)]
mod tests {
    use super::to_sqlite_placeholders as t;
    #[test]
    fn rewrites_placeholders_outside_quotes() {
        assert_eq!(t("a = $1 AND b < $12"), "a = ?1 AND b < ?12");
        assert_eq!(t("x = '$1' AND \"$2\" = $3"), "x = '$1' AND \"$2\" = ?3");
        assert_eq!(t("price$ = $1"), "price$ = ?1");
    }
}
