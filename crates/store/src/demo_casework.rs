//! Demo casework: invented children on the register and referrals in each
//! state a first look should show (a draft, one waiting for approval, one
//! returned with comments, one approved, one booked onto the next meeting).
//! Every name is made up; NHS numbers are from the 999 range, which is never
//! issued to patients.

use crate::accounts::{self, User};
use crate::db::{DbResult, Tx};
use crate::reference::panels::Panel;
use crate::{Actor, ChangeError, children, meetings, referrals};
use chrono::{Duration, NaiveDate};
use jp_domain::calendar::{Calendar, Deadlines};
use jp_domain::costs::{CostLine, Quantity, Unit};
use jp_domain::identifiers::nhs_check_digit;
use jp_domain::lifecycle::Status;
use jp_domain::referral_form::{Answers, Kind, SECTIONS, SectionKind};
use jp_domain::{Email, Pence};

/// A valid NHS number in the 999 test range, from six digits of our choosing.
pub fn test_nhs_number(seed: u32) -> String {
    let mut n = seed % 1_000_000;
    loop {
        let digits: Vec<u32> = format!("999{n:06}")
            .chars()
            .filter_map(|c| c.to_digit(10))
            .collect();
        if let Some(check) = nhs_check_digit(&digits) {
            return format!("999{n:06}{check}");
        }
        n = (n + 1) % 1_000_000;
    }
}

struct Story {
    local_id: &'static str,
    given: &'static str,
    family: &'static str,
    born: (i32, u32, u32),
    parental: &'static str,
    language: &'static str,
    summary: &'static str,
    provider: &'static str,
    option: &'static str,
    weekly_cost_pence: i64,
    target: Status,
}

const STORIES: [Story; 5] = [
    Story {
        local_id: "NC-104233",
        given: "Ellis",
        family: "Brackenridge",
        born: (2013, 9, 2),
        parental: "Mother and father, jointly",
        language: "English. Ellis uses Makaton signs alongside speech.",
        summary: "Ellis has autism and a severe learning disability. Behaviour at home has escalated over the last six months and the family are at breaking point; two short-break placements have ended.",
        provider: "Heathfield Short Breaks",
        option: "Residential short breaks, two nights every other weekend, with a consistent key worker.",
        weekly_cost_pence: 68_500,
        target: Status::Booked,
    },
    Story {
        local_id: "NC-118907",
        given: "Maisie",
        family: "Okonkwo-Hale",
        born: (2011, 3, 17),
        parental: "Mother; special guardianship order held by maternal grandmother",
        language: "English and Igbo at home; no interpreter needed.",
        summary: "Maisie has complex epilepsy and needs overnight health care. School attendance has fallen to 40% and her grandmother's health is declining.",
        provider: "Dale Community Nursing",
        option: "Overnight nursing support four nights a week, with a health care plan reviewed every three months.",
        weekly_cost_pence: 112_000,
        target: Status::AwaitingApproval,
    },
    Story {
        local_id: "NC-120415",
        given: "Tobias",
        family: "Linfield",
        born: (2015, 12, 8),
        parental: "Father",
        language: "English.",
        summary: "Tobias has cerebral palsy and needs a specialist day placement with therapy; the local school cannot meet his physical and communication needs.",
        provider: "Moorside Specialist School",
        option: "Day placement with integrated speech and language therapy and physiotherapy.",
        weekly_cost_pence: 95_000,
        target: Status::Returned,
    },
    Story {
        local_id: "NC-097782",
        given: "Amira",
        family: "Castellane",
        born: (2010, 6, 25),
        parental: "Local authority (care order) shared with mother",
        language: "English and Arabic; an Arabic interpreter is needed for mother.",
        summary: "Amira has experienced significant trauma and self-harms. Her foster placement needs therapeutic support to continue.",
        provider: "Northmoor Therapeutic Fostering",
        option: "Therapeutic support to the foster carers and weekly therapy for Amira.",
        weekly_cost_pence: 54_000,
        target: Status::Approved,
    },
    Story {
        local_id: "NC-131050",
        given: "Rory",
        family: "Penhallow",
        born: (2014, 1, 30),
        parental: "Mother",
        language: "English.",
        summary: "Rory has a rare genetic condition with high health and care needs at home.",
        provider: "",
        option: "",
        weekly_cost_pence: 0,
        target: Status::Draft,
    },
];

