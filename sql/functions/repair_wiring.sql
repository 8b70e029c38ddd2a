-- Repairs what older code left behind in one tenant, where exactly one
-- answer is right (DESIGN.md, "repair_wiring"), and reports the rest by kind:
--   discovery_flow_id_from_flow_id        a discovery_flow_id holding a flow_id becomes that flow's id;
--   discovery_flow_id_from_legacy_flow_id a null discovery_flow_id taken from the legacy flow_id,
--   discovery_flow_id_from_raw_import     … or from the raw record's import, naming one flow;
--   master_flow_id_from_discovery_flow    master_flow_id follows the discovery flow;
--   asset_origin_from_back_pointer        an asset to which exactly one raw record points gets it as origin;
--   raw_back_pointer_from_asset_origin    a record that one asset names as origin gets the back-pointer;
--   linked_by_identity                    an asset with no record, in a flow whose import holds exactly
--                                         one unlinked record of its identity (hostname, else name),
--                                         is linked to it both ways.
-- Returns {"dry_run", "repaired": {kind: count}, "remaining": {health key:
-- count}, "verified"}: a tenant written in replica mode has its counters
-- recounted, and is verified (back to the fast health checks) once nothing
-- remains.
-- A dry run (the default) does the same work in a subtransaction and rolls it
-- back, so it reports exactly what a real run would do, and writes nothing.
CREATE FUNCTION discovery.repair_wiring(
    p_client_account_id uuid,
    p_engagement_id uuid,
    p_dry_run boolean DEFAULT TRUE
) RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    c_rollback CONSTANT text := 'WR900';
    v_result jsonb;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    PERFORM discovery._assert_flag(p_dry_run, 'p_dry_run');
    BEGIN
        -- Taken in the block: a dry run lets it go when its writes roll back, so a
        -- caller that keeps its transaction open after a dry run holds no import up.
        PERFORM discovery._lock_tenant_assets(p_client_account_id, p_engagement_id);
        v_result := jsonb_build_object(
            'dry_run', p_dry_run,
            'repaired', discovery._repair_wiring(p_client_account_id, p_engagement_id));
        -- A statement of its own, so that its snapshot sees the repairs.
        SELECT v_result || jsonb_build_object('remaining', jsonb_object_agg(k.kind, coalesce(g.n, 0)))
          INTO v_result
          FROM unnest(discovery._gap_kinds()) AS k (kind)
          LEFT JOIN (
              SELECT gaps.gap, count(*) AS n
                FROM discovery._wiring_gaps(p_client_account_id, p_engagement_id, TRUE) AS gaps
               GROUP BY gaps.gap
          ) AS g ON g.gap = k.kind;
        v_result := v_result || jsonb_build_object(
            'verified', discovery._tenant_verified(p_client_account_id, p_engagement_id)
                        OR discovery._verify_tenant(p_client_account_id, p_engagement_id));
        IF p_dry_run THEN
            -- Undo this block's writes; only this exact SQLSTATE is caught.
            RAISE EXCEPTION USING ERRCODE = c_rollback, MESSAGE = 'repair_wiring dry run';
        END IF;
    EXCEPTION
        WHEN SQLSTATE 'WR900' THEN
            NULL;
    END;
    PERFORM migration.check_settled_wiring(p_client_account_id);  -- see create_assets_from_discovery
    RETURN v_result;
END
$$;
