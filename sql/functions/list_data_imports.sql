-- One page of the tenant's data imports, newest first (DESIGN.md,
-- "list_data_imports"), each with its outcome counts (from
-- migration.record_counts), its flows and its source profile. Page sizes are
-- capped at 200.
CREATE FUNCTION discovery.list_data_imports(
    p_client_account_id uuid,
    p_engagement_id uuid,
    p_page integer DEFAULT 1,
    p_page_size integer DEFAULT 50
) RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    v_page_size integer := discovery._page_size(p_page, p_page_size);
    v_total bigint;
    v_imports jsonb;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    SELECT count(*) INTO v_total
      FROM migration.data_imports AS i
     WHERE i.client_account_id = p_client_account_id
       AND i.engagement_id = p_engagement_id;

    -- The page is found first, as IDs alone (in the tenant's listing index);
    -- only its imports are then read whole and given their counts and flow
    -- (built in the query that skips the pages before it, they were built for
    -- every import skipped too).
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'id', i.id, 'import_name', i.import_name, 'filename', i.filename,
               'import_type', i.import_type, 'source_system', i.source_system, 'profile', i.profile,
               'status', i.status, 'total_records', i.total_records,
               'outcomes', (
                   SELECT jsonb_build_object(
                              'created', coalesce(sum(c.records) FILTER (WHERE c.outcome = 'created'), 0),
                              'matched', coalesce(sum(c.records) FILTER (WHERE c.outcome = 'matched'), 0),
                              'conflict', coalesce(sum(c.records) FILTER (WHERE c.outcome = 'conflict'), 0),
                              'invalid', coalesce(sum(c.records) FILTER (WHERE c.outcome = 'invalid'), 0),
                              'discarded', coalesce(sum(c.records) FILTER (WHERE c.outcome = 'discarded'), 0),
                              'pending', coalesce(sum(c.records) FILTER (WHERE c.outcome = 'pending'), 0),
                              'with_warnings', coalesce(sum(c.records) FILTER (WHERE c.with_warnings), 0))
                     FROM migration.record_counts AS c
                    WHERE c.client_account_id = p_client_account_id
                      AND c.engagement_id = i.engagement_id
                      AND c.data_import_id = i.id),
               'discovery_flow_id', f.id, 'flow_id', f.flow_id, 'master_flow_id', i.master_flow_id,
               'flow_status', f.status, 'imported_by', i.imported_by, 'created_at', i.created_at,
               'updated_at', i.updated_at)
               ORDER BY i.created_at DESC, i.id DESC), '[]'::jsonb)
      INTO v_imports
      FROM (
        SELECT x.id
          FROM migration.data_imports AS x
         WHERE x.client_account_id = p_client_account_id
           AND x.engagement_id = p_engagement_id
         ORDER BY x.created_at DESC, x.id DESC
         LIMIT v_page_size
        OFFSET (p_page::bigint - 1) * v_page_size
      ) AS page
      JOIN migration.data_imports AS i
        ON i.client_account_id = p_client_account_id
       AND i.id = page.id
      LEFT JOIN LATERAL (
          SELECT f.id, f.flow_id, f.status
            FROM migration.discovery_flows AS f
           WHERE f.client_account_id = p_client_account_id
             AND f.engagement_id = i.engagement_id
             AND f.data_import_id = i.id
           ORDER BY f.created_at
           LIMIT 1) AS f ON TRUE;

    RETURN jsonb_build_object('imports', v_imports)
           || discovery._pagination(p_page, v_page_size, v_total, p_page_size);
END
$$;
