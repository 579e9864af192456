//! THE access policy: every route of the application and who may call it
//! (SPEC §8). Deny by default: [`crate::routes::Routes`] refuses to register a
//! route that is not in this table, and a test walks every route for every
//! role and for nobody signed in.

use jp_domain::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verb {
    Get,
    Post,
    Put,
    Delete,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
            Verb::Delete => "DELETE",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not (sign-in page, health check, assets).
    Public,
    /// Anyone signed in.
    SignedIn,
    /// Only people holding one of these roles.
    Roles(&'static [Role]),
}

impl Access {
    pub fn allows(self, roles: &[Role]) -> bool {
        match self {
            Access::Public | Access::SignedIn => true,
            Access::Roles(allowed) => roles.iter().any(|r| allowed.contains(r)),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub verb: Verb,
    pub path: &'static str,
    pub access: Access,
}

use Access::{Public, Roles, SignedIn};
use Verb::{Get, Post, Put};

const SYSADMIN: Access = Roles(&[Role::SystemAdministrator]);
const AUDITOR: Access = Roles(&[Role::Auditor]);
/// People who work with children's cases (finance sees money only, through the referral list).
const CASEWORK: Access = Roles(&[
    Role::Referrer,
    Role::Approver,
    Role::Administrator,
    Role::Chair,
    Role::Member,
]);
const REFERRAL_READERS: Access = Roles(&[
    Role::Referrer,
    Role::Approver,
    Role::Administrator,
    Role::Chair,
    Role::Member,
    Role::Finance,
]);
const REFERRER: Access = Roles(&[Role::Referrer]);
const CHILD_EDITORS: Access = Roles(&[Role::Referrer, Role::Administrator]);
const APPROVERS: Access = Roles(&[Role::Approver, Role::Member]);
const REFERRER_OR_ADMIN: Access = Roles(&[Role::Referrer, Role::Administrator]);
const PANEL_ADMIN: Access = Roles(&[Role::Administrator]);
const CHAIR: Access = Roles(&[Role::Chair]);
/// The people of a panel's meetings: administrators, chairs, members and
/// deputies (who hold the member role); handlers check the panel itself.
const PANEL_PEOPLE: Access = Roles(&[Role::Administrator, Role::Chair, Role::Member]);
/// Who reads the tracker: panel administrators, chairs, members and finance.
const TRACKER_READERS: Access = Roles(&[
    Role::Administrator,
    Role::Chair,
    Role::Member,
    Role::Finance,
]);
/// Who reads the finance pages: finance officers, administrators and chairs.
const FINANCE_READERS: Access = Roles(&[Role::Finance, Role::Administrator, Role::Chair]);
/// Who sets budgets and records actual spend.
const FINANCE_EDITORS: Access = Roles(&[Role::Finance, Role::Administrator]);
/// Who records a panel's decisions: business support and the chair (seed 002 §8).
const DECISION_EDITORS: Access = Roles(&[Role::Administrator, Role::Chair]);
/// The service's running: bank holiday lists, closure days, the e-mail
/// outbox. The panel administrator (business support) and the system administrator.
const SERVICE_ADMINS: Access = Roles(&[Role::Administrator, Role::SystemAdministrator]);

const fn rule(verb: Verb, path: &'static str, access: Access) -> Rule {
    Rule { verb, path, access }
}

pub const POLICY: &[Rule] = &[
    // Open to all
    rule(Get, "/healthz", Public),
    rule(Get, "/assets/{file}", Public),
    rule(Get, "/assets/images/{file}", Public),
    rule(Get, "/sign-in", Public),
    rule(Post, "/sign-in", Public),
    rule(Get, "/accessibility", Public),
    rule(Get, "/api/openapi.json", Public),
    // The address itself is the credential (secret, hashed, revocable).
    rule(Get, "/feeds/{token}", Public),
    // Everyone signed in
    rule(Get, "/", SignedIn),
    rule(Post, "/sign-out", SignedIn),
    rule(Get, "/account", SignedIn),
    rule(Get, "/account/password", SignedIn),
    rule(Post, "/account/password", SignedIn),
    rule(Post, "/account/tokens/{id}/revoke", SignedIn),
    rule(Post, "/account/calendar-feed", SignedIn),
    rule(Post, "/account/calendar-feed/revoke", SignedIn),
    rule(Get, "/api/v1/me", SignedIn),
    rule(Get, "/api/v1/panels", SignedIn),
    rule(Get, "/api/v1/panels/{id}", SignedIn),
    rule(Get, "/api/v1/agencies", SignedIn),
    rule(Get, "/api/v1/organisations", SignedIn),
    // System administration (reference data, people, roles)
    rule(Get, "/admin", SYSADMIN),
    rule(Get, "/admin/organisations", SYSADMIN),
    rule(Get, "/admin/organisations/new", SYSADMIN),
    rule(Post, "/admin/organisations/new", SYSADMIN),
    rule(Get, "/admin/organisations/{id}", SYSADMIN),
    rule(Post, "/admin/organisations/{id}", SYSADMIN),
    rule(Get, "/admin/agencies", SYSADMIN),
    rule(Get, "/admin/agencies/new", SYSADMIN),
    rule(Post, "/admin/agencies/new", SYSADMIN),
    rule(Get, "/admin/agencies/{id}", SYSADMIN),
    rule(Post, "/admin/agencies/{id}", SYSADMIN),
    rule(Get, "/admin/panels", SYSADMIN),
    rule(Get, "/admin/panels/new", SYSADMIN),
    rule(Post, "/admin/panels/new", SYSADMIN),
    rule(Get, "/admin/panels/{id}", SYSADMIN),
    rule(Get, "/admin/panels/{id}/edit", SYSADMIN),
    rule(Post, "/admin/panels/{id}/edit", SYSADMIN),
    rule(Get, "/admin/panels/{id}/members/new", SYSADMIN),
    rule(Post, "/admin/panels/{id}/members/new", SYSADMIN),
    rule(Get, "/admin/members/{id}", SYSADMIN),
    rule(Post, "/admin/members/{id}", SYSADMIN),
    rule(Post, "/admin/members/{id}/remove", SYSADMIN),
    rule(Get, "/admin/users", SYSADMIN),
    rule(Get, "/admin/users/new", SYSADMIN),
    rule(Post, "/admin/users/new", SYSADMIN),
    rule(Get, "/admin/users/{id}", SYSADMIN),
    rule(Post, "/admin/users/{id}", SYSADMIN),
    rule(Post, "/api/v1/organisations", SYSADMIN),
    rule(Get, "/api/v1/organisations/{id}", SignedIn),
    rule(Put, "/api/v1/organisations/{id}", SYSADMIN),
    rule(Post, "/api/v1/agencies", SYSADMIN),
    rule(Put, "/api/v1/agencies/{id}", SYSADMIN),
    rule(Get, "/api/v1/panels/{id}/members", SignedIn),
    rule(Get, "/api/v1/users", SYSADMIN),
    rule(Post, "/api/v1/users", SYSADMIN),
    rule(Get, "/api/v1/users/{id}", SYSADMIN),
    // The child register (every view audited)
    rule(Get, "/children", CASEWORK),
    rule(Get, "/children/new", CHILD_EDITORS),
    rule(Post, "/children/new", CHILD_EDITORS),
    rule(Get, "/children/{id}", CASEWORK),
    rule(Get, "/children/{id}/edit", CHILD_EDITORS),
    rule(Post, "/children/{id}/edit", CHILD_EDITORS),
    // Referrals (SPEC §3); each handler also checks the person's sight of the referral
    rule(Get, "/referrals", REFERRAL_READERS),
    rule(Get, "/referrals/new", REFERRER),
    rule(Post, "/referrals/new", REFERRER),
    rule(Get, "/referrals/{id}", REFERRAL_READERS),
    rule(Get, "/referrals/{id}/sections/{section}", REFERRER),
    rule(Post, "/referrals/{id}/sections/{section}", REFERRER),
    rule(Get, "/referrals/{id}/options", REFERRER),
    rule(Post, "/referrals/{id}/options", REFERRER),
    rule(Post, "/referrals/{id}/options/lines", REFERRER),
    rule(Post, "/referrals/{id}/options/lines/remove", REFERRER),
    rule(Post, "/referrals/{id}/options/remove", REFERRER),
    rule(Post, "/referrals/{id}/options/recommended", REFERRER),
    rule(Get, "/referrals/{id}/check", REFERRER),
    rule(Get, "/referrals/{id}/evidence", REFERRER),
    rule(Post, "/referrals/{id}/evidence", REFERRER),
    rule(Post, "/referrals/{id}/evidence/remove", REFERRER),
    rule(Get, "/attachments/{id}", CASEWORK),
    rule(Post, "/referrals/{id}/send", REFERRER),
    rule(Post, "/referrals/{id}/approval", APPROVERS),
    rule(Post, "/referrals/{id}/submit", REFERRER_OR_ADMIN),
    rule(Post, "/referrals/{id}/late", REFERRER_OR_ADMIN),
    rule(Post, "/referrals/{id}/late/answer", CHAIR),
    rule(Post, "/referrals/{id}/move", PANEL_ADMIN),
    rule(Post, "/referrals/{id}/withdraw", REFERRER_OR_ADMIN),
    // The audit log (SPEC §8: the auditor sees the audit log)
    rule(Get, "/audit", AUDITOR),
    rule(Get, "/api/v1/calendar/shift", SignedIn),
    rule(Get, "/api/v1/calendar/deadlines", SignedIn),
    rule(Get, "/api/v1/calendar/holidays", SignedIn),
    rule(Post, "/api/v1/calendar/lists", SERVICE_ADMINS),
    rule(Get, "/admin/calendar", SERVICE_ADMINS),
    rule(Post, "/admin/calendar/lists", SERVICE_ADMINS),
    rule(Post, "/admin/calendar/lists/remove", SERVICE_ADMINS),
    rule(Post, "/admin/calendar/closures", SERVICE_ADMINS),
    rule(Post, "/admin/calendar/closures/remove", SERVICE_ADMINS),
    rule(Get, "/admin/outbox", SERVICE_ADMINS),
    rule(Post, "/admin/outbox/retry", SERVICE_ADMINS),
    rule(Get, "/api/v1/outbox", SERVICE_ADMINS),
    rule(Post, "/api/v1/outbox/{id}/retry", SERVICE_ADMINS),
    rule(Get, "/api/v1/children", CASEWORK),
    rule(Post, "/api/v1/children", CHILD_EDITORS),
    rule(Get, "/api/v1/children/{id}", CASEWORK),
    rule(Get, "/api/v1/referrals", REFERRAL_READERS),
    rule(Post, "/api/v1/referrals", REFERRER),
    rule(Get, "/api/v1/referrals/{id}", REFERRAL_READERS),
    rule(Put, "/api/v1/referrals/{id}/sections/{section}", REFERRER),
    rule(Post, "/api/v1/referrals/{id}/options", REFERRER),
    rule(
        Post,
        "/api/v1/referrals/{id}/options/{option_id}/lines",
        REFERRER,
    ),
    rule(Put, "/api/v1/referrals/{id}/recommended", REFERRER),
    rule(Post, "/api/v1/referrals/{id}/attachments", REFERRER),
    rule(Post, "/api/v1/referrals/{id}/send", REFERRER),
    rule(Post, "/api/v1/referrals/{id}/approval", APPROVERS),
    rule(Post, "/api/v1/referrals/{id}/submit", REFERRER_OR_ADMIN),
    rule(Get, "/meetings", CASEWORK),
    rule(Get, "/meetings/new", PANEL_ADMIN),
    rule(Post, "/meetings/new", PANEL_ADMIN),
    rule(Get, "/meetings/{id}", CASEWORK),
    rule(Get, "/meetings/{id}/edit", PANEL_ADMIN),
    rule(Post, "/meetings/{id}/edit", PANEL_ADMIN),
    rule(Post, "/meetings/{id}/cancel", PANEL_ADMIN),
    rule(Get, "/meetings/{id}/agenda", CASEWORK),
    rule(Post, "/meetings/{id}/agenda/move", PANEL_ADMIN),
    rule(Post, "/meetings/{id}/agenda/minutes", PANEL_ADMIN),
    rule(Post, "/meetings/{id}/agenda/approve", CHAIR),
    rule(Post, "/meetings/{id}/circulate", PANEL_ADMIN),
    rule(Post, "/meetings/{id}/start", PANEL_ADMIN),
    rule(Post, "/meetings/{id}/close", PANEL_ADMIN),
    rule(Get, "/meetings/{id}/attendance", PANEL_PEOPLE),
    rule(Post, "/meetings/{id}/attendance", PANEL_ADMIN),
    rule(Get, "/meetings/{id}/minutes", PANEL_PEOPLE),
    rule(Get, "/meetings/{id}/minutes.pdf", PANEL_PEOPLE),
    rule(Post, "/meetings/{id}/minutes/item", PANEL_ADMIN),
    rule(Post, "/meetings/{id}/minutes/conflict", PANEL_ADMIN),
    rule(Post, "/meetings/{id}/minutes/consider", PANEL_ADMIN),
    rule(Post, "/meetings/{id}/minutes/approve", CHAIR),
    rule(Post, "/meetings/{id}/actions", PANEL_ADMIN),
    // Each handler checks the person's part (owner; the agency's member or deputy)
    rule(Post, "/actions/{id}/done", SignedIn),
    rule(Get, "/recommendations/{id}", PANEL_PEOPLE),
    rule(Post, "/recommendations/{id}", PANEL_PEOPLE),
    rule(Get, "/meetings/{id}/papers", PANEL_PEOPLE),
    rule(Get, "/meetings/{id}/papers/pack.pdf", PANEL_PEOPLE),
    rule(
        Get,
        "/meetings/{id}/papers/attachments/{attachment}",
        PANEL_PEOPLE,
    ),
    // Decisions (SPEC §5) and funding agreements (§6); each handler checks the
    // person's sight of the referral and their part on its panel.
    rule(Get, "/referrals/{id}/decision", CASEWORK),
    rule(Post, "/referrals/{id}/decision", DECISION_EDITORS),
    rule(Post, "/referrals/{id}/decision/sign", CHAIR),
    rule(Post, "/referrals/{id}/decision/correct", DECISION_EDITORS),
    rule(Post, "/referrals/{id}/decision/authority", DECISION_EDITORS),
    rule(Get, "/referrals/{id}/decision/letter.pdf", DECISION_EDITORS),
    rule(Post, "/referrals/{id}/decision/letter", PANEL_ADMIN),
    rule(Get, "/decision-letters/{id}", CASEWORK),
    rule(Get, "/referrals/{id}/close", PANEL_ADMIN),
    rule(Post, "/referrals/{id}/close", PANEL_ADMIN),
    rule(Get, "/agreements/{id}", REFERRAL_READERS),
    rule(Get, "/agreements/{id}/vary", PANEL_ADMIN),
    rule(Post, "/agreements/{id}/vary", PANEL_ADMIN),
    rule(Post, "/agreements/{id}/activate", PANEL_ADMIN),
    rule(Get, "/api/v1/referrals/{id}/decisions", CASEWORK),
    rule(Post, "/api/v1/referrals/{id}/decisions", DECISION_EDITORS),
    rule(Put, "/api/v1/decisions/{id}", DECISION_EDITORS),
    rule(Post, "/api/v1/decisions/{id}/sign", CHAIR),
    rule(Post, "/api/v1/decisions/{id}/corrections", DECISION_EDITORS),
    rule(Post, "/api/v1/decisions/{id}/authority", DECISION_EDITORS),
    rule(Post, "/api/v1/decisions/{id}/letter", PANEL_ADMIN),
    rule(Get, "/api/v1/agreements/{id}", REFERRAL_READERS),
    rule(Post, "/api/v1/agreements/{id}/variations", PANEL_ADMIN),
    rule(Post, "/api/v1/agreements/{id}/activate", PANEL_ADMIN),
    rule(Post, "/api/v1/referrals/{id}/close", PANEL_ADMIN),
    // The tracker (SPEC §7): panel people see their panels; finance sees money and ids.
    rule(Get, "/tracker", TRACKER_READERS),
    rule(Get, "/api/v1/tracker", TRACKER_READERS),
    rule(Get, "/tracker/export.csv", TRACKER_READERS),
    rule(Get, "/tracker/export.xlsx", TRACKER_READERS),
    // Finance monitoring (SPEC §6): budgets, committed, actual, forecast.
    // Importing a tracker spreadsheet: panel administrators (it creates records on every panel).
    rule(Get, "/tracker/import", PANEL_ADMIN),
    rule(Post, "/tracker/import", PANEL_ADMIN),
    rule(Get, "/tracker/imports/{id}", PANEL_ADMIN),
    rule(Post, "/tracker/imports/{id}/check", PANEL_ADMIN),
    rule(Post, "/tracker/imports/{id}/run", PANEL_ADMIN),
    // Dashboards (SPEC §7): counts and money, no names; spend for finance readers.
    rule(Get, "/dashboards", TRACKER_READERS),
    rule(Get, "/dashboards/reviews", TRACKER_READERS),
    rule(Get, "/dashboards/service-levels", TRACKER_READERS),
    rule(Get, "/dashboards/needs", TRACKER_READERS),
    rule(Get, "/dashboards/spend", FINANCE_READERS),
    rule(Get, "/finance", FINANCE_READERS),
    rule(Get, "/finance/export.csv", FINANCE_READERS),
    rule(Get, "/finance/export.xlsx", FINANCE_READERS),
    rule(Get, "/finance/spend/import", FINANCE_EDITORS),
    rule(Post, "/finance/spend/import", FINANCE_EDITORS),
    rule(Post, "/finance/budgets", FINANCE_EDITORS),
    rule(Post, "/agreements/{id}/spend", FINANCE_EDITORS),
    // The emerging issues log (seed 002 §3): handlers check the panel.
    rule(Get, "/emerging-issues", PANEL_PEOPLE),
    rule(Post, "/emerging-issues", PANEL_PEOPLE),
    rule(Post, "/emerging-issues/{id}/close", PANEL_PEOPLE),
    rule(Get, "/api/v1/audit", AUDITOR),
    rule(Get, "/api/v1/audit/verify", AUDITOR),
];

pub fn lookup(verb: Verb, path: &str) -> Option<Access> {
    POLICY
        .iter()
        .find(|r| r.verb == verb && r.path == path)
        .map(|r| r.access)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_no_duplicate_rules() {
        let mut seen = std::collections::HashSet::new();
        for r in POLICY {
            assert!(
                seen.insert((r.verb, r.path)),
                "{} {} appears twice",
                r.verb.as_str(),
                r.path
            );
        }
    }
}
