-- Maps any flow ID of the tenant (a discovery_flows.id, its public flow_id,
-- or the master flow's flow_id, which equals it) to all three; WR002 when the
-- tenant has no such flow.
CREATE FUNCTION discovery.resolve_flow(
    p_client_account_id uuid,
    p_engagement_id uuid,
    p_any_flow_id uuid
) RETURNS TABLE (discovery_flow_id uuid, flow_id uuid, master_flow_id uuid)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
#variable_conflict use_column
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    RETURN QUERY
    SELECT f.id, f.flow_id, f.master_flow_id
      FROM migration.discovery_flows AS f
     WHERE f.client_account_id = p_client_account_id
       AND f.engagement_id = p_engagement_id
       AND (f.id = p_any_flow_id OR f.flow_id = p_any_flow_id OR f.master_flow_id = p_any_flow_id)
     ORDER BY (f.id = p_any_flow_id) DESC, f.created_at
     LIMIT 1;
    IF NOT FOUND THEN
        PERFORM discovery._raise(
            'WR002', 'flow not found in this tenant',
            format('flow id=%s client_account_id=%s engagement_id=%s',
                   p_any_flow_id, p_client_account_id, p_engagement_id),
            'Pass a discovery flow ID, a flow_id or a master flow ID of this client account and engagement.');
    END IF;
END
$$;
