//! The e-mails a referral's moves send (SPEC §3), queued in the outbox in the
//! same transaction as the move. They name the child only by the local ID and
//! link to the referral: the details stay behind the sign-in.

use crate::pages::date;
use jp_store::ChangeError;
use jp_store::accounts::User;
use jp_store::db::Tx;
use jp_store::meetings::Meeting;
use jp_store::outbox::{self, NewMail};
use jp_store::referrals::{self, Referral};

const SIGN_OFF: &str =
    "This e-mail does not contain case details: sign in to see them.\n\nJoint Panel";

fn link(base: &str, r: &Referral) -> String {
    format!("{}/referrals/{}", base.trim_end_matches('/'), r.id)
}

fn queue(
    tx: &mut Tx<'_>,
    kind: &str,
    to: &[User],
    r: &Referral,
    subject: String,
    body: String,
) -> Result<(), ChangeError> {
    queue_about(tx, kind, to, ("referral", r.id), &subject, &body)
}

/// Queues one e-mail per person about a record (`entity`, id), in the change's transaction.
pub fn queue_about(
    tx: &mut Tx<'_>,
    kind: &str,
    to: &[User],
    (entity, id): (&str, i64),
    subject: &str,
    body: &str,
) -> Result<(), ChangeError> {
    for u in to {
        outbox::enqueue(
            tx,
            &NewMail {
                kind: kind.to_owned(),
                to_address: u.email.clone(),
                to_name: u.name.clone(),
                subject: subject.to_owned(),
                body: format!("Dear {},\n\n{body}\n\n{SIGN_OFF}\n", u.name),
                entity: Some(entity.to_owned()),
                entity_id: Some(id.to_string()),
                attachment_id: None,
            },
        )?;
    }
    Ok(())
}

fn referrer(tx: &mut Tx<'_>, r: &Referral) -> Result<Vec<User>, ChangeError> {
    Ok(jp_store::accounts::get(tx, r.referrer_id)?
        .filter(|u| u.active)
        .into_iter()
        .collect())
}

/// The referrer's approvers are asked to approve.
pub fn sent_for_approval(tx: &mut Tx<'_>, base: &str, r: &Referral) -> Result<(), ChangeError> {
    let to = referrals::approvers_of(tx, r)?;
    queue(
        tx,
        "referral.sent-for-approval",
        &to,
        r,
        format!("Referral {} is waiting for your approval", r.child_local_id),
        format!(
            "{} has sent a referral to the {} for your approval (child's local ID {}).\n\nApprove it, or return it with comments: {}",
            r.referrer_name,
            r.panel_name,
            r.child_local_id,
            link(base, r)
        ),
    )
}

/// The referrer hears the approver's answer.
pub fn approval_decided(
    tx: &mut Tx<'_>,
    base: &str,
    r: &Referral,
    approver: &User,
    approved: bool,
) -> Result<(), ChangeError> {
    let to = referrer(tx, r)?;
    let (subject, body) = if approved {
        (
            format!("Referral {} was approved", r.child_local_id),
            format!(
                "{} approved your referral to the {}. Submit it to book it onto the next meeting with an open deadline: {}",
                approver.name,
                r.panel_name,
                link(base, r)
            ),
        )
    } else {
        (
            format!("Referral {} was returned for changes", r.child_local_id),
            format!(
                "{} returned your referral to the {} with comments. Read them, change the referral and send it again: {}",
                approver.name,
                r.panel_name,
                link(base, r)
            ),
        )
    };
    queue(tx, "referral.approval-decided", &to, r, subject, body)
}

/// The referrer and the panel administrators hear of the booking.
pub fn booked(tx: &mut Tx<'_>, base: &str, r: &Referral, m: &Meeting) -> Result<(), ChangeError> {
    let to = referrer(tx, r)?;
    let when = date(m.date);
    queue(
        tx,
        "referral.booked",
        &to,
        r,
        format!(
            "Referral {} is booked for the meeting on {when}",
            r.child_local_id
        ),
        format!(
            "Your referral is booked for the {} meeting on {when}. The professional presenting it must attend.\n\n{}",
            r.panel_name,
            link(base, r)
        ),
    )?;
    let admins = referrals::administrators(tx)?;
    queue(
        tx,
        "referral.booked",
        &admins,
        r,
        format!(
            "New referral {} for the meeting on {when}",
            r.child_local_id
        ),
        format!(
            "{} submitted a referral to the {} and it is booked for the meeting on {when}{}.\n\n{}",
            r.referrer_name,
            r.panel_name,
            if r.late { " as a late item" } else { "" },
            link(base, r)
        ),
    )
}

/// The panel's chairs are asked to agree a late item.
pub fn late_requested(
    tx: &mut Tx<'_>,
    base: &str,
    r: &Referral,
    m: &Meeting,
) -> Result<(), ChangeError> {
    let to = referrals::chairs_of(tx, r.panel_id)?;
    let when = date(m.date);
    queue(
        tx,
        "referral.late-requested",
        &to,
        r,
        format!(
            "Late item for {when}: referral {} asks for your agreement",
            r.child_local_id
        ),
        format!(
            "{} asks to bring a referral to the {} meeting on {when} after its submission deadline. Agree or refuse: {}",
            r.referrer_name,
            r.panel_name,
            link(base, r)
        ),
    )
}

/// The referrer hears the chair's answer to a late request.
pub fn late_answered(
    tx: &mut Tx<'_>,
    base: &str,
    r: &Referral,
    agreed: bool,
) -> Result<(), ChangeError> {
    let to = referrer(tx, r)?;
    let (subject, body) = if agreed {
        (
            format!("Late item agreed: referral {}", r.child_local_id),
            format!(
                "The chair agreed to take your referral as a late item{}.\n\n{}",
                r.meeting_date
                    .map(|d| format!(" at the meeting on {}", date(d)))
                    .unwrap_or_default(),
                link(base, r)
            ),
        )
    } else {
        (
            format!("Late item refused: referral {}", r.child_local_id),
            format!(
                "The chair did not agree to take your referral as a late item. Submit it for the next meeting with an open deadline: {}",
                link(base, r)
            ),
        )
    };
    queue(tx, "referral.late-answered", &to, r, subject, body)
}
