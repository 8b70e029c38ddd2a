-- One page of the tenant's raw records (DESIGN.md, "list_raw_records"),
-- ordered by import then row_number: all of them, those of one import
-- (p_data_import_id), of one flow's import (p_flow_id, any flow ID), and of
-- one outcome (p_outcome: pending, created, matched, conflict, invalid,
-- discarded). Each record carries its raw and cleansed data, so a backend can
-- compute and supply cleansed data or assets for it. The total comes from the
-- counters (migration.record_counts). Page sizes are capped at 200.
CREATE FUNCTION discovery.list_raw_records(
    p_client_account_id uuid,
    p_engagement_id uuid,
    p_data_import_id uuid DEFAULT NULL,
    p_flow_id uuid DEFAULT NULL,
    p_outcome text DEFAULT NULL,
    p_page integer DEFAULT 1,
    p_page_size integer DEFAULT 50
) RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
SET enable_bitmapscan = off
AS $$
DECLARE
    v_page_size integer := discovery._page_size(p_page, p_page_size);
    v_import_id uuid := p_data_import_id;
    v_flow_import_id uuid;
    v_total bigint;
    v_records jsonb;
    v_query text;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    IF p_outcome IS NOT NULL
       AND p_outcome NOT IN ('pending', 'created', 'matched', 'conflict', 'invalid', 'discarded', 'processed') THEN
        PERFORM discovery._raise(
            'WR006', 'unknown outcome', format('p_outcome=%L', p_outcome),
            'Use pending, created, matched, conflict, invalid or discarded (or null for all).');
    END IF;
    IF p_data_import_id IS NOT NULL THEN
        PERFORM discovery._data_import(p_client_account_id, p_engagement_id, p_data_import_id);
    END IF;
    IF p_flow_id IS NOT NULL THEN
        SELECT f.data_import_id INTO v_flow_import_id
          FROM discovery.resolve_flow(p_client_account_id, p_engagement_id, p_flow_id) AS r
          JOIN migration.discovery_flows AS f
            ON f.client_account_id = p_client_account_id
           AND f.id = r.discovery_flow_id;
        IF v_import_id IS NOT NULL AND v_import_id IS DISTINCT FROM v_flow_import_id THEN
            PERFORM discovery._raise(
                'WR006', 'the flow is not the import''s', format('p_flow_id=%s p_data_import_id=%s (the flow''s import '
                                                                 'is %s)', p_flow_id, p_data_import_id, v_flow_import_id),
                'Pass the import, or the flow, or a flow and its own import.');
        END IF;
        v_import_id := v_flow_import_id;
    END IF;

    IF discovery._tenant_verified(p_client_account_id, p_engagement_id) THEN
        SELECT coalesce(sum(c.records), 0) INTO v_total
          FROM migration.record_counts AS c
         WHERE c.client_account_id = p_client_account_id
           AND c.engagement_id = p_engagement_id
           AND (v_import_id IS NULL OR c.data_import_id = v_import_id)
           AND (p_outcome IS NULL OR c.outcome = p_outcome);
    ELSE
        SELECT count(*) INTO v_total
          FROM migration.raw_import_records AS r
         WHERE r.client_account_id = p_client_account_id
           AND r.engagement_id = p_engagement_id
           AND (v_import_id IS NULL OR r.data_import_id = v_import_id)
           AND (p_outcome IS NULL OR migration.record_outcome(r.processing_status, r.is_processed) = p_outcome);
    END IF;

    -- A statement per shape, each served by its own index.
    v_query := format($q$
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'id', r.id, 'data_import_id', r.data_import_id, 'row_number', r.row_number,
                   'processing_status', r.processing_status, 'is_processed', r.is_processed, 'is_valid', r.is_valid,
                   'validation_errors', r.validation_errors, 'processing_notes', r.processing_notes,
                   'asset_id', r.asset_id, 'processed_at', r.processed_at, 'raw_data', r.raw_data,
                   'cleansed_data', r.cleansed_data) ORDER BY r.data_import_id, r.row_number), '[]'::jsonb)
          FROM (SELECT r.*
                  FROM migration.raw_import_records AS r
                 WHERE %s
                   %s %s
                 ORDER BY r.data_import_id, r.row_number
                 LIMIT $5 OFFSET $6) AS r
    $q$,
        -- An import's rare outcomes come from the outcome index (import, outcome,
        -- row): the tenant is then pinned (migration.===, no index takes it), or a planner
        -- whose statistics do not know the tenant walks the import's listing
        -- until it has found a page of them.
        CASE WHEN v_import_id IS NOT NULL AND p_outcome IN ('conflict', 'invalid', 'discarded')
             THEN 'r.client_account_id OPERATOR(migration.===) $1 AND r.engagement_id IS NOT DISTINCT FROM $2'
             ELSE 'r.client_account_id = $1 AND r.engagement_id = $2' END,
        CASE WHEN v_import_id IS NOT NULL THEN 'AND r.data_import_id = $3' ELSE '' END,
        CASE
            WHEN p_outcome IS NULL THEN ''
            WHEN p_outcome = 'pending' THEN 'AND NOT r.is_processed'
            WHEN p_outcome = 'processed' THEN 'AND r.is_processed AND r.processing_status IS NULL'
            ELSE 'AND r.processing_status = $4'
        END);
    EXECUTE v_query INTO v_records
      USING p_client_account_id, p_engagement_id, v_import_id, p_outcome, v_page_size,
            (p_page::bigint - 1) * v_page_size;

    RETURN jsonb_build_object('records', v_records)
           || discovery._pagination(p_page, v_page_size, v_total, p_page_size)
           || jsonb_build_object('filters', jsonb_build_object('data_import_id', v_import_id, 'flow_id', p_flow_id,
                                                              'outcome', p_outcome));
END
$$;
