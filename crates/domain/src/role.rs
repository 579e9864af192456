//! The roles of SPEC §8. A user may hold several.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Referrer,
    Approver,
    Administrator,
    Chair,
    Member,
    Finance,
    Auditor,
    SystemAdministrator,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Referrer,
        Role::Approver,
        Role::Administrator,
        Role::Chair,
        Role::Member,
        Role::Finance,
        Role::Auditor,
        Role::SystemAdministrator,
    ];

    /// The stable identifier used in the database, the API and the CLI.
    pub fn slug(self) -> &'static str {
        match self {
            Role::Referrer => "referrer",
            Role::Approver => "approver",
            Role::Administrator => "administrator",
            Role::Chair => "chair",
            Role::Member => "member",
            Role::Finance => "finance",
            Role::Auditor => "auditor",
            Role::SystemAdministrator => "system-administrator",
        }
    }

    /// What a person reads.
    pub fn label(self) -> &'static str {
        match self {
            Role::Referrer => "Referrer",
            Role::Approver => "Approver (service manager)",
            Role::Administrator => "Panel administrator",
            Role::Chair => "Chair",
            Role::Member => "Panel member",
            Role::Finance => "Finance officer",
            Role::Auditor => "Auditor",
            Role::SystemAdministrator => "System administrator",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        let s = s.trim().to_ascii_lowercase().replace('_', "-");
        Role::ALL.into_iter().find(|r| r.slug() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_slug() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.slug()), Some(r));
        }
        assert_eq!(
            Role::parse("System_Administrator"),
            Some(Role::SystemAdministrator)
        );
        assert_eq!(Role::parse("root"), None);
    }
}
