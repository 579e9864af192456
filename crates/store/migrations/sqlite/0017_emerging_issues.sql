-- The emerging issues log (seed 002 §3): gaps in provision, pressures and
-- patterns panel members notice, for strategic planning.
CREATE TABLE emerging_issues (
    id INTEGER PRIMARY KEY,
    panel_id BIGINT NOT NULL REFERENCES panels(id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    raised_by BIGINT NOT NULL REFERENCES users(id),
    raised_at TEXT NOT NULL,
    status TEXT NOT NULL,
    outcome TEXT NOT NULL DEFAULT '',
    closed_by BIGINT REFERENCES users(id),
    closed_at TEXT,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX emerging_issues_panel ON emerging_issues(panel_id, status);
