-- The tenant's wiring report: the ten gap counts of DESIGN.md as top-level
-- keys, health_status ('healthy' when all are zero), raw_records_pending
-- (information, not a gap), the tenant, and with p_detail up to 10 sample
-- IDs per count.
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
    v_report jsonb;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);

    WITH kinds AS (
        SELECT k.kind, k.position
          FROM unnest(discovery._gap_kinds() || 'raw_records_pending'::text)
               WITH ORDINALITY AS k (kind, position)
    ),
    per_kind AS (
        SELECT k.kind, k.position,
               count(g.object_id) AS n,
               coalesce((array_agg(g.object_id ORDER BY g.object_id)
                             FILTER (WHERE g.object_id IS NOT NULL))[1:10], '{}') AS sample
          FROM kinds AS k
          LEFT JOIN discovery._wiring_gaps(p_client_account_id, p_engagement_id) AS g
            ON g.gap = k.kind
         GROUP BY k.kind, k.position
    )
    SELECT jsonb_object_agg(p.kind, p.n)
           || jsonb_build_object(
                  'health_status',
                  CASE WHEN sum(p.n) FILTER (WHERE p.kind <> 'raw_records_pending') = 0
                       THEN 'healthy' ELSE 'unhealthy' END,
                  'tenant', jsonb_build_object('client_account_id', p_client_account_id,
                                               'engagement_id', p_engagement_id))
           || CASE WHEN p_detail
                   THEN jsonb_build_object('samples', jsonb_object_agg(p.kind, to_jsonb(p.sample)))
                   ELSE '{}'::jsonb END
      INTO v_report
      FROM per_kind AS p;
    RETURN v_report;
END
$$;
