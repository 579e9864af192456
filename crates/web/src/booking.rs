//! Which meeting a submitted referral goes to (SPEC §3): the next meeting of
//! its panel whose submission deadline (§2, working days from the calendar)
//! has not passed; earlier meetings only as late items the chair agrees.

use chrono::NaiveDate;
use jp_domain::Region;
use jp_domain::calendar::{Calendar, Deadlines};
use jp_store::db::{Conn, DbResult, Tx};
use jp_store::meetings::{self, Meeting};
use jp_store::reference::panels::Panel;
use jp_store::{Actor, ChangeError};
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

/// How many months of cadence dates are kept scheduled ahead.
const HORIZON_MONTHS: u32 = 4;

/// The submission deadline of a meeting of `panel` on `date`: the panel's
/// number of working days before it, from the panel region's calendar.
pub fn submission_deadline(conn: &mut Conn, panel: &Panel, date: NaiveDate) -> DbResult<NaiveDate> {
    Ok(deadlines(conn, panel, date)?.submission_deadline)
}

/// All §2 deadlines of a meeting of `panel` on `date`.
pub fn deadlines(conn: &mut Conn, panel: &Panel, date: NaiveDate) -> DbResult<Deadlines> {
    jp_store::meeting_run::deadlines(conn, panel, date)
}

/// The calendars of the regions met so far, each read from the database once,
/// for pages and feeds that work out the deadlines of many meetings.
#[derive(Default)]
pub struct Calendars(BTreeMap<Region, Calendar>);

impl Calendars {
    pub fn deadlines(
        &mut self,
        conn: &mut Conn,
        panel: &Panel,
        date: NaiveDate,
    ) -> DbResult<Deadlines> {
        let region = panel.rules.region;
        let cal = match self.0.entry(region) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(jp_store::calendar::for_region(conn, region)?),
        };
        Ok(Deadlines::for_meeting(cal, &panel.rules, date))
    }
}

/// A meeting with its submission deadline.
#[derive(Debug, Clone)]
pub struct Bookable {
    pub meeting: Meeting,
    pub deadline: NaiveDate,
}

impl Bookable {
    pub fn late(&self, today: NaiveDate) -> bool {
        today > self.deadline
    }
}

/// The panel's coming meetings (scheduling the cadence ahead first), each with its deadline.
pub fn coming(
    tx: &mut Tx<'_>,
    actor: &Actor,
    panel: &Panel,
    today: NaiveDate,
) -> Result<Vec<Bookable>, ChangeError> {
    meetings::ensure_scheduled(tx, actor, panel, today, HORIZON_MONTHS)?;
    Ok(listed(tx, panel, today)?)
}

fn listed(conn: &mut Conn, panel: &Panel, today: NaiveDate) -> DbResult<Vec<Bookable>> {
    let mut out = Vec::new();
    let mut calendars = Calendars::default();
    for meeting in meetings::upcoming(conn, panel.id, today)? {
        let deadline = calendars
            .deadlines(conn, panel, meeting.date)?
            .submission_deadline;
        out.push(Bookable { meeting, deadline });
    }
    Ok(out)
}

/// [`coming`] for a page that only reads: a write transaction is taken only
/// when the cadence ahead still has dates to schedule.
pub fn coming_read(
    conn: &mut Conn,
    actor: &Actor,
    panel: &Panel,
    today: NaiveDate,
) -> Result<Vec<Bookable>, ChangeError> {
    if !meetings::unscheduled(conn, panel, today, HORIZON_MONTHS)?.is_empty() {
        let mut tx = conn.begin()?;
        let out = coming(&mut tx, actor, panel, today)?;
        tx.commit()?;
        return Ok(out);
    }
    Ok(listed(conn, panel, today)?)
}

/// The first coming meeting whose deadline has not passed.
pub fn next_on_time(coming: &[Bookable], today: NaiveDate) -> Option<&Bookable> {
    coming.iter().find(|b| !b.late(today))
}
