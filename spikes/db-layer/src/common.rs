//! Shared pieces: the row struct every candidate decodes into, the schema, the
//! deterministic data set, the keyset cursors and a checksum used to prove that
//! every candidate returns exactly the same rows.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};

pub const CHILDREN: i64 = 2_000;
pub const REFERRALS: i64 = 10_000;
pub const PAGE: usize = 50;
/// Number of distinct cursors cycled through (spread over the whole table).
pub const CURSORS: usize = 97;

/// One row of the list page: all 15 referral columns + 4 child columns.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "diesel", derive(diesel::Queryable))]
pub struct ReferralRow {
    pub id: i64,
    pub child_id: i64,
    pub panel_id: i64,
    pub status: String,
    pub need_level: String,
    pub kind: String,
    pub referrer_name: String,
    pub team: String,
    pub submitted_on: Option<NaiveDate>,
    pub review_date: Option<NaiveDate>,
    pub annual_cost_pence: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
    pub summary: String,
    pub local_id: String,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: NaiveDate,
}

/// The one portable SQL text (PostgreSQL placeholder style). Raw rusqlite uses
/// the same text with `?1`/`?2`; the portable layer rewrites it at run time.
pub const PAGE_SQL: &str = "SELECT r.id, r.child_id, r.panel_id, r.status, r.need_level, r.kind, \
r.referrer_name, r.team, r.submitted_on, r.review_date, r.annual_cost_pence, r.created_at, \
r.updated_at, r.version, r.summary, c.local_id, c.given_name, c.family_name, c.date_of_birth \
FROM referrals r JOIN children c ON c.id = r.child_id \
WHERE (r.created_at, r.id) < ($1, $2) \
ORDER BY r.created_at DESC, r.id DESC LIMIT 50";

pub const SQLITE_SCHEMA: &str = "
DROP TABLE IF EXISTS referrals;
DROP TABLE IF EXISTS children;
CREATE TABLE children (
  id INTEGER PRIMARY KEY, local_id TEXT NOT NULL, given_name TEXT NOT NULL,
  family_name TEXT NOT NULL, date_of_birth TEXT NOT NULL, nhs_number TEXT);
CREATE TABLE referrals (
  id INTEGER PRIMARY KEY, child_id INTEGER NOT NULL REFERENCES children(id),
  panel_id INTEGER NOT NULL, status TEXT NOT NULL, need_level TEXT NOT NULL,
  kind TEXT NOT NULL, referrer_name TEXT NOT NULL, team TEXT NOT NULL,
  submitted_on TEXT, review_date TEXT, annual_cost_pence INTEGER NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, version INTEGER NOT NULL,
  summary TEXT NOT NULL);
CREATE INDEX referrals_created_id ON referrals (created_at, id);
";

pub const PG_SCHEMA: &str = "
DROP TABLE IF EXISTS referrals;
DROP TABLE IF EXISTS children;
CREATE TABLE children (
  id BIGINT PRIMARY KEY, local_id TEXT NOT NULL, given_name TEXT NOT NULL,
  family_name TEXT NOT NULL, date_of_birth DATE NOT NULL, nhs_number TEXT);
CREATE TABLE referrals (
  id BIGINT PRIMARY KEY, child_id BIGINT NOT NULL REFERENCES children(id),
  panel_id BIGINT NOT NULL, status TEXT NOT NULL, need_level TEXT NOT NULL,
  kind TEXT NOT NULL, referrer_name TEXT NOT NULL, team TEXT NOT NULL,
  submitted_on DATE, review_date DATE, annual_cost_pence BIGINT NOT NULL,
  created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL, version BIGINT NOT NULL,
  summary TEXT NOT NULL);
CREATE INDEX referrals_created_id ON referrals (created_at, id);
";

/// SplitMix64: deterministic, dependency-free pseudo-random numbers.
pub struct Rng(u64);
impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

pub struct Child {
    pub id: i64,
    pub local_id: String,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: NaiveDate,
    pub nhs_number: Option<String>,
}

pub struct Referral {
    pub id: i64,
    pub child_id: i64,
    pub panel_id: i64,
    pub status: String,
    pub need_level: String,
    pub kind: String,
    pub referrer_name: String,
    pub team: String,
    pub submitted_on: Option<NaiveDate>,
    pub review_date: Option<NaiveDate>,
    pub annual_cost_pence: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
    pub summary: String,
}