fn answers_for(key: &str, story: &Story, today: NaiveDate, referrer: &User) -> Answers {
    let section = SECTIONS.iter().find(|s| s.key == key);
    let mut a = Answers::new();
    for q in section.map(|s| s.questions).unwrap_or(&[]) {
        let v: Option<String> = match (q.key, q.kind) {
            ("referrer_position", _) => Some("Senior Social Worker, Children with Disabilities".into()),
            ("referrer_contact", _) => Some(referrer.email.clone()),
            ("presenter_name", _) => Some(referrer.name.clone()),
            ("presenter_role", _) => Some("Senior Social Worker".into()),
            ("presenter_contact", _) => Some(referrer.email.clone()),
            ("summary", _) => Some(story.summary.into()),
            ("needs", _) => None,
            ("review_of", _) => None,
            ("request_type", _) => Some("new".into()),
            ("need_level", _) => Some("complex".into()),
            ("court_proceedings", _) | ("complaints", _) => Some("no".into()),
            ("early_help_date" | "cin_date", _) => None,
            ("csc_date", _) => Some((today - Duration::days(45)).to_string()),
            ("sen_date", _) => Some((today - Duration::days(120)).to_string()),
            ("date_completed", _) => Some((today - Duration::days(3)).to_string()),
            ("assessment_notes" | "context_detail", _) => None,
            ("child_views", _) => Some(format!("{} told us, with their support worker, that they like the people who help them and want to stay living with their family.", story.given)),
            ("parent_views", _) => Some("The family support this request and took part in planning it.".into()),
            ("outcomes_sought", _) => Some("Within six months: fewer crises at home, school attendance above 85%, and a stable care arrangement the family can sustain.".into()),
            (_, Kind::Text(_) | Kind::Area(_)) => Some(format!("{} — see the attached assessment for detail.", q.label)),
            _ => None,
        };
        if let Some(v) = v {
            a.insert(q.key.to_owned(), vec![v]);
        }
    }
    if key == "needs" {
        a.insert(
            "needs".into(),
            vec!["health".into(), "care".into(), "education".into()],
        );
    }
    a
}

fn user(tx: &mut Tx<'_>, email: &str) -> DbResult<Option<User>> {
    match Email::parse(email) {
        Ok(e) => accounts::find_by_email(tx, &e),
        Err(_) => Ok(None),
    }
}

/// Loads the demo casework into the demo's own transaction.
pub fn load(
    tx: &mut Tx<'_>,
    actor: &Actor,
    jfp: &Panel,
    today: NaiveDate,
) -> Result<(), ChangeError> {
    let (Some(referrer), Some(approver)) = (
        user(tx, "referrer@northmoor.example")?,
        user(tx, "approver@northmoor.example")?,
    ) else {
        return Ok(());
    };
    let as_referrer = Actor::user(
        referrer.id,
        format!("{} <{}>", referrer.name, referrer.email),
    );
    let as_approver = Actor::user(
        approver.id,
        format!("{} <{}>", approver.name, approver.email),
    );
    meetings::ensure_scheduled(tx, actor, jfp, today, 4)?;
    let cal = Calendar::new(jfp.rules.region);
    let meeting = meetings::upcoming(tx, jfp.id, today)?
        .into_iter()
        .find(|m| today <= Deadlines::for_meeting(&cal, &jfp.rules, m.date).submission_deadline);
    let cast = Cast {
        actor: actor.clone(),
        as_referrer,
        as_approver,
        referrer,
        approver,
    };
    for (i, s) in STORIES.iter().enumerate() {
        let book_on = if s.target == Status::Booked {
            meeting.as_ref()
        } else {
            None
        };
        story(
            tx,
            &cast,
            jfp,
            s,
            310_000 + i as u32 * 7_919,
            today,
            book_on,
        )?;
    }
    meeting_history(tx, &cast, jfp, today)?;
    Ok(())
}

/// The people who play the demo's parts.
struct Cast {
    actor: Actor,
    as_referrer: Actor,
    as_approver: Actor,
    referrer: User,
    approver: User,
}

