-- Invariant 3 (DESIGN.md): a flow-based asset is wired when the transaction
-- that writes it commits, whoever writes it, the owner included; and no
-- transaction may commit a change that unwires a wired asset. Enforced by
-- deferred constraint triggers, so a writer may insert the asset and the raw
-- record's back-pointer in any order within its transaction.
--
-- An UPDATE of an asset that was already unwired before it (a row restored
-- from the old platform, being repaired) is exempt: repair_wiring may fix what
-- is certain and leave the rest, and the row is no less wired than before. A
-- BEFORE UPDATE trigger notes such rows, for the rest of the transaction, in
-- the session's temporary table pg_temp.discovery_unwired_before; the deferred
-- check skips them. Any row that was wired when it was updated is checked.
--
-- The trigger functions are SECURITY DEFINER: before PostgreSQL 18 a deferred
-- trigger runs as the role that COMMITs (discovery_app), which may read no
-- table. A violation raises SQLSTATE 23514 (check_violation) naming the
-- constraint, with the asset in DETAIL.
-- depends: 0001_tenant_tables

-- Raises unless the asset, as it stands now, is wired (or is not flow-based).
CREATE FUNCTION migration.assert_asset_wired(
    p_client_account_id uuid, p_asset_id uuid
) RETURNS void
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_asset record;
    v_problem text;
BEGIN
    SELECT a.id, a.engagement_id, a.discovery_method, a.discovery_flow_id,
           a.master_flow_id, a.raw_import_records_id,
           f.master_flow_id AS flow_master_flow_id, (f.id IS NOT NULL) AS flow_found,
           r.asset_id AS raw_asset_id, (r.id IS NOT NULL) AS raw_found
      INTO v_asset
      FROM migration.assets AS a
      LEFT JOIN migration.discovery_flows AS f
        ON f.client_account_id = a.client_account_id
       AND f.engagement_id = a.engagement_id
       AND f.id = a.discovery_flow_id
      LEFT JOIN migration.raw_import_records AS r
        ON r.client_account_id = a.client_account_id
       AND r.engagement_id = a.engagement_id
       AND r.id = a.raw_import_records_id
     WHERE a.client_account_id = p_client_account_id
       AND a.id = p_asset_id;

    IF NOT FOUND OR v_asset.discovery_method IS DISTINCT FROM 'flow_based' THEN
        RETURN;
    END IF;

    v_problem := CASE
        WHEN v_asset.discovery_flow_id IS NULL THEN 'discovery_flow_id is null'
        WHEN NOT v_asset.flow_found THEN 'discovery_flow_id names no discovery flow of its tenant'
        WHEN v_asset.master_flow_id IS DISTINCT FROM v_asset.flow_master_flow_id
            THEN 'master_flow_id differs from its discovery flow''s'
        WHEN v_asset.raw_import_records_id IS NULL THEN 'raw_import_records_id is null'
        WHEN NOT v_asset.raw_found THEN 'raw_import_records_id names no raw record of its tenant'
        WHEN v_asset.raw_asset_id IS DISTINCT FROM v_asset.id
            THEN 'its raw record''s asset_id does not point back to it'
    END;

    IF v_problem IS NOT NULL THEN
        RAISE EXCEPTION 'flow-based asset % is not wired: %', p_asset_id, v_problem
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'assets_flow_based_wired',
                  SCHEMA = 'migration',
                  TABLE = 'assets',
                  DETAIL = format('client_account_id=%s engagement_id=%s asset_id=%s discovery_flow_id=%s raw_import_records_id=%s',
                                  p_client_account_id, v_asset.engagement_id, p_asset_id,
                                  v_asset.discovery_flow_id, v_asset.raw_import_records_id),
                  HINT = 'Create flow-based assets with discovery.create_assets_from_discovery, '
                         'or set discovery_flow_id, master_flow_id, raw_import_records_id and the raw '
                         'record''s asset_id in the same transaction.';
    END IF;
END
$$;

CREATE FUNCTION migration.assets_check_wired() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.discovery_method = 'flow_based'
       AND NEW.discovery_method IS DISTINCT FROM 'flow_based' THEN
        RAISE EXCEPTION 'flow-based asset % cannot stop being flow-based', NEW.id
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'assets_flow_based_wired',
                  SCHEMA = 'migration',
                  TABLE = 'assets',
                  DETAIL = format('asset_id=%s discovery_method=%s', NEW.id, NEW.discovery_method),
                  HINT = 'Soft-delete the asset (deleted_at) instead of changing its discovery_method.';
    END IF;
    -- Two IFs: the inner query may only be planned once the table exists.
    IF TG_OP = 'UPDATE' AND pg_catalog.to_regclass('pg_temp.discovery_unwired_before') IS NOT NULL THEN
        IF EXISTS (SELECT FROM pg_temp.discovery_unwired_before AS u
                    WHERE u.client_account_id = NEW.client_account_id AND u.asset_id = NEW.id) THEN
            RETURN NULL;
        END IF;
    END IF;
    PERFORM migration.assert_asset_wired(NEW.client_account_id, NEW.id);
    RETURN NULL;
