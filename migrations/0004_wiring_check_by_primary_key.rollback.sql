-- Undoes 0004: 0003's set-based wiring check of inserted assets.

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
           AND NOT (EXISTS (
                        SELECT FROM migration.discovery_flows AS f
                         WHERE f.client_account_id = i.client_account_id
                           AND f.id = i.discovery_flow_id
                           AND f.engagement_id = i.engagement_id
                           AND f.master_flow_id = i.master_flow_id)
                    AND EXISTS (
                        SELECT FROM migration.raw_import_records AS r
                         WHERE r.client_account_id = i.client_account_id
                           AND r.id = i.raw_import_records_id
                           AND r.engagement_id = i.engagement_id
                           AND r.asset_id = i.id))
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