/// One child and their referral, taken as far as the story's target (booked
/// onto `book_on` when that is the target). Returns the referral's id.
fn story(
    tx: &mut Tx<'_>,
    cast: &Cast,
    jfp: &Panel,
    s: &Story,
    seed: u32,
    today: NaiveDate,
    book_on: Option<&meetings::Meeting>,
) -> Result<i64, ChangeError> {
    let (actor, as_referrer, as_approver) = (&cast.actor, &cast.as_referrer, &cast.as_approver);
    let (referrer, approver) = (&cast.referrer, &cast.approver);
    let born = NaiveDate::from_ymd_opt(s.born.0, s.born.1, s.born.2).unwrap_or(today);
    let child = children::create(
        tx,
        actor,
        &children::Fields {
            local_id: s.local_id.into(),
            nhs_number: Some(test_nhs_number(seed)),
            upn: None,
            given_name: s.given.into(),
            family_name: s.family.into(),
            date_of_birth: born,
            parental_responsibility: s.parental.into(),
            language_needs: s.language.into(),
        },
    )?;
    let id = referrals::create(tx, as_referrer, referrer, child, jfp.id)?;
    let draft = s.target == Status::Draft;
    for section in SECTIONS.iter().filter(|x| x.kind == SectionKind::Questions) {
        if draft && !matches!(section.key, "referrer" | "family" | "needs") {
            continue;
        }
        let a = answers_for(section.key, s, today, referrer);
        referrals::save_section(tx, as_referrer, id, section.key, 0, &a, true)?;
    }
    if draft {
        return Ok(id);
    }
    let option = referrals::add_option(tx, as_referrer, id, s.provider, s.option)?;
    let start = today + Duration::days(42);
    referrals::add_line(
        tx,
        as_referrer,
        id,
        option,
        &CostLine {
            item: s.option.split(',').next().unwrap_or(s.option).into(),
            unit_cost: Pence(s.weekly_cost_pence),
            unit: Unit::PerWeek,
            quantity: Quantity(100),
            start,
            end: start + Duration::days(363),
        },
    )?;
    referrals::set_recommended(tx, as_referrer, id, option)?;
    let v = |tx: &mut Tx<'_>| -> Result<i64, ChangeError> {
        Ok(referrals::get(tx, id)?
            .ok_or(ChangeError::NotFound)?
            .version)
    };
    let ver = v(tx)?;
    referrals::send_for_approval(tx, as_referrer, id, ver)?;
    match s.target {
        Status::Returned => {
            let ver = v(tx)?;
            referrals::decide_approval(
                tx,
                as_approver,
                approver,
                id,
                ver,
                false,
                "Please add the school's view of Tobias's needs and the therapy assessment dates.",
            )?;
        }
        Status::Approved | Status::Booked => {
            let ver = v(tx)?;
            referrals::decide_approval(tx, as_approver, approver, id, ver, true, "")?;
            if let (Status::Booked, Some(m)) = (s.target, book_on) {
                let ver = v(tx)?;
                referrals::submit_and_book(tx, as_referrer, id, ver, m)?;
            }
        }
        _ => {}
    }
    Ok(id)
}

const MEETING_STORIES: [Story; 2] = [
    Story {
        local_id: "NC-088614",
        given: "Jasper",
        family: "Wren-Adebayo",
        born: (2012, 11, 4),
        parental: "Mother and stepfather",
        language: "English.",
        summary: "Jasper has a brain injury after a road accident and needs a package of care and rehabilitation at home so he can leave hospital.",
        provider: "Northmoor Neuro-Rehabilitation",
        option: "Home-based rehabilitation: therapy three days a week and personal care every evening.",
        weekly_cost_pence: 143_000,
        target: Status::Booked,
    },
    Story {
        local_id: "NC-140276",
        given: "Priya",
        family: "Haldane",
        born: (2016, 4, 19),
        parental: "Father and mother, jointly",
        language: "English and Gujarati; no interpreter needed.",
        summary: "Priya has a life-limiting condition; her parents need planned overnight respite so they can keep caring for her at home.",
        provider: "Moorland Children's Hospice",
        option: "Planned overnight respite, two nights a month, with community nursing between stays.",
        weekly_cost_pence: 41_000,
        target: Status::Booked,
    },
];

