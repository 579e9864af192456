//! A referral's lifecycle (SPEC §3) as a state machine: every status, every
//! action, and the one table saying which action moves which status where.
//! Anything not in the table is refused, so an illegal move cannot be made.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Draft,
    AwaitingApproval,
    Returned,
    Approved,
    Submitted,
    Booked,
    Considered,
    Decided,
    AgreementActive,
    UnderReview,
    Closed,
}

impl Status {
    pub const ALL: [Status; 11] = [
        Status::Draft,
        Status::AwaitingApproval,
        Status::Returned,
        Status::Approved,
        Status::Submitted,
        Status::Booked,
        Status::Considered,
        Status::Decided,
        Status::AgreementActive,
        Status::UnderReview,
        Status::Closed,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::AwaitingApproval => "awaiting-approval",
            Status::Returned => "returned",
            Status::Approved => "approved",
            Status::Submitted => "submitted",
            Status::Booked => "booked",
            Status::Considered => "considered",
            Status::Decided => "decided",
            Status::AgreementActive => "agreement-active",
            Status::UnderReview => "under-review",
            Status::Closed => "closed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Draft => "Draft",
            Status::AwaitingApproval => "Awaiting approval",
            Status::Returned => "Returned for changes",
            Status::Approved => "Approved",
            Status::Submitted => "Submitted",
            Status::Booked => "Booked on a meeting",
            Status::Considered => "Considered",
            Status::Decided => "Decided",
            Status::AgreementActive => "Agreement active",
            Status::UnderReview => "Under review",
            Status::Closed => "Closed",
        }
    }

    /// The GOV.UK tag colour class for the status.
    pub fn tag_class(self) -> &'static str {
        match self {
            Status::Draft => "govuk-tag--grey",
            Status::AwaitingApproval => "govuk-tag--yellow",
            Status::Returned => "govuk-tag--red",
            Status::Approved => "govuk-tag--turquoise",
            Status::Submitted | Status::Booked => "govuk-tag--blue",
            Status::Considered | Status::Decided => "govuk-tag--purple",
            Status::AgreementActive => "govuk-tag--green",
            Status::UnderReview => "govuk-tag--orange",
            Status::Closed => "govuk-tag--grey",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.slug() == s)
    }

    /// The panel has considered the referral (it may have decisions).
    pub fn considered_or_later(self) -> bool {
        matches!(
            self,
            Status::Considered
                | Status::Decided
                | Status::AgreementActive
                | Status::UnderReview
                | Status::Closed
        )
    }

    /// The referrer can still change the form's content.
    pub fn editable(self) -> bool {
        matches!(self, Status::Draft | Status::Returned)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    SendForApproval,
    Approve,
    Return,
    Submit,
    Book,
    Move,
    Consider,
    Defer,
    Decide,
    ActivateAgreement,
    StartReview,
    ReviewCompleted,
    Withdraw,
    Decline,
    Close,
}

impl Action {
    pub const ALL: [Action; 15] = [
        Action::SendForApproval,
        Action::Approve,
        Action::Return,
        Action::Submit,
        Action::Book,
        Action::Move,
        Action::Consider,
        Action::Defer,
        Action::Decide,
        Action::ActivateAgreement,
        Action::StartReview,
        Action::ReviewCompleted,
        Action::Withdraw,
        Action::Decline,
        Action::Close,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Action::SendForApproval => "send-for-approval",
            Action::Approve => "approve",
            Action::Return => "return",
            Action::Submit => "submit",
            Action::Book => "book",
            Action::Move => "move",
            Action::Consider => "consider",
            Action::Defer => "defer",
            Action::Decide => "decide",
            Action::ActivateAgreement => "activate-agreement",
            Action::StartReview => "start-review",
            Action::ReviewCompleted => "review-completed",
            Action::Withdraw => "withdraw",
            Action::Decline => "decline",
            Action::Close => "close",
        }
    }
}

/// Why an action cannot be taken now, worded for the person who tried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("A referral that is “{}” cannot be {}", from.label(), verb(*action))]
pub struct IllegalTransition {
    pub from: Status,
    pub action: Action,
}

fn verb(a: Action) -> &'static str {
    match a {
        Action::SendForApproval => "sent for approval",
        Action::Approve => "approved",
        Action::Return => "returned for changes",
        Action::Submit => "submitted to the panel",
        Action::Book => "booked on a meeting",
        Action::Move => "moved to another meeting",
        Action::Consider => "marked as considered",
        Action::Defer => "deferred to a later meeting",
        Action::Decide => "decided",
        Action::ActivateAgreement => "given an active agreement",
        Action::StartReview => "put under review",
        Action::ReviewCompleted => "marked as reviewed",
        Action::Withdraw => "withdrawn",
        Action::Decline => "declined",
        Action::Close => "closed",
    }
}

