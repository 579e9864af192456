-- The tracker (SPEC §7) reads each referral's decision in force, its key
-- worker and lead agency by plain joins: kept here when a decision is signed.
ALTER TABLE referrals ADD COLUMN decision_id BIGINT REFERENCES decisions(id);
ALTER TABLE decisions ADD COLUMN key_worker_id BIGINT REFERENCES users(id);
ALTER TABLE decisions ADD COLUMN lead_agency_id BIGINT REFERENCES agencies(id);
CREATE INDEX referrals_submitted ON referrals(submitted_at, id);
CREATE INDEX referrals_status_id ON referrals(status, id);
CREATE INDEX agreements_referral ON agreements(referral_id);
