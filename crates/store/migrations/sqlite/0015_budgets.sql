-- Budgets per organisation × panel × financial year, and actual spend
-- recorded against agreements (SPEC §6): committed vs budget vs actual.
CREATE TABLE budgets (
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    panel_id BIGINT NOT NULL REFERENCES panels(id),
    financial_year BIGINT NOT NULL,
    pence BIGINT NOT NULL,
    updated_by BIGINT REFERENCES users(id),
    updated_at TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (organisation_id, panel_id, financial_year)
);
CREATE TABLE spend (
    id INTEGER PRIMARY KEY,
    agreement_id BIGINT NOT NULL REFERENCES agreements(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    panel_id BIGINT NOT NULL REFERENCES panels(id),
    year BIGINT NOT NULL,
    month BIGINT NOT NULL,
    financial_year BIGINT NOT NULL,
    pence BIGINT NOT NULL,
    reference TEXT NOT NULL,
    recorded_by BIGINT REFERENCES users(id),
    recorded_at TEXT NOT NULL
);
CREATE INDEX spend_year ON spend(financial_year, organisation_id);
CREATE INDEX spend_agreement ON spend(agreement_id);
