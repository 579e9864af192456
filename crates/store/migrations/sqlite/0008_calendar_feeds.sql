-- Each person's iCalendar feed (SPEC §4): a secret address, stored as its
-- SHA-256, that calendar programs poll. Revoked feeds stay as the record.
CREATE TABLE calendar_feeds (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    last_used_at TEXT
);
CREATE INDEX calendar_feeds_user ON calendar_feeds(user_id);
