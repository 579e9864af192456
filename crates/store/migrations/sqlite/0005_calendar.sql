-- The working-day calendar (SPEC §2): official bank holiday lists loaded by an
-- administrator (they replace the rule-based days for their years) and the
-- installation's own closure days.
CREATE TABLE bank_holiday_lists (
    region TEXT NOT NULL,
    year INTEGER NOT NULL,
    source TEXT NOT NULL,
    loaded_by INTEGER REFERENCES users(id),
    loaded_at TEXT NOT NULL,
    PRIMARY KEY (region, year)
);
CREATE TABLE bank_holidays (
    region TEXT NOT NULL,
    holiday_date TEXT NOT NULL,
    title TEXT NOT NULL,
    PRIMARY KEY (region, holiday_date)
);
CREATE TABLE closure_days (
    id INTEGER PRIMARY KEY,
    closure_date TEXT NOT NULL UNIQUE,
    reason TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL
);
