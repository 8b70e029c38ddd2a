-- The set-based wiring check of inserted assets looks each asset's flow and
-- raw record up by exactly the primary key and compares the rest after.
--
-- 0003's version asked EXISTS (client, id, engagement, ...) of each inserted
-- asset. On a table with no statistics yet (a first import) or with
-- statistics that do not know the tenant, (client_account_id, engagement_id)
-- ties with the primary key and the planner walked the tenant's listing index
-- once per asset: 5.6 s for 2,620 assets of a first import, quadratic in
-- the batch. A scalar subquery that names only the primary key can be
-- answered by no other index as cheaply.
--
-- depends: 0003_identity_reconciliation_counters

-- AFTER INSERT, once per statement: the inserted flow-based assets that are
-- not wired at the end of their statement must be by COMMIT. They are noted,
-- and touched, which queues the deferred per-row check for them alone.
CREATE OR REPLACE FUNCTION migration.assets_check_inserted() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    WITH unwired AS MATERIALIZED (
        SELECT i.client_account_id, i.id
          FROM inserted AS i
         WHERE i.discovery_method = 'flow_based'
           AND NOT (coalesce((
                        SELECT f.engagement_id = i.engagement_id AND f.master_flow_id = i.master_flow_id
                          FROM migration.discovery_flows AS f
                         WHERE f.client_account_id = i.client_account_id
                           AND f.id = i.discovery_flow_id), FALSE)
                    AND coalesce((
                        SELECT r.engagement_id = i.engagement_id AND r.asset_id = i.id
                          FROM migration.raw_import_records AS r
                         WHERE r.client_account_id = i.client_account_id
                           AND r.id = i.raw_import_records_id), FALSE))
    ),
    noted AS (
        INSERT INTO migration.assets_wired_in_transaction (client_account_id, transaction_id, asset_id)
        SELECT u.client_account_id, pg_catalog.pg_current_xact_id(), u.id
          FROM unwired AS u
        ON CONFLICT DO NOTHING
    )
    UPDATE migration.assets AS a
       SET discovery_flow_id = a.discovery_flow_id
      FROM unwired AS u
     WHERE a.client_account_id = u.client_account_id
       AND a.id = u.id;
    RETURN NULL;
END
$$;
