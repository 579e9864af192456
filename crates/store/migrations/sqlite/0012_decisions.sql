-- Decisions (SPEC §5, Part E), funding agreements with their versions and
-- apportionment (§6), decision letters, and files attached to e-mails.
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY,
    referral_id BIGINT NOT NULL REFERENCES referrals(id),
    meeting_id BIGINT REFERENCES meetings(id),
    item_id BIGINT REFERENCES agenda_items(id),
    corrects_id BIGINT REFERENCES decisions(id),
    status TEXT NOT NULL,
    outcome TEXT NOT NULL DEFAULT '',
    draft TEXT NOT NULL,
    present TEXT NOT NULL DEFAULT '[]',
    review_date TEXT,
    total_pence BIGINT NOT NULL DEFAULT 0,
    delegated_limit_pence BIGINT NOT NULL DEFAULT 0,
    authority TEXT NOT NULL DEFAULT '',
    authority_status TEXT NOT NULL DEFAULT 'not-needed',
    authority_agreed_by TEXT,
    authority_agreed_on TEXT,
    authority_recorded_by BIGINT REFERENCES users(id),
    authority_recorded_at TEXT,
    letter_due TEXT,
    signed_by BIGINT REFERENCES users(id),
    signed_at TEXT,
    created_by BIGINT REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX decisions_referral ON decisions(referral_id, id);
CREATE UNIQUE INDEX decisions_one_draft ON decisions(referral_id) WHERE status = 'draft';
CREATE UNIQUE INDEX decisions_one_correction ON decisions(corrects_id);
CREATE TABLE agreements (
    id INTEGER PRIMARY KEY,
    referral_id BIGINT NOT NULL UNIQUE REFERENCES referrals(id),
    child_id BIGINT NOT NULL REFERENCES children(id),
    panel_id BIGINT NOT NULL REFERENCES panels(id),
    status TEXT NOT NULL,
    current_number BIGINT NOT NULL DEFAULT 1,
    review_referral_id BIGINT REFERENCES referrals(id),
    activated_by BIGINT REFERENCES users(id),
    activated_at TEXT,
    ended_on TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE TABLE agreement_versions (
    id INTEGER PRIMARY KEY,
    agreement_id BIGINT NOT NULL REFERENCES agreements(id),
    number BIGINT NOT NULL,
    reason TEXT NOT NULL,
    decision_id BIGINT REFERENCES decisions(id),
    provider TEXT NOT NULL,
    contract_agency_id BIGINT NOT NULL REFERENCES agencies(id),
    direct_payment BOOLEAN NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    review_date TEXT NOT NULL,
    lines TEXT NOT NULL,
    total_pence BIGINT NOT NULL,
    created_by BIGINT REFERENCES users(id),
    created_at TEXT NOT NULL,
    UNIQUE (agreement_id, number)
);
CREATE TABLE agreement_shares (
    version_id BIGINT NOT NULL REFERENCES agreement_versions(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    basis_points BIGINT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (version_id, organisation_id)
);
CREATE TABLE mail_attachments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    content BLOB NOT NULL,
    created_at TEXT NOT NULL
);
ALTER TABLE outbox ADD COLUMN attachment_id BIGINT REFERENCES mail_attachments(id);
CREATE TABLE decision_letters (
    id INTEGER PRIMARY KEY,
    decision_id BIGINT NOT NULL REFERENCES decisions(id),
    kind TEXT NOT NULL,
    attachment_id BIGINT NOT NULL REFERENCES mail_attachments(id),
    sent_on TEXT NOT NULL,
    due TEXT,
    on_time BOOLEAN NOT NULL,
    recipients TEXT NOT NULL,
    sent_by BIGINT REFERENCES users(id),
    sent_at TEXT NOT NULL
);
ALTER TABLE referrals ADD COLUMN closed_on TEXT;
