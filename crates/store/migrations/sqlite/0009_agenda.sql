-- A meeting's agenda (SPEC §4): one item per booked referral (and later each
-- review due), in the order the administrator sets, each with its minutes.
CREATE TABLE agenda_items (
    id INTEGER PRIMARY KEY,
    meeting_id INTEGER NOT NULL REFERENCES meetings(id),
    referral_id INTEGER REFERENCES referrals(id),
    kind TEXT NOT NULL,
    position INTEGER NOT NULL,
    minutes INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (meeting_id, referral_id)
);
CREATE INDEX agenda_items_meeting ON agenda_items(meeting_id, position);
ALTER TABLE meetings ADD COLUMN agenda_approved_by BIGINT REFERENCES users(id);
ALTER TABLE meetings ADD COLUMN agenda_approved_at TEXT;
