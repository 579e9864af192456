//! One query layer over two databases (docs/adr/0001-database-layer.md).
//!
//! Every query is ONE SQL text with `$1..$n` placeholders, written in the dialect
//! common to SQLite ≥ 3.35 and PostgreSQL ≥ 13 (RETURNING, ON CONFLICT, row values).
//! For SQLite the placeholders become `?1..?n`. The few real differences (row locks,
//! advisory locks) go through [`Backend`] methods, never through string building in
//! callers. Values travel as [`Value`]; rows come back as [`Row`]s of values.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database: {0}")]
    Postgres(#[from] postgres::Error),
    #[error("database pool: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("column {index}: expected {expected}, found {found}")]
    Decode {
        index: usize,
        expected: &'static str,
        found: String,
    },
    #[error("{0}")]
    Other(String),
}

impl DbError {
    /// True when the error is a uniqueness violation (a duplicate name, e-mail, …).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            }
            DbError::Postgres(e) => e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION),
            _ => false,
        }
    }
}

pub type DbResult<T> = Result<T, DbError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Suffix that locks the selected rows until the transaction ends. SQLite's
    /// `BEGIN IMMEDIATE` already holds the only write lock.
    pub fn for_update(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    /// Suffix for a queue: lock the rows, skipping those another node holds.
    pub fn skip_locked(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }
}

/// A value bound to or read from a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Bool(bool),
    Date(NaiveDate),
    Timestamp(NaiveDateTime),
    Blob(Vec<u8>),
}

macro_rules! value_from {
    ($($t:ty => $v:ident $(as $cast:ty)?),* $(,)?) => {$(
        impl From<$t> for Value {
            fn from(x: $t) -> Value { Value::$v(x $(as $cast)?) }
        }
    )*};
}
value_from!(i64 => Int, i32 => Int as i64, u32 => Int as i64, bool => Bool, String => Text,
            NaiveDate => Date, NaiveDateTime => Timestamp, Vec<u8> => Blob);

impl From<&str> for Value {
    fn from(x: &str) -> Value {
        Value::Text(x.to_owned())
    }
}
impl From<&String> for Value {
    fn from(x: &String) -> Value {
        Value::Text(x.clone())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(x: Option<T>) -> Value {
        x.map_or(Value::Null, Into::into)
    }
}

/// `params![a, b, c]` — an array of `Value`s from anything convertible.
#[macro_export]
macro_rules! params {
    () => { [$crate::db::Value::Null; 0] };
    ($($x:expr),+ $(,)?) => { [$($crate::db::Value::from($x)),+] };
}

const SQLITE_TS: &str = "%Y-%m-%d %H:%M:%S%.6f";
const SQLITE_DATE: &str = "%Y-%m-%d";

// SQLite keeps dates and timestamps as text; these read and write the fixed
// forms above directly (chrono's format strings are parsed on every call,
// and a page of rows reads hundreds of dates). Anything else falls back to
// chrono, which also words the error.

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |n, c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

fn fast_date(b: &[u8]) -> Option<NaiveDate> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = i32::try_from(digits(&b[0..4])?).ok()?;
    NaiveDate::from_ymd_opt(y, digits(&b[5..7])?, digits(&b[8..10])?)
}

fn fast_timestamp(b: &[u8]) -> Option<NaiveDateTime> {
    if b.len() < 19 || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let micro = match &b[19..] {
        [] => 0,
        [b'.', f @ ..] if (1..=9).contains(&f.len()) => {
            let n = digits(f)?;
            // Scaled to microseconds (more than six digits are cut).
            match f.len() {
                l @ 1..=6 => n * 10u32.pow(6 - u32::try_from(l).ok()?),
                l => n / 10u32.pow(u32::try_from(l).ok()? - 6),
            }
        }
        _ => return None,
    };
    fast_date(&b[..10])?.and_hms_micro_opt(
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
        micro,
    )
}

