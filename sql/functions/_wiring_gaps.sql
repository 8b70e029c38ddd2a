-- Every wiring gap of one tenant, one row per (kind, object): the kinds are
-- the keys of wiring_health (DESIGN.md), plus raw_records_pending (records not
-- processed that no run has covered yet: information, not a gap).
-- Soft-deleted assets and discarded records are no gap.
--
-- p_full false looks only where a gap can be (discovery.wiring_health):
-- in a tenant never written in replica mode, the foreign keys (enforced for
-- every write, even NOT VALID) rule out orphan references and unknown flows,
-- and the wiring triggers rule out a live flow-based asset whose links
-- disagree at COMMIT, so only the assets of migration.assets_wiring_suspects_idx
-- (unwired, legacy, or not flow-based with a raw record) and the records of
-- raw_import_records_wiring_suspects_idx can be gaps, besides the records a
-- run left behind; raw_records_pending then comes from the counters and is not
-- listed. p_full true checks every row.
--
-- The records a run left behind are read from the partial index of
-- unprocessed records, for the tenant's imports that the counters say still
-- have some (none, usually: no index is read), as an array, and compared
-- with their flow's watermark and tenant after: with the tenant or an import
-- as a constant, a planner whose statistics do not know them yet preferred
-- the index of every row of the import (60,000 rows read per import of a
-- 100,000-asset tenant).
--
-- Every cross-table check is a correlated scalar subquery on a primary or
-- unique key, which PostgreSQL runs as one index probe per row and never
-- turns into a join: with stale statistics (a tenant loaded since the last
-- ANALYZE) a planned anti-join scanned the whole tenant once per row.
CREATE FUNCTION discovery._wiring_gaps(p_client_account_id uuid, p_engagement_id uuid, p_full boolean)
RETURNS TABLE (gap text, object_id uuid)
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    RETURN QUERY EXECUTE format($gaps$
        WITH flows AS MATERIALIZED (
            -- the row a flow's runs covered (all rows for a legacy flow that ran before runs recorded it)
            SELECT f.client_account_id, f.id, f.data_import_id,
                   coalesce(f.inventory_watermark,
                            CASE WHEN EXISTS (SELECT FROM migration.asset_inventory_runs AS run
                                               WHERE run.client_account_id = $1
                                                 AND run.discovery_flow_id = f.id)
                                 THEN 2147483647 END) AS watermark
              FROM migration.discovery_flows AS f
             WHERE f.client_account_id = $1
               AND f.engagement_id = $2
               AND f.data_import_id IS NOT NULL
        ),
        live_assets AS MATERIALIZED (
            SELECT a.id, a.discovery_method, a.discovery_flow_id, a.master_flow_id, a.flow_id,
                   a.raw_import_records_id,
                   (SELECT f.master_flow_id
                      FROM migration.discovery_flows AS f
                     WHERE f.client_account_id = $1
                       AND f.engagement_id = $2
                       AND f.id = a.discovery_flow_id) AS flow_master_flow_id,
                   (SELECT TRUE
                      FROM migration.discovery_flows AS f
                     WHERE f.client_account_id = $1
                       AND f.engagement_id = $2
                       AND f.id = a.discovery_flow_id) AS flow_found,
                   (SELECT r.asset_id IS DISTINCT FROM a.id
                      FROM migration.raw_import_records AS r
                     WHERE r.client_account_id = $1
                       AND r.engagement_id = $2
                       AND r.id = a.raw_import_records_id) AS raw_disagrees
              FROM migration.assets AS a
             WHERE a.client_account_id = $1
               AND a.engagement_id = $2
               AND a.deleted_at IS NULL
               %1$s
        ),
        tenant_raw AS MATERIALIZED (
            SELECT r.id, r.asset_id, r.is_processed, r.processing_status,
                   (SELECT TRUE
                      FROM migration.assets AS a
                     WHERE a.client_account_id = $1
                       AND a.engagement_id = $2
                       AND a.id = r.asset_id) AS asset_found
              FROM migration.raw_import_records AS r
             WHERE r.client_account_id = $1
               AND r.engagement_id = $2
               %2$s
        ),
        unprocessed AS MATERIALIZED (
            %3$s
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
        SELECT 'raw_records_missing_asset_id', u.id
          FROM unprocessed AS u
         WHERE u.left_behind
        UNION ALL
        SELECT 'processed_records_missing_asset_id', r.id
          FROM tenant_raw AS r
         WHERE r.asset_id IS NULL
           AND r.is_processed
           AND r.processing_status IS DISTINCT FROM 'invalid'
           AND r.processing_status IS DISTINCT FROM 'conflict'
           AND r.processing_status IS DISTINCT FROM 'discarded'
        UNION ALL
        SELECT 'raw_with_orphan_asset_ref', r.id
          FROM tenant_raw AS r
         WHERE r.asset_id IS NOT NULL AND r.asset_found IS NULL
        UNION ALL
        SELECT 'assets_with_legacy_flow_id_only', a.id
          FROM live_assets AS a
         WHERE a.flow_id IS NOT NULL AND a.discovery_flow_id IS NULL
        UNION ALL
        SELECT 'raw_records_pending', u.id
          FROM unprocessed AS u
         WHERE u.left_behind IS NOT TRUE
    $gaps$,
        CASE WHEN p_full THEN '' ELSE
            'AND ((a.discovery_method = ''flow_based'' AND (a.discovery_flow_id IS NULL OR a.master_flow_id IS NULL '
            'OR a.raw_import_records_id IS NULL)) OR (a.discovery_flow_id IS NOT NULL AND a.master_flow_id IS NULL) '
            'OR (a.flow_id IS NOT NULL AND a.discovery_flow_id IS NULL) '
            'OR (a.raw_import_records_id IS NOT NULL AND a.discovery_method IS DISTINCT FROM ''flow_based''))' END,
        CASE WHEN p_full THEN '' ELSE
            'AND r.asset_id IS NULL AND r.is_processed AND (r.processing_status IS NULL '
            'OR r.processing_status NOT IN (''invalid'', ''conflict'', ''discarded''))' END,
        CASE WHEN p_full THEN
            'SELECT r.id, r.row_number <= (SELECT max(f.watermark) FROM flows AS f '
            'WHERE f.data_import_id = r.data_import_id) AS left_behind '
            'FROM migration.raw_import_records AS r '
            'WHERE r.client_account_id = $1 AND r.engagement_id = $2 AND NOT r.is_processed'
        ELSE
            'SELECT r.id, TRUE AS left_behind FROM migration.raw_import_records AS r '
            'WHERE r.data_import_id = ANY (ARRAY(SELECT f.data_import_id FROM flows AS f '
            'WHERE f.watermark IS NOT NULL AND EXISTS (SELECT FROM migration.record_counts AS c '
            'WHERE c.client_account_id = $1 AND c.engagement_id = $2 AND c.data_import_id = f.data_import_id '
            'AND c.outcome = ''pending'' AND c.records > 0))) AND NOT r.is_processed '
            'AND r.client_account_id OPERATOR(migration.===) $1 '
            'AND r.row_number <= (SELECT max(f.watermark) FROM flows AS f '
            'WHERE f.data_import_id = r.data_import_id AND f.client_account_id = r.client_account_id)'
        END)
    USING p_client_account_id, p_engagement_id;
END
$$;
