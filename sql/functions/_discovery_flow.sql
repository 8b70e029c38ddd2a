-- The tenant's discovery flow with this discovery_flows.id, or WR002. When the
-- ID is a flow's public flow_id (the old platform's mix-up) the HINT names the
-- discovery flow ID to use instead.
CREATE FUNCTION discovery._discovery_flow(
    p_client_account_id uuid, p_engagement_id uuid, p_discovery_flow_id uuid
) RETURNS migration.discovery_flows
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    v_flow migration.discovery_flows;
    v_hint text := 'Pass the discovery flow ID (discovery_flows.id) returned by start_discovery_flow; '
                   'discovery.resolve_flow maps any flow ID to it.';
BEGIN
    SELECT f.* INTO v_flow
      FROM migration.discovery_flows AS f
     WHERE f.client_account_id = p_client_account_id
       AND f.engagement_id = p_engagement_id
       AND f.id = p_discovery_flow_id;
    IF FOUND THEN
        RETURN v_flow;
    END IF;
    SELECT f.* INTO v_flow
      FROM migration.discovery_flows AS f
     WHERE f.client_account_id = p_client_account_id
       AND f.engagement_id = p_engagement_id
       AND f.flow_id = p_discovery_flow_id;
    IF FOUND THEN
        v_hint := format('%s is a flow_id (the master flow''s public ID), not a discovery flow ID; '
                         'its discovery flow ID is %s.', p_discovery_flow_id, v_flow.id);
    END IF;
    PERFORM discovery._raise(
        'WR002', 'discovery flow not found in this tenant',
        format('discovery_flow_id=%s client_account_id=%s engagement_id=%s',
               p_discovery_flow_id, p_client_account_id, p_engagement_id),
        v_hint);
    RETURN NULL;
END
$$;
