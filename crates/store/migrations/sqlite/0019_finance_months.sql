-- The finance summary per organisation × panel × month (SPEC §6, §7):
-- committed, pending and actually paid, kept by the same transaction as each
-- agreement change (from its committed_costs rows) and each payment, so the
-- finance pages read a few hundred rows whatever the number of agreements.
CREATE TABLE finance_months (
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    panel_id BIGINT NOT NULL REFERENCES panels(id),
    year BIGINT NOT NULL,
    month BIGINT NOT NULL,
    financial_year BIGINT NOT NULL,
    committed BIGINT NOT NULL DEFAULT 0,
    pending BIGINT NOT NULL DEFAULT 0,
    actual BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (organisation_id, panel_id, year, month)
);
CREATE INDEX finance_months_year ON finance_months(financial_year);
INSERT INTO finance_months (organisation_id, panel_id, year, month, financial_year, committed, pending, actual)
SELECT organisation_id, panel_id, year, month, MIN(financial_year),
       CAST(SUM(CASE WHEN committed THEN pence ELSE 0 END) AS BIGINT),
       CAST(SUM(CASE WHEN committed THEN 0 ELSE pence END) AS BIGINT), 0
FROM committed_costs GROUP BY organisation_id, panel_id, year, month;
INSERT INTO finance_months (organisation_id, panel_id, year, month, financial_year, actual)
SELECT organisation_id, panel_id, year, month, MIN(financial_year), CAST(SUM(pence) AS BIGINT)
FROM spend GROUP BY organisation_id, panel_id, year, month
ON CONFLICT (organisation_id, panel_id, year, month) DO UPDATE SET actual = finance_months.actual + excluded.actual;
