-- Undoes 0007: random IDs, and the identity indexes led by the key.
DROP INDEX migration.assets_identity_short_name_idx;
DROP INDEX migration.assets_identity_fqdn_idx;
DROP INDEX migration.assets_identity_ip_idx;
DROP INDEX migration.assets_identity_name_idx;
CREATE INDEX assets_identity_short_name_idx
ON migration.assets (migration.short_name_key(hostname, fqdn), client_account_id, engagement_id)
WHERE deleted_at IS NULL AND (hostname IS NOT NULL OR fqdn IS NOT NULL);
CREATE INDEX assets_identity_fqdn_idx
ON migration.assets (migration.fqdn_key(fqdn), client_account_id, engagement_id)
WHERE deleted_at IS NULL AND fqdn IS NOT NULL;
CREATE INDEX assets_identity_ip_idx
ON migration.assets (migration.ip_key(ip_address), client_account_id, engagement_id)
WHERE deleted_at IS NULL AND ip_address IS NOT NULL;
CREATE INDEX assets_identity_name_idx
ON migration.assets (migration.identity_text(name), client_account_id, engagement_id)
WHERE deleted_at IS NULL AND name IS NOT NULL;

ALTER TABLE migration.assets ALTER COLUMN id SET DEFAULT gen_random_uuid();
ALTER TABLE migration.raw_import_records ALTER COLUMN id SET DEFAULT gen_random_uuid();
ALTER TABLE migration.asset_changes ALTER COLUMN id SET DEFAULT gen_random_uuid();
DROP FUNCTION migration.uuid_v7();