fn date_text(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

fn timestamp_text(t: NaiveDateTime) -> String {
    format!(
        "{} {:02}:{:02}:{:02}.{:06}",
        date_text(t.date()),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() % 1_000_000_000 / 1000
    )
}

/// The current time in UTC, to the microsecond both databases keep.
pub fn now() -> NaiveDateTime {
    let t = chrono::Utc::now().naive_utc();
    t.with_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value as V, ValueRef};
        Ok(match self {
            Value::Null => ToSqlOutput::Owned(V::Null),
            Value::Int(i) => ToSqlOutput::Owned(V::Integer(*i)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Bool(b) => ToSqlOutput::Owned(V::Integer(i64::from(*b))),
            Value::Date(d) => ToSqlOutput::Owned(V::Text(date_text(*d))),
            Value::Timestamp(t) => ToSqlOutput::Owned(V::Text(timestamp_text(*t))),
            Value::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

impl postgres::types::ToSql for Value {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use postgres::types::Type;
        match self {
            Value::Null => Ok(postgres::types::IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => i.to_string().to_sql(ty, out),
                _ => Err(format!("cannot bind an integer to {ty}").into()),
            },
            Value::Text(s) => s.to_sql(ty, out),
            Value::Bool(b) => b.to_sql(ty, out),
            Value::Date(d) => d.to_sql(ty, out),
            Value::Timestamp(t) => match *ty {
                Type::TIMESTAMPTZ => t.and_utc().to_sql(ty, out),
                _ => t.to_sql(ty, out),
            },
            Value::Blob(b) => b.to_sql(ty, out),
        }
    }
    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }
    postgres::types::to_sql_checked!();
}

/// One row of a result, read by column index.
#[derive(Debug, Clone)]
pub struct Row(Vec<Value>);

impl Row {
    pub fn get<T: FromValue>(&self, index: usize) -> DbResult<T> {
        let v = self.0.get(index).ok_or_else(|| DbError::Decode {
            index,
            expected: "a column",
            found: format!("{} columns", self.0.len()),
        })?;
        T::from_value(v).map_err(|found| DbError::Decode {
            index,
            expected: T::NAME,
            found,
        })
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn values(&self) -> &[Value] {
        &self.0
    }
}

pub trait FromValue: Sized {
    const NAME: &'static str;
    fn from_value(v: &Value) -> Result<Self, String>;
}

fn found(v: &Value) -> String {
    format!("{v:?}")
}

impl FromValue for i64 {
    const NAME: &'static str = "an integer";
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Int(i) => Ok(*i),
            _ => Err(found(v)),
        }
    }
}
impl FromValue for i32 {
    const NAME: &'static str = "a 32-bit integer";
    fn from_value(v: &Value) -> Result<Self, String> {
        i64::from_value(v).and_then(|i| i32::try_from(i).map_err(|e| e.to_string()))
    }
}
impl FromValue for u32 {
    const NAME: &'static str = "a non-negative integer";
    fn from_value(v: &Value) -> Result<Self, String> {
        i64::from_value(v).and_then(|i| u32::try_from(i).map_err(|e| e.to_string()))
    }
}
impl FromValue for String {
    const NAME: &'static str = "text";
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Text(s) => Ok(s.clone()),
            _ => Err(found(v)),
        }
    }
}
impl FromValue for bool {
    const NAME: &'static str = "a boolean";
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Bool(b) => Ok(*b),
            Value::Int(i) => Ok(*i != 0),
            _ => Err(found(v)),
        }
    }
}
impl FromValue for NaiveDate {
    const NAME: &'static str = "a date";
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Date(d) => Ok(*d),
            Value::Text(s) => fast_date(s.as_bytes()).map_or_else(
                || NaiveDate::parse_from_str(s, SQLITE_DATE).map_err(|e| format!("{s:?}: {e}")),
                Ok,
            ),
            _ => Err(found(v)),
        }
    }
}
impl FromValue for NaiveDateTime {
    const NAME: &'static str = "a timestamp";
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Timestamp(t) => Ok(*t),
            Value::Text(s) => fast_timestamp(s.as_bytes()).map_or_else(
                || NaiveDateTime::parse_from_str(s, SQLITE_TS).map_err(|e| format!("{s:?}: {e}")),
                Ok,
            ),
            _ => Err(found(v)),
        }
    }
}
impl FromValue for Vec<u8> {
    const NAME: &'static str = "bytes";
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Blob(b) => Ok(b.clone()),
            _ => Err(found(v)),
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    const NAME: &'static str = T::NAME;
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// Rewrites `$1` → `?1` outside string literals and quoted identifiers.
pub fn sqlite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                out.push(c);
            }
            None => {
                if c == '\'' || c == '"' {
                    quote = Some(c);
                    out.push(c);
                } else if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                    out.push('?');
                } else {
                    out.push(c);
                }
            }
        }
    }
    out
}

pub struct SqliteManager {
    pub path: PathBuf,
}

