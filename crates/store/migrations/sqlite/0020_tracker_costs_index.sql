-- The tracker's annual cost per agreement and organisation for one financial
-- year, read from the index alone (the primary key starts with the agreement
-- but then walks every month of every year).
CREATE INDEX committed_costs_agreement_year
    ON committed_costs (agreement_id, financial_year, organisation_id, pence);
