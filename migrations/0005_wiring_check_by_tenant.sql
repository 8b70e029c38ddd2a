-- The statement-level wiring check of inserted assets (0003), written so that
-- it also runs on a shard of a Citus cluster: there a trigger's statements on
-- the tenant tables go through the distributed planner, which routes a
-- statement to one shard only when every tenant table in it is filtered by a
-- constant (or a variable) tenant, and cannot join a transition table to a
-- distributed table. So the inserted rows are read per tenant into ID arrays,
-- and the lookups are driven from those arrays with the tenant as a variable;
-- on one server the plan is the same primary-key probes as before.
-- depends: 0003_identity_reconciliation_counters

CREATE OR REPLACE FUNCTION migration.assets_check_inserted() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tenant uuid;
    v_ids uuid[];
    v_engagements uuid[];
    v_flows uuid[];
    v_masters uuid[];
    v_raws uuid[];
    v_unwired uuid[];
    v_xid xid8 := pg_catalog.pg_current_xact_id();
BEGIN
    -- one pass per tenant in the statement (an API call writes one)
    FOR v_tenant IN
        SELECT DISTINCT i.client_account_id FROM inserted AS i WHERE i.discovery_method = 'flow_based'
    LOOP
        SELECT array_agg(i.id), array_agg(i.engagement_id), array_agg(i.discovery_flow_id),
               array_agg(i.master_flow_id), array_agg(i.raw_import_records_id)
          INTO v_ids, v_engagements, v_flows, v_masters, v_raws
          FROM inserted AS i
         WHERE i.client_account_id = v_tenant
           AND i.discovery_method = 'flow_based';
        SELECT array_agg(n.id)
          INTO v_unwired
          FROM unnest(v_ids, v_engagements, v_flows, v_masters, v_raws)
               AS n (id, engagement_id, discovery_flow_id, master_flow_id, raw_import_records_id)
         WHERE NOT (EXISTS (
                        SELECT FROM migration.discovery_flows AS f
                         WHERE f.client_account_id = v_tenant
                           AND f.id = n.discovery_flow_id
                           AND f.engagement_id = n.engagement_id
                           AND f.master_flow_id = n.master_flow_id)
                    AND EXISTS (
                        SELECT FROM migration.raw_import_records AS r
                         WHERE r.client_account_id = v_tenant
                           AND r.id = n.raw_import_records_id
                           AND r.engagement_id = n.engagement_id
                           AND r.asset_id = n.id));
        IF v_unwired IS NOT NULL THEN
            -- noted, and touched, which queues the deferred check for them alone
            INSERT INTO migration.assets_wired_in_transaction (client_account_id, transaction_id, asset_id)
            SELECT v_tenant, v_xid, u.id
              FROM unnest(v_unwired) AS u (id)
            ON CONFLICT DO NOTHING;
            UPDATE migration.assets AS a
               SET discovery_flow_id = a.discovery_flow_id
             WHERE a.client_account_id = v_tenant
               AND a.id = ANY (v_unwired);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