impl r2d2::ManageConnection for SqliteManager {
    type Connection = rusqlite::Connection;
    type Error = rusqlite::Error;
    fn connect(&self) -> Result<Self::Connection, Self::Error> {
        let c = rusqlite::Connection::open(&self.path)?;
        c.busy_timeout(std::time::Duration::from_secs(10))?;
        c.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;
             PRAGMA wal_autocheckpoint = 10000;",
        )?;
        c.set_prepared_statement_cache_capacity(256);
        // Plan each statement once, whatever its parameters: with ANALYZE's
        // statistics (STAT4) SQLite would otherwise prepare a statement again
        // on every new binding (as PostgreSQL's force_generic_plan, below).
        c.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        Ok(c)
    }
    fn is_valid(&self, conn: &mut Self::Connection) -> Result<(), Self::Error> {
        conn.execute_batch("SELECT 1")
    }
    fn has_broken(&self, _: &mut Self::Connection) -> bool {
        false
    }
}

/// Copies SQLite's write-ahead log back into the database file every half
/// second on a thread of its own, so a saving request seldom pays for a
/// checkpoint (its connections checkpoint only past 10,000 pages, ~40 MB, as
/// a backstop). Passive: never waits for readers or writers. The thread ends
/// within half a second of the returned token's last copy being dropped.
pub fn checkpoint_in_background(path: PathBuf) -> std::sync::Arc<()> {
    let alive = std::sync::Arc::new(());
    let token = std::sync::Arc::downgrade(&alive);
    let spawned = std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            let Ok(c) = rusqlite::Connection::open(&path) else {
                return;
            };
            while token.strong_count() > 0 {
                std::thread::sleep(std::time::Duration::from_millis(500));
                // A busy database is checkpointed next time round.
                let _ = c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("no background checkpoints: {e}");
    }
    alive
}

pub struct PgManager {
    pub config: postgres::Config,
}

/// A PostgreSQL connection with its prepared statements, so a statement the
/// service runs again is sent once per connection, not parsed on every call.
pub struct PgConn {
    pub client: postgres::Client,
    statements: std::collections::HashMap<String, postgres::Statement>,
}

/// Statements kept per connection (the service has a few hundred).
const PG_STATEMENTS: usize = 1_000;

impl PgConn {
    fn statement(&mut self, sql: &str) -> Result<postgres::Statement, postgres::Error> {
        if let Some(st) = self.statements.get(sql) {
            return Ok(st.clone());
        }
        let st = self.client.prepare(sql)?;
        if self.statements.len() >= PG_STATEMENTS {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), st.clone());
        Ok(st)
    }
}

impl r2d2::ManageConnection for PgManager {
    type Connection = PgConn;
    type Error = postgres::Error;
    fn connect(&self) -> Result<Self::Connection, Self::Error> {
        let mut client = self.config.connect(postgres::NoTls)?;
        // Each statement is planned once per connection and the plan kept:
        // re-planning the tracker's nine-table join cost ~27 ms a request
        // (measured by the benchmark) for ~1 ms of execution.
        client.batch_execute("SET plan_cache_mode = force_generic_plan")?;
        Ok(PgConn {
            client,
            statements: std::collections::HashMap::new(),
        })
    }
    fn is_valid(&self, conn: &mut Self::Connection) -> Result<(), Self::Error> {
        conn.client.simple_query("SELECT 1").map(|_| ())
    }
    fn has_broken(&self, conn: &mut Self::Connection) -> bool {
        conn.client.is_closed()
    }
}

const BEGIN_RELAXED: &str = "BEGIN; SET LOCAL synchronous_commit = off";

/// A connection taken from the pool. (A PostgreSQL one carries its client and
/// statement cache inline: a connection is taken once per unit of work, so
/// its size does not matter.)
#[allow(clippy::large_enum_variant)]
pub enum Conn {
    Sqlite(r2d2::PooledConnection<SqliteManager>),
    Postgres(r2d2::PooledConnection<PgManager>),
}

impl Conn {
    pub fn backend(&self) -> Backend {
        match self {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs a query and returns every row.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> DbResult<Vec<Row>> {
        match self {
            Conn::Sqlite(c) => {
                let sql = sqlite_placeholders(sql);
                let mut st = c.prepare_cached(&sql)?;
                let n = st.column_count();
                let mut rows = st.query(rusqlite::params_from_iter(params.iter()))?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    let mut vals = Vec::with_capacity(n);
                    for i in 0..n {
                        use rusqlite::types::ValueRef;
                        vals.push(match r.get_ref(i)? {
                            ValueRef::Null => Value::Null,
                            ValueRef::Integer(i) => Value::Int(i),
                            ValueRef::Real(f) => {
                                return Err(DbError::Decode {
                                    index: i,
                                    expected: "no floating point",
                                    found: f.to_string(),
                                });
                            }
                            ValueRef::Text(t) => {
                                Value::Text(String::from_utf8_lossy(t).into_owned())
                            }
                            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                        });
                    }
                    out.push(Row(vals));
                }
                Ok(out)
            }
            Conn::Postgres(c) => {
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|v| v as &(dyn postgres::types::ToSql + Sync))
                    .collect();
                let st = c.statement(sql)?;
                let rows = c.client.query(&st, &refs)?;
                rows.iter().map(pg_row).collect()
            }
        }
    }

