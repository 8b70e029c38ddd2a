-- Undoes 0011: the raw record's own key to its engagement.
ALTER TABLE migration.raw_import_records
ADD CONSTRAINT raw_import_records_engagement_fkey
FOREIGN KEY (client_account_id, engagement_id)
REFERENCES migration.engagements (client_account_id, id);