/// The chair signs off the panel's decision on `id` (considered at `past`):
/// the recommended option, Northmoor County Council 60% and the ICB 40%, with
/// a review in six months. Adults & Communities sent apologies and has not
/// answered its recommendation, so the agreement is pending.
#[allow(clippy::too_many_arguments)]
fn decided(
    tx: &mut Tx<'_>,
    as_admin: &Actor,
    as_chair: &Actor,
    chair: &User,
    jfp: &Panel,
    id: i64,
    past: &meetings::Meeting,
    cal: &Calendar,
) -> Result<(), ChangeError> {
    use jp_domain::decision::{Draft, Expectation, Outcome, Share};
    let Some(r) = referrals::get(tx, id)? else {
        return Ok(());
    };
    let Some(option) = referrals::options(tx, id)?
        .into_iter()
        .find(|o| Some(o.id) == r.recommended_option_id)
    else {
        return Ok(());
    };
    let (Some(start), Some(end)) = (
        option.lines.iter().map(|l| l.line.start).min(),
        option.lines.iter().map(|l| l.line.end).max(),
    ) else {
        return Ok(());
    };
    let find = |tx: &mut Tx<'_>, sql: &str, like: &str| -> Result<Option<i64>, ChangeError> {
        Ok(tx
            .query_opt(sql, &crate::params![like])?
            .map(|row| row.get(0))
            .transpose()?)
    };
    let org = "SELECT id FROM organisations WHERE name LIKE $1";
    let agency = "SELECT id FROM agencies WHERE name LIKE $1";
    let (Some(la), Some(icb), Some(csc), Some(placements)) = (
        find(tx, org, "Northmoor County%")?,
        find(tx, org, "Northmoor and Dale%")?,
        find(tx, agency, "Children%")?,
        find(tx, agency, "Commissioning%")?,
    ) else {
        return Ok(());
    };
    let needs = referrals::sections(tx, id)?
        .get("needs")
        .and_then(|s| s.answers.get("needs").cloned())
        .unwrap_or_default();
    let review = (start + Duration::days(182)).max(past.date + Duration::days(60));
    let draft = Draft {
        outcome: Some(Outcome::AgreedAsRecommended),
        option_id: Some(option.id),
        rationale: "The rehabilitation placement answers the assessed health and care needs set out in the referral; community options were tried and did not keep the child safe at home.".into(),
        needs,
        lead_agency_id: Some(csc),
        key_worker_id: Some(r.referrer_id),
        review_date: Some(review),
        expectations: vec![Expectation {
            what: "Report the first month's progress to the panel administrator".into(),
            due: start + Duration::days(35),
        }],
        provider: option.provider.clone(),
        contract_agency_id: Some(placements),
        direct_payment: Some(false),
        start: Some(start),
        end: Some(end),
        shares: vec![
            Share {
                organisation_id: la,
                basis_points: 6_000,
            },
            Share {
                organisation_id: icb,
                basis_points: 4_000,
            },
        ],
        ..Draft::default()
    };
    let did = crate::decisions::start(tx, as_admin, id, &draft)?;
    let lines: Vec<CostLine> = option.lines.iter().map(|l| l.line.clone()).collect();
    crate::decisions::sign(
        tx,
        as_chair,
        did,
        1,
        &crate::decisions::SignContext {
            today: past.date,
            option_lines: lines,
            delegated_limit: jfp.rules.delegated_limit,
            authority: jfp.rules.escalation_authority.clone(),
            letter_due: cal.after(past.date, jfp.rules.letter_due_days),
            next_meeting: None,
            affected_agencies: vec![csc, placements],
            signer: chair,
        },
    )?;
    Ok(())
}

