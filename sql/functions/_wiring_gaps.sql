-- Every wiring gap of one tenant, one row per (kind, object): the kinds are
-- the keys of wiring_health (DESIGN.md), plus raw_records_pending (records of
-- imports whose flow never ran: information, not a gap). Soft-deleted assets
-- are no gap.
--
-- Every cross-table check is a correlated scalar subquery on a primary or
-- unique key, which PostgreSQL runs as one index probe per row and never
-- turns into a join: with stale statistics (a tenant loaded since the last
-- ANALYZE) a planned anti-join scanned the whole tenant once per row.
CREATE FUNCTION discovery._wiring_gaps(p_client_account_id uuid, p_engagement_id uuid)
RETURNS TABLE (gap text, object_id uuid)
LANGUAGE sql
STABLE
AS $$
    WITH live_assets AS MATERIALIZED (
        SELECT a.id, a.discovery_method, a.discovery_flow_id, a.master_flow_id, a.flow_id,
               a.raw_import_records_id,
               (SELECT f.master_flow_id
                  FROM migration.discovery_flows AS f
                 WHERE f.client_account_id = p_client_account_id
                   AND f.engagement_id = p_engagement_id
                   AND f.id = a.discovery_flow_id) AS flow_master_flow_id,
               (SELECT TRUE
                  FROM migration.discovery_flows AS f
                 WHERE f.client_account_id = p_client_account_id
                   AND f.engagement_id = p_engagement_id
                   AND f.id = a.discovery_flow_id) AS flow_found,
               (SELECT r.asset_id IS DISTINCT FROM a.id
                  FROM migration.raw_import_records AS r
                 WHERE r.client_account_id = p_client_account_id
                   AND r.engagement_id = p_engagement_id
                   AND r.id = a.raw_import_records_id) AS raw_disagrees
          FROM migration.assets AS a
         WHERE a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND a.deleted_at IS NULL
    ),
    tenant_raw AS MATERIALIZED (
        SELECT r.id, r.asset_id, r.is_processed, r.processing_status,
               (SELECT TRUE
                  FROM migration.assets AS a
                 WHERE a.client_account_id = p_client_account_id
                   AND a.engagement_id = p_engagement_id
                   AND a.id = r.asset_id) AS asset_found,
               r.data_import_id = ANY (ARRAY(
                   SELECT f.data_import_id
                     FROM migration.discovery_flows AS f
                    WHERE f.client_account_id = p_client_account_id
                      AND f.engagement_id = p_engagement_id
                      AND f.data_import_id IS NOT NULL
                      AND EXISTS (SELECT FROM migration.asset_inventory_runs AS run
                                   WHERE run.client_account_id = f.client_account_id
                                     AND run.discovery_flow_id = f.id))) AS flow_has_run
          FROM migration.raw_import_records AS r
         WHERE r.client_account_id = p_client_account_id
           AND r.engagement_id = p_engagement_id
    )
    SELECT 'assets_missing_discovery_flow_id', a.id
      FROM live_assets AS a
     WHERE a.discovery_method = 'flow_based' AND a.discovery_flow_id IS NULL
    UNION ALL
    SELECT 'assets_with_unknown_discovery_flow_id', a.id
      FROM live_assets AS a
     WHERE a.discovery_flow_id IS NOT NULL AND a.flow_found IS NULL
    UNION ALL
    SELECT 'assets_with_mismatched_master_flow_id', a.id
      FROM live_assets AS a
     WHERE a.flow_found AND a.master_flow_id IS DISTINCT FROM a.flow_master_flow_id
    UNION ALL
    SELECT 'assets_missing_raw_import_id', a.id
      FROM live_assets AS a
     WHERE a.discovery_method = 'flow_based' AND a.raw_import_records_id IS NULL
    UNION ALL
    SELECT 'assets_with_orphan_raw_ref', a.id
      FROM live_assets AS a
     WHERE a.raw_import_records_id IS NOT NULL AND a.raw_disagrees IS NULL
    UNION ALL
    SELECT 'links_disagree', a.id
      FROM live_assets AS a
     WHERE a.raw_disagrees
    UNION ALL
    SELECT 'raw_records_missing_asset_id', r.id
      FROM tenant_raw AS r
     WHERE r.asset_id IS NULL AND NOT r.is_processed AND r.flow_has_run
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
     WHERE r.asset_id IS NOT NULL AND r.asset_found IS NULL
    UNION ALL
    SELECT 'assets_with_legacy_flow_id_only', a.id
      FROM live_assets AS a
     WHERE a.flow_id IS NOT NULL AND a.discovery_flow_id IS NULL
    UNION ALL
    SELECT 'raw_records_pending', r.id
      FROM tenant_raw AS r
     WHERE NOT r.is_processed AND NOT r.flow_has_run;
$$;