/// The one table of legal moves.
pub fn next(from: Status, action: Action) -> Result<Status, IllegalTransition> {
    use Action as A;
    use Status as S;
    let to = match (from, action) {
        (S::Draft | S::Returned, A::SendForApproval) => S::AwaitingApproval,
        (S::AwaitingApproval, A::Approve) => S::Approved,
        (S::AwaitingApproval, A::Return) => S::Returned,
        (S::Approved, A::Submit) => S::Submitted,
        (S::Submitted, A::Book) => S::Booked,
        (S::Booked, A::Move) => S::Booked,
        (S::Booked, A::Consider) => S::Considered,
        (S::Considered, A::Decide) => S::Decided,
        // Deferred for more information: back on a later meeting's agenda.
        (S::Considered, A::Defer) => S::Booked,
        (S::Decided, A::ActivateAgreement) => S::AgreementActive,
        (S::AgreementActive, A::StartReview) => S::UnderReview,
        (S::UnderReview, A::ReviewCompleted) => S::AgreementActive,
        // Withdrawn before a decision.
        (
            S::Draft
            | S::AwaitingApproval
            | S::Returned
            | S::Approved
            | S::Submitted
            | S::Booked
            | S::Considered,
            A::Withdraw,
        ) => S::Closed,
        (S::Considered | S::Decided, A::Decline) => S::Closed,
        (S::Decided | S::AgreementActive | S::UnderReview, A::Close) => S::Closed,
        _ => return Err(IllegalTransition { from, action }),
    };
    Ok(to)
}

/// The seed's reasons for closing a referral, plus withdrawn and declined.
pub const CLOSURE_REASONS: [(&str, &str); 4] = [
    (
        "suitable-programme",
        "The family has accessed a suitable programme",
    ),
    (
        "no-longer-in-need",
        "The family is no longer in need of the panel's response",
    ),
    ("withdrawn", "Withdrawn before a decision"),
    ("declined", "Declined by the panel"),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every (status, action) pair: exactly the expected ones are legal.
    #[test]
    fn every_pair_is_decided_by_the_table() {
        let mut legal = Vec::new();
        for s in Status::ALL {
            for a in Action::ALL {
                match next(s, a) {
                    Ok(to) => legal.push((s.slug(), a.slug(), to.slug())),
                    Err(e) => {
                        assert_eq!(e.from, s);
                        assert!(e.to_string().starts_with("A referral that is"));
                    }
                }
            }
        }
        let expected = [
            ("draft", "send-for-approval", "awaiting-approval"),
            ("draft", "withdraw", "closed"),
            ("awaiting-approval", "approve", "approved"),
            ("awaiting-approval", "return", "returned"),
            ("awaiting-approval", "withdraw", "closed"),
            ("returned", "send-for-approval", "awaiting-approval"),
            ("returned", "withdraw", "closed"),
            ("approved", "submit", "submitted"),
            ("approved", "withdraw", "closed"),
            ("submitted", "book", "booked"),
            ("submitted", "withdraw", "closed"),
            ("booked", "move", "booked"),
            ("booked", "consider", "considered"),
            ("booked", "withdraw", "closed"),
            ("considered", "decide", "decided"),
            ("considered", "defer", "booked"),
            ("considered", "withdraw", "closed"),
            ("considered", "decline", "closed"),
            ("decided", "activate-agreement", "agreement-active"),
            ("decided", "decline", "closed"),
            ("decided", "close", "closed"),
            ("agreement-active", "start-review", "under-review"),
            ("agreement-active", "close", "closed"),
            ("under-review", "review-completed", "agreement-active"),
            ("under-review", "close", "closed"),
        ];
        assert_eq!(legal.len(), expected.len(), "{legal:?}");
        for e in expected {
            assert!(legal.contains(&e), "missing {e:?}");
        }
        assert_eq!(Status::ALL.len() * Action::ALL.len(), 165);
    }

    #[test]
    fn closed_is_final_and_submission_needs_approval() {
        for a in Action::ALL {
            assert!(next(Status::Closed, a).is_err());
        }
        let e = next(Status::Draft, Action::Submit).unwrap_err();
        assert_eq!(
            e.to_string(),
            "A referral that is “Draft” cannot be submitted to the panel"
        );
        for s in Status::ALL {
            assert_eq!(Status::parse(s.slug()), Some(s));
        }
    }
}
