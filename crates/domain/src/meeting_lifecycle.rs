//! A meeting's lifecycle (SPEC §4): scheduled → agenda approved → papers
//! circulated → in progress → closed, or cancelled before its agenda is
//! approved. One table says which action moves which status where; anything
//! else is refused.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MeetingStatus {
    Scheduled,
    AgendaApproved,
    PapersCirculated,
    InProgress,
    Closed,
    Cancelled,
}

impl MeetingStatus {
    pub const ALL: [MeetingStatus; 6] = [
        MeetingStatus::Scheduled,
        MeetingStatus::AgendaApproved,
        MeetingStatus::PapersCirculated,
        MeetingStatus::InProgress,
        MeetingStatus::Closed,
        MeetingStatus::Cancelled,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            MeetingStatus::Scheduled => "scheduled",
            MeetingStatus::AgendaApproved => "agenda-approved",
            MeetingStatus::PapersCirculated => "papers-circulated",
            MeetingStatus::InProgress => "in-progress",
            MeetingStatus::Closed => "closed",
            MeetingStatus::Cancelled => "cancelled",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            MeetingStatus::Scheduled => "Scheduled",
            MeetingStatus::AgendaApproved => "Agenda approved",
            MeetingStatus::PapersCirculated => "Papers circulated",
            MeetingStatus::InProgress => "In progress",
            MeetingStatus::Closed => "Closed",
            MeetingStatus::Cancelled => "Cancelled",
        }
    }

    pub fn tag_class(self) -> &'static str {
        match self {
            MeetingStatus::Scheduled => "govuk-tag--blue",
            MeetingStatus::AgendaApproved => "govuk-tag--turquoise",
            MeetingStatus::PapersCirculated => "govuk-tag--purple",
            MeetingStatus::InProgress => "govuk-tag--yellow",
            MeetingStatus::Closed => "govuk-tag--grey",
            MeetingStatus::Cancelled => "govuk-tag--red",
        }
    }

    pub fn parse(s: &str) -> Option<MeetingStatus> {
        MeetingStatus::ALL.into_iter().find(|m| m.slug() == s)
    }

    /// Still to be held (referrals can be booked onto it, it appears in feeds).
    pub fn is_open(self) -> bool {
        !matches!(self, MeetingStatus::Closed | MeetingStatus::Cancelled)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MeetingAction {
    ApproveAgenda,
    Circulate,
    Start,
    Close,
    Cancel,
}

impl MeetingAction {
    pub const ALL: [MeetingAction; 5] = [
        MeetingAction::ApproveAgenda,
        MeetingAction::Circulate,
        MeetingAction::Start,
        MeetingAction::Close,
        MeetingAction::Cancel,
    ];

    pub fn describe(self) -> &'static str {
        match self {
            MeetingAction::ApproveAgenda => "approve the agenda",
            MeetingAction::Circulate => "circulate the papers",
            MeetingAction::Start => "start the meeting",
            MeetingAction::Close => "close the meeting",
            MeetingAction::Cancel => "cancel the meeting",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a meeting that is “{}” cannot {}", from.label().to_lowercase(), action.describe())]
pub struct IllegalMeetingMove {
    pub from: MeetingStatus,
    pub action: MeetingAction,
}

/// The one table of a meeting's moves.
pub fn next(
    from: MeetingStatus,
    action: MeetingAction,
) -> Result<MeetingStatus, IllegalMeetingMove> {
    use MeetingAction as A;
    use MeetingStatus as S;
    match (from, action) {
        (S::Scheduled, A::ApproveAgenda) => Ok(S::AgendaApproved),
        (S::AgendaApproved, A::Circulate) => Ok(S::PapersCirculated),
        (S::PapersCirculated, A::Start) => Ok(S::InProgress),
        (S::InProgress, A::Close) => Ok(S::Closed),
        (S::Scheduled, A::Cancel) => Ok(S::Cancelled),
        _ => Err(IllegalMeetingMove { from, action }),
    }
}

/// How an agency was represented at a meeting (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Presence {
    /// The agency's member attended.
    Present,
    /// One of the member's named deputies attended in their place.
    Deputy,
    /// The agency sent apologies and nobody in its place.
    Apologies,
    /// Nobody attended and no apologies were sent.
    Absent,
}

impl Presence {
    pub const ALL: [Presence; 4] = [
        Presence::Present,
        Presence::Deputy,
        Presence::Apologies,
        Presence::Absent,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Presence::Present => "present",
            Presence::Deputy => "deputy",
            Presence::Apologies => "apologies",
            Presence::Absent => "absent",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Presence::Present => "Present",
            Presence::Deputy => "Deputy attended",
            Presence::Apologies => "Apologies",
            Presence::Absent => "Absent",
        }
    }

    pub fn parse(s: &str) -> Option<Presence> {
        Presence::ALL.into_iter().find(|p| p.slug() == s)
    }

    /// Whether someone spoke for the agency (seed 000 §3.5: otherwise a
    /// decision affecting it is only a recommendation to it).
    pub fn represented(self) -> bool {
        matches!(self, Presence::Present | Presence::Deputy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_and_action_pair_is_decided_by_the_table() {
        use MeetingAction as A;
        use MeetingStatus as S;
        let allowed = [
            (S::Scheduled, A::ApproveAgenda, S::AgendaApproved),
            (S::AgendaApproved, A::Circulate, S::PapersCirculated),
            (S::PapersCirculated, A::Start, S::InProgress),
            (S::InProgress, A::Close, S::Closed),
            (S::Scheduled, A::Cancel, S::Cancelled),
        ];
        let mut checked = 0;
        for from in S::ALL {
            for action in A::ALL {
                checked += 1;
                match allowed.iter().find(|(f, a, _)| *f == from && *a == action) {
                    Some((_, _, to)) => assert_eq!(next(from, action), Ok(*to)),
                    None => {
                        assert_eq!(next(from, action), Err(IllegalMeetingMove { from, action }))
                    }
                }
            }
        }
        assert_eq!(checked, 30);
        assert_eq!(
            next(S::Closed, A::Start).unwrap_err().to_string(),
            "a meeting that is “closed” cannot start the meeting"
        );
    }

    #[test]
    fn slugs_round_trip() {
        for s in MeetingStatus::ALL {
            assert_eq!(MeetingStatus::parse(s.slug()), Some(s));
        }
        assert!(MeetingStatus::Scheduled.is_open() && !MeetingStatus::Cancelled.is_open());
    }
}
