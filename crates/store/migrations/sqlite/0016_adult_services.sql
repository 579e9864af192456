-- The agency that takes over at 18 (SPEC §7: at 17½ with an active agreement
-- an action goes to adult services), and the transition actions' source.
ALTER TABLE agencies ADD COLUMN adult_services BOOLEAN NOT NULL DEFAULT FALSE;
