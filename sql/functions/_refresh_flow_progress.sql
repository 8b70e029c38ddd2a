-- Brings a discovery flow's inventory phase and its import's counters up to
-- date: the phase is complete once no record of the import is unhandled and
-- no conflict of the flow is pending.
CREATE FUNCTION discovery._refresh_flow_progress(
    p_client_account_id uuid, p_engagement_id uuid, p_discovery_flow_id uuid
) RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
    v_complete boolean;
BEGIN
    WITH flow AS (
        SELECT f.id, f.data_import_id
          FROM migration.discovery_flows AS f
         WHERE f.client_account_id = p_client_account_id
           AND f.engagement_id = p_engagement_id
           AND f.id = p_discovery_flow_id
    ),
    progress AS (
        SELECT flow.id, flow.data_import_id,
               NOT EXISTS (
                   SELECT FROM migration.raw_import_records AS r
                    WHERE r.data_import_id = flow.data_import_id
                      AND r.client_account_id = p_client_account_id
                      AND NOT r.is_processed)
               AND NOT EXISTS (
                   SELECT FROM migration.asset_conflict_resolutions AS c
                    WHERE c.discovery_flow_id = flow.id
                      AND c.client_account_id = p_client_account_id
                      AND c.resolution_status = 'pending') AS complete
          FROM flow
    ),
    import_counts AS (
        UPDATE migration.data_imports AS i
           SET processed_records = s.processed,
               failed_records = s.failed,
               status = CASE WHEN s.processed = i.total_records THEN 'completed' ELSE 'processing' END,
               updated_at = now()
          FROM progress,
               LATERAL (
                   SELECT (count(*) FILTER (WHERE r.is_processed))::integer AS processed,
                          (count(*) FILTER (WHERE r.processing_status = 'invalid'))::integer AS failed
                     FROM migration.raw_import_records AS r
                    WHERE r.data_import_id = progress.data_import_id
                      AND r.client_account_id = p_client_account_id
               ) AS s
         WHERE i.client_account_id = p_client_account_id
           AND i.id = progress.data_import_id
        RETURNING 1
    )
    UPDATE migration.discovery_flows AS f
       SET asset_inventory_completed = progress.complete,
           current_phase = CASE WHEN progress.complete THEN 'completed' ELSE 'asset_inventory' END,
           status = CASE WHEN progress.complete THEN 'completed' ELSE 'active' END,
           updated_at = now()
      FROM progress
     WHERE f.client_account_id = p_client_account_id
       AND f.id = progress.id
    RETURNING progress.complete INTO v_complete;
    RETURN coalesce(v_complete, false);
END
$$;
