-- Running a meeting (SPEC §4): attendance per agency, the referrer's presence
-- and declared conflicts per item, minutes per item, recommendations to absent
-- agencies (seed 000 §3.5) and the actions that follow from a meeting.
ALTER TABLE meetings ADD COLUMN circulated_at TEXT;
ALTER TABLE meetings ADD COLUMN started_at TEXT;
ALTER TABLE meetings ADD COLUMN closed_at TEXT;
ALTER TABLE meetings ADD COLUMN minutes_approved_by BIGINT REFERENCES users(id);
ALTER TABLE meetings ADD COLUMN minutes_approved_at TEXT;
ALTER TABLE meetings ADD COLUMN minutes_due TEXT;
ALTER TABLE meetings ADD COLUMN minutes_issued_on TEXT;
ALTER TABLE agenda_items ADD COLUMN lead_user_id BIGINT REFERENCES users(id);
ALTER TABLE agenda_items ADD COLUMN minute TEXT NOT NULL DEFAULT '';
ALTER TABLE agenda_items ADD COLUMN referrer_attended TEXT NOT NULL DEFAULT '';
ALTER TABLE agenda_items ADD COLUMN considered_by BIGINT REFERENCES users(id);
ALTER TABLE agenda_items ADD COLUMN considered_at TEXT;
CREATE TABLE attendance (
    meeting_id BIGINT NOT NULL REFERENCES meetings(id),
    agency_id BIGINT NOT NULL REFERENCES agencies(id),
    status TEXT NOT NULL,
    attendee_id BIGINT REFERENCES users(id),
    recorded_by BIGINT REFERENCES users(id),
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (meeting_id, agency_id)
);
CREATE TABLE item_conflicts (
    item_id BIGINT NOT NULL REFERENCES agenda_items(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    interest TEXT NOT NULL,
    recorded_by BIGINT REFERENCES users(id),
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (item_id, user_id)
);
CREATE TABLE recommendations (
    id INTEGER PRIMARY KEY,
    item_id BIGINT NOT NULL REFERENCES agenda_items(id),
    meeting_id BIGINT NOT NULL REFERENCES meetings(id),
    referral_id BIGINT REFERENCES referrals(id),
    agency_id BIGINT NOT NULL REFERENCES agencies(id),
    due_date TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    responded_by BIGINT REFERENCES users(id),
    responded_at TEXT,
    created_at TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    UNIQUE (item_id, agency_id)
);
CREATE INDEX recommendations_status ON recommendations(status, due_date);
CREATE TABLE actions (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    owner_id BIGINT NOT NULL REFERENCES users(id),
    due_date TEXT NOT NULL,
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    meeting_id BIGINT REFERENCES meetings(id),
    item_id BIGINT REFERENCES agenda_items(id),
    referral_id BIGINT REFERENCES referrals(id),
    recommendation_id BIGINT REFERENCES recommendations(id),
    created_by BIGINT REFERENCES users(id),
    created_at TEXT NOT NULL,
    done_by BIGINT REFERENCES users(id),
    done_at TEXT,
    last_chased_on TEXT,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX actions_owner ON actions(owner_id, status, due_date);
CREATE INDEX actions_due ON actions(status, due_date);
