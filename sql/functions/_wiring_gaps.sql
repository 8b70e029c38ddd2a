-- Every wiring gap of one tenant, one row per (kind, object): the kinds are
-- the keys of wiring_health (DESIGN.md), plus raw_records_pending (records of
-- imports whose flow never ran: information, not a gap). Soft-deleted assets
-- are no gap. Each branch reads the tables themselves (no shared CTE), so
-- every lookup uses an index.
CREATE FUNCTION discovery._wiring_gaps(p_client_account_id uuid, p_engagement_id uuid)
RETURNS TABLE (gap text, object_id uuid)
LANGUAGE sql
STABLE
AS $$
    SELECT 'assets_missing_discovery_flow_id', a.id
      FROM migration.assets AS a
     WHERE a.client_account_id = p_client_account_id
       AND a.engagement_id = p_engagement_id
       AND a.deleted_at IS NULL
       AND a.discovery_method = 'flow_based'
       AND a.discovery_flow_id IS NULL
    UNION ALL
    SELECT 'assets_with_unknown_discovery_flow_id', a.id
      FROM migration.assets AS a
     WHERE a.client_account_id = p_client_account_id
       AND a.engagement_id = p_engagement_id
       AND a.deleted_at IS NULL
       AND a.discovery_flow_id IS NOT NULL
       AND NOT EXISTS (
           SELECT FROM migration.discovery_flows AS f
            WHERE f.client_account_id = p_client_account_id
              AND f.engagement_id = p_engagement_id
              AND f.id = a.discovery_flow_id)
    UNION ALL
    SELECT 'assets_with_mismatched_master_flow_id', a.id
      FROM migration.assets AS a
      JOIN migration.discovery_flows AS f
        ON f.client_account_id = a.client_account_id
       AND f.engagement_id = a.engagement_id
       AND f.id = a.discovery_flow_id
     WHERE a.client_account_id = p_client_account_id
       AND a.engagement_id = p_engagement_id
       AND a.deleted_at IS NULL
       AND a.master_flow_id IS DISTINCT FROM f.master_flow_id
    UNION ALL
    SELECT 'assets_missing_raw_import_id', a.id
      FROM migration.assets AS a
     WHERE a.client_account_id = p_client_account_id
       AND a.engagement_id = p_engagement_id
       AND a.deleted_at IS NULL
       AND a.discovery_method = 'flow_based'
       AND a.raw_import_records_id IS NULL
    UNION ALL
    SELECT 'assets_with_orphan_raw_ref', a.id
      FROM migration.assets AS a
     WHERE a.client_account_id = p_client_account_id
       AND a.engagement_id = p_engagement_id
       AND a.deleted_at IS NULL
       AND a.raw_import_records_id IS NOT NULL
       AND NOT EXISTS (
           SELECT FROM migration.raw_import_records AS r
            WHERE r.client_account_id = p_client_account_id
              AND r.engagement_id = p_engagement_id
              AND r.id = a.raw_import_records_id)
    UNION ALL
    SELECT 'links_disagree', a.id
      FROM migration.assets AS a
      JOIN migration.raw_import_records AS r
        ON r.client_account_id = a.client_account_id
       AND r.engagement_id = a.engagement_id
       AND r.id = a.raw_import_records_id
     WHERE a.client_account_id = p_client_account_id
       AND a.engagement_id = p_engagement_id
       AND a.deleted_at IS NULL
       AND r.asset_id IS DISTINCT FROM a.id
    UNION ALL
    SELECT 'raw_records_missing_asset_id', r.id
      FROM migration.raw_import_records AS r
     WHERE r.client_account_id = p_client_account_id
       AND r.engagement_id = p_engagement_id
       AND r.asset_id IS NULL
       AND NOT r.is_processed
       AND r.data_import_id IN (
           SELECT f.data_import_id
             FROM migration.discovery_flows AS f
             JOIN migration.asset_inventory_runs AS run
               ON run.client_account_id = f.client_account_id
              AND run.discovery_flow_id = f.id
            WHERE f.client_account_id = p_client_account_id
              AND f.engagement_id = p_engagement_id)
    UNION ALL
    SELECT 'processed_records_missing_asset_id', r.id
      FROM migration.raw_import_records AS r
     WHERE r.client_account_id = p_client_account_id
       AND r.engagement_id = p_engagement_id
       AND r.asset_id IS NULL
       AND r.is_processed
       AND r.processing_status IS DISTINCT FROM 'invalid'
       AND r.processing_status IS DISTINCT FROM 'conflict'
    UNION ALL
    SELECT 'raw_with_orphan_asset_ref', r.id
      FROM migration.raw_import_records AS r
     WHERE r.client_account_id = p_client_account_id
       AND r.engagement_id = p_engagement_id
       AND r.asset_id IS NOT NULL
       AND NOT EXISTS (
           SELECT FROM migration.assets AS a
            WHERE a.client_account_id = p_client_account_id
              AND a.engagement_id = p_engagement_id
              AND a.id = r.asset_id)
    UNION ALL
    SELECT 'assets_with_legacy_flow_id_only', a.id
      FROM migration.assets AS a
     WHERE a.client_account_id = p_client_account_id
       AND a.engagement_id = p_engagement_id
       AND a.deleted_at IS NULL
       AND a.flow_id IS NOT NULL
       AND a.discovery_flow_id IS NULL
    UNION ALL
    SELECT 'raw_records_pending', r.id
      FROM migration.raw_import_records AS r
     WHERE r.client_account_id = p_client_account_id
       AND r.engagement_id = p_engagement_id
       AND NOT r.is_processed
       AND r.data_import_id NOT IN (
           SELECT f.data_import_id
             FROM migration.discovery_flows AS f
             JOIN migration.asset_inventory_runs AS run
               ON run.client_account_id = f.client_account_id
              AND run.discovery_flow_id = f.id
            WHERE f.client_account_id = p_client_account_id
              AND f.engagement_id = p_engagement_id
              AND f.data_import_id IS NOT NULL);
$$;
