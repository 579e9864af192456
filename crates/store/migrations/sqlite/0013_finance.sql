-- Committed cost per agreement × paying organisation × month (SPEC §6, §7):
-- kept in the same transaction as every change to an agreement, so finance
-- pages read sums instead of recomputing every agreement. `committed` is
-- false while the agreement is pending (a higher authority, an absent agency).
CREATE TABLE committed_costs (
    agreement_id BIGINT NOT NULL REFERENCES agreements(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    panel_id BIGINT NOT NULL REFERENCES panels(id),
    year BIGINT NOT NULL,
    month BIGINT NOT NULL,
    financial_year BIGINT NOT NULL,
    pence BIGINT NOT NULL,
    committed BOOLEAN NOT NULL,
    PRIMARY KEY (agreement_id, organisation_id, year, month)
);
CREATE INDEX committed_costs_org_year ON committed_costs(organisation_id, financial_year);
CREATE INDEX committed_costs_panel_year ON committed_costs(panel_id, financial_year);
