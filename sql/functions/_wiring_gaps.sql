-- Every wiring gap of one tenant, one row per (kind, object): the kinds are
-- the keys of wiring_health (DESIGN.md). Soft-deleted assets are no gap.
CREATE FUNCTION discovery._wiring_gaps(p_client_account_id uuid, p_engagement_id uuid)
RETURNS TABLE (gap text, object_id uuid)
LANGUAGE sql
STABLE
AS $$
    WITH live_assets AS (
        SELECT a.*
          FROM migration.assets AS a
         WHERE a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND a.deleted_at IS NULL
    ),
    tenant_raw AS (
        SELECT r.*
          FROM migration.raw_import_records AS r
         WHERE r.client_account_id = p_client_account_id
           AND r.engagement_id = p_engagement_id
    ),
    tenant_flows AS (
        SELECT f.id, f.master_flow_id, f.data_import_id,
               EXISTS (SELECT FROM migration.asset_inventory_runs AS run
                        WHERE run.client_account_id = f.client_account_id
                          AND run.discovery_flow_id = f.id) AS has_run
          FROM migration.discovery_flows AS f
         WHERE f.client_account_id = p_client_account_id
           AND f.engagement_id = p_engagement_id
    )
    SELECT 'assets_missing_discovery_flow_id', a.id
      FROM live_assets AS a
     WHERE a.discovery_method = 'flow_based' AND a.discovery_flow_id IS NULL
    UNION ALL
    SELECT 'assets_with_unknown_discovery_flow_id', a.id
      FROM live_assets AS a
     WHERE a.discovery_flow_id IS NOT NULL
       AND NOT EXISTS (SELECT FROM tenant_flows AS f WHERE f.id = a.discovery_flow_id)
    UNION ALL
    SELECT 'assets_with_mismatched_master_flow_id', a.id
      FROM live_assets AS a
      JOIN tenant_flows AS f ON f.id = a.discovery_flow_id
     WHERE a.master_flow_id IS DISTINCT FROM f.master_flow_id
    UNION ALL
    SELECT 'assets_missing_raw_import_id', a.id
      FROM live_assets AS a
     WHERE a.discovery_method = 'flow_based' AND a.raw_import_records_id IS NULL
    UNION ALL
    SELECT 'assets_with_orphan_raw_ref', a.id
      FROM live_assets AS a
     WHERE a.raw_import_records_id IS NOT NULL
       AND NOT EXISTS (SELECT FROM tenant_raw AS r WHERE r.id = a.raw_import_records_id)
    UNION ALL
    SELECT 'links_disagree', a.id
      FROM live_assets AS a
      JOIN tenant_raw AS r ON r.id = a.raw_import_records_id
     WHERE r.asset_id IS DISTINCT FROM a.id
    UNION ALL
    SELECT 'raw_records_missing_asset_id', r.id
      FROM tenant_raw AS r
     WHERE r.asset_id IS NULL
       AND NOT r.is_processed
       AND EXISTS (SELECT FROM tenant_flows AS f WHERE f.data_import_id = r.data_import_id AND f.has_run)
    UNION ALL
    SELECT 'processed_records_missing_asset_id', r.id
      FROM tenant_raw AS r
     WHERE r.asset_id IS NULL
       AND r.is_processed
       AND r.processing_status IS DISTINCT FROM 'invalid'
       AND r.processing_status IS DISTINCT FROM 'conflict'
    UNION ALL
    SELECT 'raw_with_orphan_asset_ref', r.id
      FROM tenant_raw AS r
     WHERE r.asset_id IS NOT NULL
       AND NOT EXISTS (
           SELECT FROM migration.assets AS a
            WHERE a.client_account_id = p_client_account_id
              AND a.engagement_id = p_engagement_id
              AND a.id = r.asset_id)
    UNION ALL
    SELECT 'assets_with_legacy_flow_id_only', a.id
      FROM live_assets AS a
     WHERE a.flow_id IS NOT NULL AND a.discovery_flow_id IS NULL
    UNION ALL
    -- Information, not a gap: records of imports whose flow never ran.
    SELECT 'raw_records_pending', r.id
      FROM tenant_raw AS r
     WHERE NOT r.is_processed
       AND NOT EXISTS (SELECT FROM tenant_flows AS f WHERE f.data_import_id = r.data_import_id AND f.has_run);
$$;
