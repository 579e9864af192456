-- Meetings get their practical details (SPEC §4): when they start, where, and
-- the online link; ad-hoc meetings use the same table (kind 'ad-hoc').
ALTER TABLE meetings ADD COLUMN start_time TEXT NOT NULL DEFAULT '10:00';
ALTER TABLE meetings ADD COLUMN venue TEXT NOT NULL DEFAULT '';
ALTER TABLE meetings ADD COLUMN online_link TEXT NOT NULL DEFAULT '';
ALTER TABLE meetings ADD COLUMN created_by BIGINT REFERENCES users(id);