/// Last month's meeting, held and minuted (one agency sent apologies), and an
/// ad-hoc meeting next week whose papers are circulated.
fn meeting_history(
    tx: &mut Tx<'_>,
    cast: &Cast,
    jfp: &Panel,
    today: NaiveDate,
) -> Result<(), ChangeError> {
    use crate::meeting_run;
    use jp_domain::meeting_lifecycle::Presence;
    let (Some(chair), Some(admin)) = (
        user(tx, "chair@northmoor.example")?,
        user(tx, "administrator@northmoor.example")?,
    ) else {
        return Ok(());
    };
    let as_admin = Actor::user(admin.id, format!("{} <{}>", admin.name, admin.email));
    let as_chair = Actor::user(chair.id, format!("{} <{}>", chair.name, chair.email));
    let cal = crate::calendar::for_region(tx, jfp.rules.region)?;
    let version = |tx: &mut Tx<'_>, id: i64| -> Result<i64, ChangeError> {
        Ok(meetings::get(tx, id)?.ok_or(ChangeError::NotFound)?.version)
    };
    let prepare =
        |tx: &mut Tx<'_>, m: &meetings::Meeting, held: NaiveDate| -> Result<(), ChangeError> {
            crate::agenda::sync(tx, m, jfp)?;
            let v = version(tx, m.id)?;
            crate::agenda::approve(tx, &as_chair, &chair, m.id, v)?;
            let v = version(tx, m.id)?;
            meeting_run::circulate(
                tx,
                &as_admin,
                m.id,
                v,
                cal.before(held, jfp.rules.papers_due_days),
            )?;
            Ok(())
        };

    // Last month's cadence meeting.
    let back = today - Duration::days(62);
    meetings::ensure_scheduled(tx, &cast.actor, jfp, back, 2)?;
    let past = meetings::list(tx, Some(jfp.id), back, 10)?
        .into_iter()
        .rev()
        .find(|m| m.date < today && m.kind == "scheduled");
    if let Some(past) = past {
        let id = story(
            tx,
            cast,
            jfp,
            &MEETING_STORIES[0],
            520_000,
            past.date - Duration::days(30),
            Some(&past),
        )?;
        prepare(tx, &past, past.date)?;
        let v = version(tx, past.id)?;
        meeting_run::start(tx, &as_admin, past.id, v)?;
        for seat in meeting_run::seats(tx, jfp.id)? {
            let (presence, who) = if seat.agency_name.starts_with("Adults") {
                (Presence::Apologies, None)
            } else {
                (Presence::Present, seat.members.first().map(|m| m.0))
            };
            meeting_run::record_attendance(tx, &as_admin, past.id, seat.agency_id, presence, who)?;
        }
        // The outcome affects Children's Social Care and Adults & Communities,
        // which sent apologies: a recommendation to it, now overdue.
        let affected: Vec<i64> = meeting_run::seats(tx, jfp.id)?
            .into_iter()
            .filter(|s| {
                s.agency_name.starts_with("Children") || s.agency_name.starts_with("Adults")
            })
            .map(|s| s.agency_id)
            .collect();
        for item in crate::agenda::items(tx, past.id)? {
            meeting_run::set_referrer_attended(tx, &as_admin, past.id, item.id, true)?;
            meeting_run::save_minute(
                tx,
                &as_admin,
                past.id,
                item.id,
                "The referrer presented the request. Members asked about the therapy plan and how the family would be supported at weekends.\nThe panel agreed the recommended option, with a review in six months.",
            )?;
            meeting_run::consider(tx, &as_admin, past.id, item.id, &affected, past.date)?;
            if item.referral_id == Some(id)
                && let Some(owner) = meeting_run::invitees(tx, jfp.id)?.first().map(|p| p.0)
            {
                crate::actions::create(
                    tx,
                    &as_admin,
                    &crate::actions::NewAction {
                        title: "Confirm the rehabilitation provider's start date with the family"
                            .into(),
                        owner_id: owner,
                        due: cal.after(past.date, 10),
                        source: crate::actions::Source::Minute,
                        meeting_id: Some(past.id),
                        item_id: Some(item.id),
                        referral_id: Some(id),
                        recommendation_id: None,
                    },
                )?;
            }
        }
        let v = version(tx, past.id)?;
        meeting_run::close(tx, &as_admin, past.id, v)?;
        let v = version(tx, past.id)?;
        meeting_run::approve_minutes(tx, &as_chair, &chair, past.id, v, cal.after(past.date, 2))?;
        decided(tx, &as_admin, &as_chair, &chair, jfp, id, &past, &cal)?;
    }

    // An ad-hoc meeting next week, papers circulated.
    let day = cal.after(today, 5);
    let adhoc = meetings::create_ad_hoc(
        tx,
        &as_admin,
        jfp.id,
        day,
        &meetings::Details {
            start_time: "14:00".into(),
            venue: "Committee Room 2, County Hall".into(),
            online_link: "https://meet.example.org/joint-funding-panel".into(),
        },
    )?;
    if let Some(m) = meetings::get(tx, adhoc)? {
        story(
            tx,
            cast,
            jfp,
            &MEETING_STORIES[1],
            530_000,
            today - Duration::days(7),
            Some(&m),
        )?;
        prepare(tx, &m, m.date)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_nhs_numbers_are_valid_and_in_the_999_range() {
        for seed in [0, 1, 310_000, 999_999] {
            let n = test_nhs_number(seed);
            assert!(n.starts_with("999") && n.len() == 10);
            assert!(jp_domain::identifiers::NhsNumber::parse(&n).is_ok(), "{n}");
        }
    }
}
