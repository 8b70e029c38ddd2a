-- Undoes 0005: 0003's wiring check (a deferred check per changed asset, the
-- inserted assets touched to queue theirs).
DROP TRIGGER IF EXISTS raw_import_records_forget_wired_after_update ON migration.raw_import_records;
DROP TRIGGER IF EXISTS assets_flow_based_wired ON migration.wiring_checks_pending;
DROP FUNCTION IF EXISTS migration.raw_import_records_forget_wired();
DROP FUNCTION IF EXISTS migration.check_noted_wiring();

CREATE OR REPLACE FUNCTION migration.note_must_be_wired(p_client_account_id uuid, p_asset_id uuid) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO migration.assets_wired_in_transaction (client_account_id, transaction_id, asset_id)
    VALUES (p_client_account_id, pg_catalog.pg_current_xact_id(), p_asset_id)
    ON CONFLICT DO NOTHING;
END
$$;

DROP FUNCTION IF EXISTS migration.forget_wired(uuid, uuid[]);
DROP FUNCTION IF EXISTS migration.note_must_be_wired_all(uuid, uuid[]);
DROP TABLE IF EXISTS migration.wiring_checks_pending;

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

DROP FUNCTION IF EXISTS migration.wired_assets(uuid, uuid[]);

CREATE FUNCTION migration.check_asset_wired(p_client_account_id uuid, p_asset_id uuid) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_asset record;
    v_problem text;
BEGIN
    DELETE FROM migration.assets_wired_in_transaction AS w
     WHERE w.client_account_id = p_client_account_id
       AND w.transaction_id = pg_catalog.pg_current_xact_id()
       AND w.asset_id = p_asset_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT a.client_account_id, a.engagement_id, a.id, a.discovery_method, a.discovery_flow_id,
           a.master_flow_id, a.raw_import_records_id, a.deleted_at
      INTO v_asset
      FROM migration.assets AS a
     WHERE a.client_account_id = p_client_account_id
       AND a.id = p_asset_id;
    IF NOT FOUND OR v_asset.deleted_at IS NOT NULL THEN
        RETURN;  -- deleted or soft-deleted: no unwired live asset is left behind
    END IF;
    IF v_asset.discovery_method IS DISTINCT FROM 'flow_based' THEN
        v_problem := 'a wired flow-based asset cannot stop being flow-based';
    ELSE
        v_problem := migration.wiring_problem(
            v_asset.client_account_id, v_asset.engagement_id, v_asset.id, v_asset.discovery_method,
            v_asset.discovery_flow_id, v_asset.master_flow_id, v_asset.raw_import_records_id);
    END IF;
    IF v_problem IS NOT NULL THEN
        RAISE EXCEPTION 'flow-based asset % is not wired: %', v_asset.id, v_problem
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'assets_flow_based_wired',
                  SCHEMA = 'migration',
                  TABLE = 'assets',
                  DETAIL = format('client_account_id=%s engagement_id=%s asset_id=%s discovery_flow_id=%s '
                                  'master_flow_id=%s raw_import_records_id=%s',
                                  v_asset.client_account_id, v_asset.engagement_id, v_asset.id,
                                  v_asset.discovery_flow_id, v_asset.master_flow_id,
                                  v_asset.raw_import_records_id),
                  HINT = 'Create flow-based assets with discovery.create_assets_from_discovery, or set '
                         'discovery_flow_id, master_flow_id, raw_import_records_id and the raw record''s '
                         'asset_id in the same transaction; repair legacy rows with discovery.repair_wiring.';
    END IF;
END
$$;

CREATE FUNCTION migration.assets_check_wired() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM migration.check_asset_wired(NEW.client_account_id, NEW.id);
    RETURN NULL;
END
$$;

CREATE FUNCTION migration.raw_import_records_check_wired() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM migration.check_asset_wired(OLD.client_account_id, OLD.asset_id);
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER assets_flow_based_wired_on_update
AFTER UPDATE OF discovery_method, discovery_flow_id, master_flow_id, raw_import_records_id,
client_account_id, engagement_id, id, deleted_at
ON migration.assets
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
WHEN (new.discovery_method = 'flow_based' OR old.discovery_method = 'flow_based')
EXECUTE FUNCTION migration.assets_check_wired();

CREATE CONSTRAINT TRIGGER raw_import_records_keep_asset_wired
AFTER UPDATE OF asset_id, id, client_account_id, engagement_id OR DELETE
ON migration.raw_import_records
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
WHEN (old.asset_id IS NOT NULL)
EXECUTE FUNCTION migration.raw_import_records_check_wired();

DO $owners$
DECLARE
    v_function regprocedure;
BEGIN
    FOR v_function IN
        SELECT p.oid::regprocedure
          FROM pg_catalog.pg_proc AS p
         WHERE p.pronamespace = 'migration'::regnamespace
           AND p.proname IN ('check_asset_wired', 'assets_check_wired', 'raw_import_records_check_wired')
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO discovery_owner', v_function);
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM public', v_function);
    END LOOP;
END
$owners$;
