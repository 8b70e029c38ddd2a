-- Starts the discovery of an import: a master flow and its discovery flow,
-- and links the import to the master flow; its raw records get the master
-- flow when they are handled (records added later get it at once). An import
-- has one discovery flow: starting it again returns the flow it already has.
CREATE FUNCTION discovery.start_discovery_flow(
    p_client_account_id uuid,
    p_engagement_id uuid,
    p_data_import_id uuid,
    p_flow_name text DEFAULT NULL,
    p_user_id text DEFAULT NULL
) RETURNS TABLE (discovery_flow_id uuid, flow_id uuid, master_flow_id uuid)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    v_import migration.data_imports;
    v_flow_id uuid := gen_random_uuid();
    v_discovery_flow_id uuid := gen_random_uuid();
    v_name text;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    v_import := discovery._data_import(p_client_account_id, p_engagement_id, p_data_import_id, true);

    IF v_import.master_flow_id IS NOT NULL THEN
        RETURN QUERY
        SELECT f.id, f.flow_id, f.master_flow_id
          FROM migration.discovery_flows AS f
         WHERE f.client_account_id = p_client_account_id
           AND f.engagement_id = p_engagement_id
           AND f.master_flow_id = v_import.master_flow_id
         ORDER BY f.created_at
         LIMIT 1;
        IF FOUND THEN
            RETURN;
        END IF;
    END IF;

    v_name := coalesce(nullif(btrim(p_flow_name), ''), 'Discovery of ' || v_import.import_name);

    INSERT INTO migration.crewai_flow_state_extensions (
        client_account_id, engagement_id, flow_id, flow_type, flow_name, flow_status, user_id,
        flow_persistence_data
    )
    VALUES (
        p_client_account_id, p_engagement_id, v_flow_id, 'discovery', v_name, 'active', p_user_id,
        jsonb_build_object('data_import_id', p_data_import_id, 'discovery_flow_id', v_discovery_flow_id)
    );

    INSERT INTO migration.discovery_flows (
        client_account_id, engagement_id, id, flow_id, master_flow_id, data_import_id,
        flow_name, user_id, current_phase, data_import_completed
    )
    VALUES (
        p_client_account_id, p_engagement_id, v_discovery_flow_id, v_flow_id, v_flow_id,
        p_data_import_id, v_name, p_user_id, 'field_mapping', true
    );

    UPDATE migration.data_imports AS i
       SET master_flow_id = v_flow_id,
           updated_at = now()
     WHERE i.client_account_id = p_client_account_id
       AND i.id = p_data_import_id;

    RETURN QUERY SELECT v_discovery_flow_id, v_flow_id, v_flow_id;
END
$$;
