-- Tracker spreadsheets uploaded for import (SPEC §7): the file, the column
-- mapping, what the check found, and how the import went.
CREATE TABLE imports (
    id INTEGER PRIMARY KEY,
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    content BLOB NOT NULL,
    rows BIGINT NOT NULL,
    status TEXT NOT NULL,
    mapping TEXT NOT NULL DEFAULT '{}',
    problems TEXT NOT NULL DEFAULT '[]',
    summary TEXT NOT NULL DEFAULT '{}',
    error TEXT NOT NULL DEFAULT '',
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    checked_at TEXT,
    finished_at TEXT,
    version BIGINT NOT NULL DEFAULT 1
);