    /// Reads every value of a query's rows and keeps none; returns the
    /// number of rows (PostgreSQL: through `COPY … TO STDOUT`). The
    /// benchmark's baseline for an export: the raw scan of the same rows.
    pub fn raw_scan(&mut self, sql: &str) -> DbResult<u64> {
        match self {
            Conn::Sqlite(c) => {
                let mut st = c.prepare(sql)?;
                let n = st.column_count();
                let mut rows = st.query([])?;
                let mut count = 0;
                while let Some(r) = rows.next()? {
                    for i in 0..n {
                        std::hint::black_box(r.get_ref(i)?);
                    }
                    count += 1;
                }
                Ok(count)
            }
            Conn::Postgres(c) => {
                use std::io::BufRead;
                let reader = c.client.copy_out(&format!("COPY ({sql}) TO STDOUT"))?;
                let mut reader = std::io::BufReader::with_capacity(1 << 16, reader);
                let mut count = 0;
                loop {
                    let buf = reader
                        .fill_buf()
                        .map_err(|e| DbError::Other(e.to_string()))?;
                    if buf.is_empty() {
                        return Ok(count);
                    }
                    let len = buf.len();
                    count += buf.iter().filter(|b| **b == b'\n').count() as u64;
                    reader.consume(len);
                }
            }
        }
    }

    /// Runs a statement; returns the number of rows it changed.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> DbResult<u64> {
        match self {
            Conn::Sqlite(c) => {
                let sql = sqlite_placeholders(sql);
                let mut st = c.prepare_cached(&sql)?;
                Ok(st.execute(rusqlite::params_from_iter(params.iter()))? as u64)
            }
            Conn::Postgres(c) => {
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|v| v as &(dyn postgres::types::ToSql + Sync))
                    .collect();
                let st = c.statement(sql)?;
                Ok(c.client.execute(&st, &refs)?)
            }
        }
    }

    pub fn query_opt(&mut self, sql: &str, params: &[Value]) -> DbResult<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    pub fn query_one(&mut self, sql: &str, params: &[Value]) -> DbResult<Row> {
        self.query_opt(sql, params)?
            .ok_or_else(|| DbError::Other("the query returned no row".to_owned()))
    }

    /// Runs several statements with no parameters (migrations).
    pub fn batch(&mut self, sql: &str) -> DbResult<()> {
        match self {
            // A transaction's own statements run on every change: prepared once.
            Conn::Sqlite(c) if matches!(sql, "BEGIN IMMEDIATE" | "COMMIT" | "ROLLBACK") => {
                c.prepare_cached(sql)?.execute([])?;
                Ok(())
            }
            Conn::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Conn::Postgres(c) => {
                // A batch other than a transaction's own may change the
                // schema (migrations): prepared statements are forgotten.
                if !matches!(sql, "BEGIN" | "COMMIT" | "ROLLBACK" | BEGIN_RELAXED) {
                    c.statements.clear();
                }
                Ok(c.client.batch_execute(sql)?)
            }
        }
    }

    /// Starts a write transaction; it rolls back unless [`Tx::commit`] is called.
    pub fn begin(&mut self) -> DbResult<Tx<'_>> {
        let begin = match self.backend() {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        self.batch(begin)?;
        Ok(Tx {
            conn: self,
            open: true,
        })
    }

    /// [`Conn::begin`] for a transaction whose commit may return before its
    /// record reaches disk (PostgreSQL's `synchronous_commit = off`, for this
    /// transaction only; one round trip). For records worth a lot less than
    /// the wait, such as "who viewed this child": an operating-system crash
    /// may lose the last fraction of a second of them, never reorder or
    /// corrupt them (a later ordinary commit flushes everything before it).
    /// SQLite already commits this way (`synchronous = NORMAL`, WAL mode).
    pub fn begin_relaxed(&mut self) -> DbResult<Tx<'_>> {
        match self.backend() {
            Backend::Sqlite => self.begin(),
            Backend::Postgres => {
                self.batch(BEGIN_RELAXED)?;
                Ok(Tx {
                    conn: self,
                    open: true,
                })
            }
        }
    }
}

