-- Undoes 0017: the insert trigger collects the IDs and checks them with
-- migration.wired_assets again (as 0005 wrote it, with the mode of 0012).
CREATE OR REPLACE FUNCTION migration.assets_check_inserted() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    v_tenant uuid;
    v_ids uuid[];
    v_wired uuid[];
    v_unwired uuid[];
BEGIN
    -- one pass per tenant in the statement (an API call writes one)
    FOR v_tenant IN
        SELECT DISTINCT i.client_account_id FROM inserted AS i WHERE i.discovery_method = 'flow_based'
    LOOP
        SELECT array_agg(i.id)
          INTO v_ids
          FROM inserted AS i
         WHERE i.client_account_id = v_tenant
           AND i.discovery_method = 'flow_based';
        v_wired := migration.wired_assets(v_tenant, v_ids);
        SELECT array_agg(u.id)
          INTO v_unwired
          FROM unnest(v_ids) AS u (id)
         WHERE u.id <> ALL (v_wired);
        IF v_unwired IS NOT NULL THEN
            PERFORM migration.note_must_be_wired_all(v_tenant, v_unwired);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
