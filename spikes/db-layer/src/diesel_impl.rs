//! Candidate 2: Diesel 2.3 — SqliteConnection, PgConnection and a
//! `#[derive(MultiConnection)]` enum over both.

use crate::common::ReferralRow;
use chrono::NaiveDateTime;
use diesel::prelude::*;

diesel::table! {
    children (id) {
        id -> BigInt,
        local_id -> Text,
        given_name -> Text,
        family_name -> Text,
        date_of_birth -> Date,
        nhs_number -> Nullable<Text>,
    }
}

diesel::table! {
    referrals (id) {
        id -> BigInt,
        child_id -> BigInt,
        panel_id -> BigInt,
        status -> Text,
        need_level -> Text,
        kind -> Text,
        referrer_name -> Text,
        team -> Text,
        submitted_on -> Nullable<Date>,
        review_date -> Nullable<Date>,
        annual_cost_pence -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        summary -> Text,
    }
}

diesel::joinable!(referrals -> children (child_id));
diesel::allow_tables_to_appear_in_same_query!(referrals, children);

#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Sqlite(diesel::SqliteConnection),
    Pg(diesel::PgConnection),
}

/// Diesel's DSL has no row-value comparison `(a, b) < ($1, $2)`; the keyset
/// predicate is expanded. The leading `created_at <= ts` keeps it an index range
/// scan on both backends (checked with EXPLAIN). A `diesel::dsl::sql` fragment
/// would allow the literal row-value form but marks the query as
/// not cacheable as a prepared statement, so it would be re-prepared on every call.
///
/// A macro, because one generic function over `C: Connection` needs a long
/// `where` clause of Diesel internals (`LoadQuery<'_, C, ReferralRow>` for the
/// exact query type); with `AnyConnection` no generic is needed.
macro_rules! page_query {
    ($ts:expr, $id:expr) => {{
        use referrals::dsl as r;
        use children::dsl as c;
        r::referrals
            .inner_join(c::children)
            .filter(r::created_at.le($ts).and(r::created_at.lt($ts).or(r::id.lt($id))))
            .order((r::created_at.desc(), r::id.desc()))
            .limit(50)
            .select((
                r::id, r::child_id, r::panel_id, r::status, r::need_level, r::kind,
                r::referrer_name, r::team, r::submitted_on, r::review_date, r::annual_cost_pence,
                r::created_at, r::updated_at, r::version, r::summary,
                c::local_id, c::given_name, c::family_name, c::date_of_birth,
            ))
    }};
}

pub fn sqlite_page(conn: &mut SqliteConnection, ts: NaiveDateTime, id: i64) -> QueryResult<Vec<ReferralRow>> {
    page_query!(ts, id).load(conn)
}

pub fn pg_page(conn: &mut PgConnection, ts: NaiveDateTime, id: i64) -> QueryResult<Vec<ReferralRow>> {
    page_query!(ts, id).load(conn)
}

pub fn multi_page(conn: &mut AnyConnection, ts: NaiveDateTime, id: i64) -> QueryResult<Vec<ReferralRow>> {
    page_query!(ts, id).load(conn)
}

/// The SQL Diesel generates, for the record.
pub fn debug_sql() -> String {
    let ts = crate::common::d(2025, 1, 1).and_hms_opt(0, 0, 0).expect("valid");
    format!(
        "sqlite: {}\npg:     {}",
        diesel::debug_query::<diesel::sqlite::Sqlite, _>(&page_query!(ts, 1i64)),
        diesel::debug_query::<diesel::pg::Pg, _>(&page_query!(ts, 1i64))
    )
}