const GIVEN: &[&str] = &[
    "Amelia", "Oliver", "Isla", "Noah", "Ava", "Leo", "Mia", "Arthur", "Ivy", "Muhammad", "Freya",
    "George", "Lily", "Theo", "Grace", "Oscar", "Sophia", "Harry", "Willow", "Jack",
];
const FAMILY: &[&str] = &[
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
    "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes",
];
const STATUS: &[&str] = &["draft", "submitted", "triaged", "scheduled", "decided", "closed"];
const NEED: &[&str] = &["universal", "targeted", "specialist", "complex"];
const KIND: &[&str] = &["education", "health", "social_care", "joint"];
const TEAM: &[&str] = &["North", "South", "East", "West", "Central", "Early Help", "SEND"];
const WORDS: &[&str] = &[
    "child", "school", "support", "plan", "therapy", "speech", "language", "placement",
    "assessment", "family", "review", "provision", "needs", "funding", "outreach", "weekly",
    "sessions", "specialist", "mainstream", "transport", "behaviour", "attendance", "carer",
    "respite", "panel", "request", "agreed", "outcome", "progress", "targets",
];

pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
}

pub fn generate() -> (Vec<Child>, Vec<Referral>) {
    let mut rng = Rng::new(0x4A50_2026);
    let children = (1..=CHILDREN)
        .map(|id| Child {
            id,
            local_id: format!("JP-{id:06}"),
            given_name: rng.pick(GIVEN).to_string(),
            family_name: rng.pick(FAMILY).to_string(),
            date_of_birth: d(2008, 1, 1) + Duration::days(rng.below(14 * 365) as i64),
            nhs_number: (rng.below(5) != 0).then(|| format!("{:010}", rng.below(10_000_000_000))),
        })
        .collect();
    // Minute resolution over ~2 years: ~50 timestamp ties, exercising the id tie-break.
    let base = d(2024, 1, 1).and_hms_opt(0, 0, 0).expect("valid time");
    let referrals = (1..=REFERRALS)
        .map(|id| {
            let created_at = base + Duration::minutes(rng.below(2 * 365 * 24 * 60) as i64);
            let updated_at = created_at + Duration::seconds(rng.below(90 * 24 * 3600) as i64);
            let mut summary = String::with_capacity(220);
            while summary.len() < 200 {
                if !summary.is_empty() {
                    summary.push(' ');
                }
                summary.push_str(rng.pick(WORDS));
            }
            let submitted_on =
                (rng.below(4) != 0).then(|| created_at.date() + Duration::days(rng.below(30) as i64));
            let review_date =
                (rng.below(2) == 0).then(|| created_at.date() + Duration::days(180 + rng.below(200) as i64));
            Referral {
                id,
                child_id: 1 + rng.below(CHILDREN as u64) as i64,
                panel_id: 1 + rng.below(12) as i64,
                status: rng.pick(STATUS).to_string(),
                need_level: rng.pick(NEED).to_string(),
                kind: rng.pick(KIND).to_string(),
                referrer_name: format!("{} {}", rng.pick(GIVEN), rng.pick(FAMILY)),
                team: rng.pick(TEAM).to_string(),
                submitted_on,
                review_date,
                annual_cost_pence: rng.below(12_000_000) as i64,
                created_at,
                updated_at,
                version: 1 + rng.below(5) as i64,
                summary,
            }
        })
        .collect();
    (children, referrals)
}

/// Cursors: the (created_at, id) of rows at evenly spread positions in the
/// descending order, each leaving at least a full page after it.
pub fn cursors(referrals: &[Referral]) -> Vec<(NaiveDateTime, i64)> {
    let mut keys: Vec<(NaiveDateTime, i64)> = referrals.iter().map(|r| (r.created_at, r.id)).collect();
    keys.sort_by(|a, b| b.cmp(a));
    let usable = keys.len() - PAGE - 1;
    (0..CURSORS).map(|i| keys[i * usable / (CURSORS - 1)]).collect()
}

/// Order-sensitive checksum over every decoded field (same function in sqlx-bench).
pub fn checksum(rows: &[ReferralRow]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut mix = |v: u64| h = (h ^ v).wrapping_mul(0x0100_0000_01b3);
    let day = |x: &Option<NaiveDate>| x.map_or(0, |d| d.num_days_from_ce() as u64);
    let s = |x: &str| x.bytes().fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(b as u64));
    for r in rows {
        for v in [
            r.id as u64, r.child_id as u64, r.panel_id as u64, s(&r.status), s(&r.need_level),
            s(&r.kind), s(&r.referrer_name), s(&r.team), day(&r.submitted_on), day(&r.review_date),
            r.annual_cost_pence as u64, r.created_at.and_utc().timestamp() as u64,
            r.updated_at.and_utc().timestamp() as u64, r.version as u64, s(&r.summary),
            s(&r.local_id), s(&r.given_name), s(&r.family_name),
            r.date_of_birth.num_days_from_ce() as u64,
        ] {
            mix(v);
        }
    }
    h
}