END
$$;

-- Notes, before an asset's link columns change, whether it was already
-- unwired (see the header). Runs as the statement runs, so it sees the row's
-- links as they were just before this change.
CREATE FUNCTION migration.assets_note_unwired_before() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF OLD.discovery_method = 'flow_based' AND NOT EXISTS (
        SELECT FROM migration.discovery_flows AS f
          JOIN migration.raw_import_records AS r
            ON r.client_account_id = OLD.client_account_id
           AND r.engagement_id = OLD.engagement_id
           AND r.id = OLD.raw_import_records_id
           AND r.asset_id = OLD.id
         WHERE f.client_account_id = OLD.client_account_id
           AND f.engagement_id = OLD.engagement_id
           AND f.id = OLD.discovery_flow_id
           AND f.master_flow_id = OLD.master_flow_id
    ) THEN
        CREATE TEMPORARY TABLE IF NOT EXISTS discovery_unwired_before (
            client_account_id uuid NOT NULL,
            asset_id uuid NOT NULL,
            PRIMARY KEY (client_account_id, asset_id)
        ) ON COMMIT DELETE ROWS;
        INSERT INTO pg_temp.discovery_unwired_before (client_account_id, asset_id)
        VALUES (OLD.client_account_id, OLD.id)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NEW;
END
$$;

-- A raw record that loses or changes its back-pointer, or is deleted, may
-- unwire the asset it pointed to.
CREATE FUNCTION migration.raw_import_records_check_wired() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM migration.assert_asset_wired(OLD.client_account_id, OLD.asset_id);
    RETURN NULL;
END
$$;

-- No new row writes the legacy assets.flow_id (DESIGN.md, ID meanings).
CREATE FUNCTION migration.assets_reject_legacy_flow_id() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'assets.flow_id is legacy and may not be written'
        USING ERRCODE = 'check_violation',
              CONSTRAINT = 'assets_legacy_flow_id_read_only',
              SCHEMA = 'migration',
              TABLE = 'assets',
              DETAIL = format('asset_id=%s flow_id=%s', NEW.id, NEW.flow_id),
              HINT = 'Set discovery_flow_id (a discovery_flows.id) and master_flow_id instead.';
END
$$;

CREATE CONSTRAINT TRIGGER assets_flow_based_wired_on_insert
AFTER INSERT ON migration.assets
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
WHEN (new.discovery_method = 'flow_based')
EXECUTE FUNCTION migration.assets_check_wired();

CREATE CONSTRAINT TRIGGER assets_flow_based_wired_on_update
AFTER UPDATE OF discovery_method, discovery_flow_id, master_flow_id, raw_import_records_id,
client_account_id, engagement_id, id
ON migration.assets
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
WHEN (new.discovery_method = 'flow_based' OR old.discovery_method = 'flow_based')
EXECUTE FUNCTION migration.assets_check_wired();

CREATE TRIGGER assets_note_unwired_before_update
BEFORE UPDATE OF discovery_method, discovery_flow_id, master_flow_id, raw_import_records_id,
client_account_id, engagement_id, id
ON migration.assets
FOR EACH ROW
WHEN (old.discovery_method = 'flow_based')
EXECUTE FUNCTION migration.assets_note_unwired_before();

CREATE CONSTRAINT TRIGGER raw_import_records_keep_asset_wired
AFTER UPDATE OF asset_id, id, client_account_id, engagement_id OR DELETE
ON migration.raw_import_records
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
WHEN (old.asset_id IS NOT NULL)
EXECUTE FUNCTION migration.raw_import_records_check_wired();

CREATE TRIGGER assets_legacy_flow_id_on_insert
BEFORE INSERT ON migration.assets
FOR EACH ROW
WHEN (new.flow_id IS NOT NULL)
EXECUTE FUNCTION migration.assets_reject_legacy_flow_id();

CREATE TRIGGER assets_legacy_flow_id_on_update
BEFORE UPDATE OF flow_id ON migration.assets
FOR EACH ROW
WHEN (new.flow_id IS NOT NULL AND new.flow_id IS DISTINCT FROM old.flow_id)
EXECUTE FUNCTION migration.assets_reject_legacy_flow_id();

ALTER FUNCTION migration.assert_asset_wired(uuid, uuid) OWNER TO discovery_owner;
ALTER FUNCTION migration.assets_check_wired() OWNER TO discovery_owner;
ALTER FUNCTION migration.raw_import_records_check_wired() OWNER TO discovery_owner;
ALTER FUNCTION migration.assets_reject_legacy_flow_id() OWNER TO discovery_owner;
ALTER FUNCTION migration.assets_note_unwired_before() OWNER TO discovery_owner;
REVOKE ALL ON FUNCTION migration.assert_asset_wired(uuid, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION migration.assets_check_wired() FROM PUBLIC;
REVOKE ALL ON FUNCTION migration.raw_import_records_check_wired() FROM PUBLIC;
REVOKE ALL ON FUNCTION migration.assets_reject_legacy_flow_id() FROM PUBLIC;
REVOKE ALL ON FUNCTION migration.assets_note_unwired_before() FROM PUBLIC;
