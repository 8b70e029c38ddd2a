-- Undoes 0016: the two listing indexes in page order again (created_at DESC, id DESC).
DROP INDEX migration.assets_tenant_listing_idx;
CREATE INDEX assets_tenant_listing_idx
ON migration.assets (client_account_id, engagement_id, created_at DESC, id DESC)
WHERE deleted_at IS NULL;

DROP INDEX migration.assets_discovery_flow_idx;
CREATE INDEX assets_discovery_flow_idx
ON migration.assets (discovery_flow_id, created_at DESC, id DESC)
WHERE discovery_flow_id IS NOT NULL;
