-- The tenant's wiring report (DESIGN.md, "wiring_health"): the ten gap counts
-- as top-level keys, health_status ('healthy' when all are zero),
-- raw_records_pending (information, not a gap), import_quality (information
-- for the people running imports), the tenant, and with p_detail up to 10
-- sample IDs per count.
--
-- It answers in milliseconds whatever the tenant's size: it looks only where
-- a gap can be (discovery._wiring_gaps with p_full false) and takes totals from
-- the counters. A tenant written in replica mode (a restore) is checked row by
-- row until repair_wiring verifies it.
CREATE FUNCTION discovery.wiring_health(
    p_client_account_id uuid,
    p_engagement_id uuid,
    p_detail boolean DEFAULT FALSE
) RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    v_full boolean;
    v_report jsonb;
    v_quality jsonb;
    v_pending bigint;
    v_pending_sample uuid[];
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    v_full := NOT discovery._tenant_verified(p_client_account_id, p_engagement_id);

    WITH kinds AS (
        SELECT k.kind, k.position
          FROM unnest(discovery._gap_kinds() || 'raw_records_pending'::text) WITH ORDINALITY AS k (kind, position)
    ),
    per_kind AS (
        SELECT k.kind, k.position,
               count(g.object_id) AS n,
               coalesce((array_agg(g.object_id ORDER BY g.object_id)
                             FILTER (WHERE g.object_id IS NOT NULL))[1:10], '{}') AS sample
          FROM kinds AS k
          LEFT JOIN discovery._wiring_gaps(p_client_account_id, p_engagement_id, v_full) AS g
            ON g.gap = k.kind
         GROUP BY k.kind, k.position
    )
    SELECT jsonb_object_agg(p.kind, p.n)
           || jsonb_build_object(
                  'health_status',
                  CASE WHEN sum(p.n) FILTER (WHERE p.kind <> 'raw_records_pending') = 0
                       THEN 'healthy' ELSE 'unhealthy' END,
                  'tenant', jsonb_build_object('client_account_id', p_client_account_id,
                                               'engagement_id', p_engagement_id),
                  'checked', CASE WHEN v_full THEN 'every row (a restore wrote this tenant; repair_wiring '
                                                   'verifies it)' ELSE 'where gaps can be' END)
           || CASE WHEN p_detail
                   THEN jsonb_build_object('samples', jsonb_object_agg(p.kind, to_jsonb(p.sample)))
                   ELSE '{}'::jsonb END
      INTO v_report
      FROM per_kind AS p;

    IF NOT v_full THEN
        -- not listed by the fast path: the records no run covered yet, from the counters
        SELECT coalesce(sum(c.records), 0) - (v_report ->> 'raw_records_missing_asset_id')::bigint INTO v_pending
          FROM migration.record_counts AS c
         WHERE c.client_account_id = p_client_account_id
           AND c.engagement_id = p_engagement_id
           AND c.outcome = 'pending';
        v_report := v_report || jsonb_build_object('raw_records_pending', v_pending);
        IF p_detail THEN
            SELECT coalesce(array_agg(s.id), '{}') INTO v_pending_sample
              FROM (SELECT r.id
                      FROM migration.raw_import_records AS r
                      LEFT JOIN migration.discovery_flows AS f
                        ON f.client_account_id = r.client_account_id
                       AND f.data_import_id = r.data_import_id
                     WHERE r.client_account_id = p_client_account_id
                       AND r.engagement_id = p_engagement_id
                       AND NOT r.is_processed
                       AND r.row_number > coalesce(f.inventory_watermark, 0)
                     LIMIT 10) AS s;
            v_report := jsonb_set(v_report, '{samples,raw_records_pending}', to_jsonb(v_pending_sample));
        END IF;
    END IF;

    SELECT jsonb_build_object(
               'records_invalid', coalesce(sum(c.records) FILTER (WHERE c.outcome = 'invalid'), 0),
               'records_with_warnings', coalesce(sum(c.records) FILTER (WHERE c.with_warnings
                                                                         AND c.outcome <> 'discarded'), 0),
               'conflicts_pending', coalesce(sum(c.records) FILTER (WHERE c.outcome = 'conflict'), 0),
               'unmapped_columns', (
                   SELECT count(DISTINCT m.source_field)
                     FROM migration.import_field_mappings AS m
                     JOIN migration.data_imports AS i
                       ON i.client_account_id = m.client_account_id
                      AND i.id = m.data_import_id
                    WHERE m.client_account_id = p_client_account_id
                      AND m.engagement_id = p_engagement_id
                      AND i.status <> 'undone'
                      AND m.status = 'approved'
                      AND NOT (m.target_field = ANY (discovery._asset_columns()))
                      AND m.target_field NOT LIKE 'external\_ids._%'))
      INTO v_quality
      FROM migration.record_counts AS c
     WHERE c.client_account_id = p_client_account_id
       AND c.engagement_id = p_engagement_id;
    RETURN v_report || jsonb_build_object('import_quality', v_quality);
END
$$;