fn pg_row(r: &postgres::Row) -> DbResult<Row> {
    use postgres::types::Type;
    let mut vals = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let v = match *col.type_() {
            Type::INT8 => r.try_get::<_, Option<i64>>(i)?.map(Value::Int),
            Type::INT4 => r
                .try_get::<_, Option<i32>>(i)?
                .map(|x| Value::Int(x.into())),
            Type::INT2 => r
                .try_get::<_, Option<i16>>(i)?
                .map(|x| Value::Int(x.into())),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
                r.try_get::<_, Option<String>>(i)?.map(Value::Text)
            }
            Type::BOOL => r.try_get::<_, Option<bool>>(i)?.map(Value::Bool),
            Type::DATE => r.try_get::<_, Option<NaiveDate>>(i)?.map(Value::Date),
            Type::TIMESTAMP => r
                .try_get::<_, Option<NaiveDateTime>>(i)?
                .map(Value::Timestamp),
            Type::TIMESTAMPTZ => r
                .try_get::<_, Option<chrono::DateTime<chrono::Utc>>>(i)?
                .map(|t| Value::Timestamp(t.naive_utc())),
            Type::BYTEA => r.try_get::<_, Option<Vec<u8>>>(i)?.map(Value::Blob),
            ref other => {
                return Err(DbError::Decode {
                    index: i,
                    expected: "a supported type (cast sums to BIGINT)",
                    found: other.to_string(),
                });
            }
        };
        vals.push(v.unwrap_or(Value::Null));
    }
    Ok(Row(vals))
}

/// A transaction. Dropping it without `commit` rolls back.
pub struct Tx<'c> {
    conn: &'c mut Conn,
    open: bool,
}

impl Tx<'_> {
    pub fn commit(mut self) -> DbResult<()> {
        self.open = false;
        self.conn.batch("COMMIT")
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open
            && let Err(e) = self.conn.batch("ROLLBACK")
        {
            tracing::warn!("rollback failed: {e}");
        }
    }
}

impl Deref for Tx<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn
    }
}
impl DerefMut for Tx<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_and_timestamps_read_and_write_as_chrono_would() {
        use chrono::NaiveDate;
        let d = NaiveDate::from_ymd_opt(2023, 5, 9).unwrap();
        assert_eq!(date_text(d), d.format(SQLITE_DATE).to_string());
        assert_eq!(fast_date(b"2023-05-09"), Some(d));
        for bad in ["2023-02-30", "2023-5-09", "2023/05/09", "20x3-05-09", ""] {
            assert_eq!(fast_date(bad.as_bytes()), None, "{bad}");
        }
        let t = d.and_hms_micro_opt(14, 3, 7, 120_045).unwrap();
        assert_eq!(timestamp_text(t), t.format(SQLITE_TS).to_string());
        assert_eq!(fast_timestamp(b"2023-05-09 14:03:07.120045"), Some(t));
        assert_eq!(
            fast_timestamp(b"2023-05-09 14:03:07"),
            d.and_hms_opt(14, 3, 7)
        );
        assert_eq!(
            fast_timestamp(b"2023-05-09 14:03:07.12"),
            d.and_hms_micro_opt(14, 3, 7, 120_000)
        );
        assert_eq!(fast_timestamp(b"2023-05-09 14:03:07.120045999"), Some(t));
        for bad in [
            "2023-05-09T14:03:07",
            "2023-05-09 25:00:00",
            "2023-05-09 14:03:07.",
            "2023-05-09 14:03",
        ] {
            assert_eq!(fast_timestamp(bad.as_bytes()), None, "{bad}");
        }
        // What the fast path refuses, chrono still reads (or words the error).
        assert!(NaiveDateTime::from_value(&Value::Text("2023-05-09 14:03:07".into())).is_ok());
        assert!(NaiveDate::from_value(&Value::Text("9 May".into())).is_err());
    }

    use super::*;

    #[test]
    fn placeholders_are_rewritten_outside_literals_only() {
        assert_eq!(
            sqlite_placeholders("SELECT '$1', \"a$2\" FROM t WHERE a = $1 AND b = $12"),
            "SELECT '$1', \"a$2\" FROM t WHERE a = ?1 AND b = ?12"
        );
    }
}
