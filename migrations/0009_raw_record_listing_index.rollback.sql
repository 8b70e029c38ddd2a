-- Undoes 0009: the listing index led by tenant and engagement.
DROP INDEX migration.raw_import_records_tenant_listing_idx;
CREATE INDEX raw_import_records_tenant_listing_idx
ON migration.raw_import_records (client_account_id, engagement_id, data_import_id, row_number);
