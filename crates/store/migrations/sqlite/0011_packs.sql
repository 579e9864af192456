-- Paper packs (SPEC §4): one pack per meeting, built in the background with
-- its progress, stored as a content-addressed file; one copy per member and
-- deputy invited, stamped with their name when they open it. Copies end at the
-- meeting's close except the chair's and the lead members' (kept).
CREATE TABLE packs (
    id INTEGER PRIMARY KEY,
    meeting_id BIGINT NOT NULL UNIQUE REFERENCES meetings(id),
    status TEXT NOT NULL,
    done BIGINT NOT NULL DEFAULT 0,
    total BIGINT NOT NULL DEFAULT 0,
    pages BIGINT NOT NULL DEFAULT 0,
    sha256 TEXT,
    error TEXT NOT NULL DEFAULT '',
    circulated_on TEXT NOT NULL,
    requested_by BIGINT REFERENCES users(id),
    requested_at TEXT NOT NULL,
    worker TEXT,
    lease_until TEXT,
    finished_at TEXT
);
CREATE INDEX packs_status ON packs(status);
CREATE TABLE pack_copies (
    pack_id BIGINT NOT NULL REFERENCES packs(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    kept BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (pack_id, user_id)
);
