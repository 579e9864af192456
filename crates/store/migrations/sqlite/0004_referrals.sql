-- Referrals (SPEC §3): the child register, scheduled meetings to book onto,
-- the referral with its sections, options and cost lines, approvals and
-- attachments.
CREATE TABLE children (
    id INTEGER PRIMARY KEY,
    local_id TEXT NOT NULL UNIQUE,
    nhs_number TEXT,
    upn TEXT,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    parental_responsibility TEXT NOT NULL,
    language_needs TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id),
    version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX children_nhs ON children(nhs_number);
CREATE INDEX children_upn ON children(upn);
CREATE INDEX children_name_dob ON children(LOWER(family_name), date_of_birth);
CREATE TABLE meetings (
    id INTEGER PRIMARY KEY,
    panel_id INTEGER NOT NULL REFERENCES panels(id),
    meeting_date TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX meetings_panel_date ON meetings(panel_id, meeting_date);
CREATE TABLE referrals (
    id INTEGER PRIMARY KEY,
    child_id INTEGER NOT NULL REFERENCES children(id),
    panel_id INTEGER NOT NULL REFERENCES panels(id),
    status TEXT NOT NULL,
    referrer_id INTEGER NOT NULL REFERENCES users(id),
    agency_id INTEGER REFERENCES agencies(id),
    team TEXT,
    request_type TEXT,
    need_level TEXT,
    recommended_option_id INTEGER,
    meeting_id INTEGER REFERENCES meetings(id),
    late BOOLEAN NOT NULL DEFAULT FALSE,
    late_meeting_id INTEGER REFERENCES meetings(id),
    late_reason TEXT,
    late_agreed_by INTEGER REFERENCES users(id),
    late_agreed_at TEXT,
    sent_at TEXT,
    approved_by INTEGER REFERENCES users(id),
    approved_at TEXT,
    submitted_at TEXT,
    closure_reason TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX referrals_child ON referrals(child_id);
CREATE INDEX referrals_referrer ON referrals(referrer_id);
CREATE INDEX referrals_team ON referrals(agency_id, team);
CREATE INDEX referrals_panel_status ON referrals(panel_id, status);
CREATE INDEX referrals_meeting ON referrals(meeting_id);
CREATE TABLE referral_sections (
    referral_id INTEGER NOT NULL REFERENCES referrals(id),
    section TEXT NOT NULL,
    answers TEXT NOT NULL,
    complete BOOLEAN NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    updated_by INTEGER REFERENCES users(id),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (referral_id, section)
);
CREATE TABLE referral_options (
    id INTEGER PRIMARY KEY,
    referral_id INTEGER NOT NULL REFERENCES referrals(id),
    provider TEXT NOT NULL,
    description TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX referral_options_referral ON referral_options(referral_id);
CREATE TABLE cost_lines (
    id INTEGER PRIMARY KEY,
    option_id INTEGER NOT NULL REFERENCES referral_options(id) ON DELETE CASCADE,
    item TEXT NOT NULL,
    unit TEXT NOT NULL,
    unit_cost_pence INTEGER NOT NULL,
    quantity_hundredths INTEGER NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX cost_lines_option ON cost_lines(option_id);
CREATE TABLE referral_approvals (
    id INTEGER PRIMARY KEY,
    referral_id INTEGER NOT NULL REFERENCES referrals(id),
    outcome TEXT NOT NULL,
    by_user INTEGER NOT NULL REFERENCES users(id),
    by_name TEXT NOT NULL,
    comments TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX referral_approvals_referral ON referral_approvals(referral_id);
CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    referral_id INTEGER NOT NULL REFERENCES referrals(id),
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_by INTEGER NOT NULL REFERENCES users(id),
    uploaded_at TEXT NOT NULL,
    removed_by INTEGER REFERENCES users(id),
    removed_at TEXT
);
CREATE INDEX attachments_referral ON attachments(referral_id);
CREATE INDEX attachments_sha ON attachments(sha256);
