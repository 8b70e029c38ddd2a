-- Invariant 3 (DESIGN.md): a flow-based asset is wired when the transaction
-- that writes it commits, whoever writes it, the owner included; and no
-- transaction may commit a change that unwires a wired asset. Enforced by
-- deferred constraint triggers, so a writer may insert the asset and the raw
-- record's back-pointer in any order within its transaction.
--
-- An UPDATE of an asset that was already unwired before the transaction
-- touched it (a row restored from the old platform, being repaired) may leave
-- it unwired: repair_wiring fixes what is certain and leaves the rest, and the
-- row is no less wired than before. To tell the two apart, BEFORE triggers
-- note, in migration.assets_wired_in_transaction, every asset that was wired
-- when a statement of the transaction changed it or its raw record's
-- back-pointer; the deferred check rejects an asset that is unwired at COMMIT
-- when it was inserted, or noted wired, in this transaction. A row added to
-- that table can only cause a rejection, never prevent one; the check removes
-- the transaction's rows as it passes, so the table stays empty between
-- transactions.
--
-- The trigger functions are SECURITY DEFINER: before PostgreSQL 18 a deferred
-- trigger runs as the role that COMMITs (discovery_app), which may read no
-- table. A violation raises SQLSTATE 23514 (check_violation) naming the
-- constraint, with the asset in DETAIL.
-- depends: 0001_tenant_tables

-- What keeps an asset image (a row of migration.assets, current or OLD) from
-- being wired on the flow side, judged against the tables as they are now:
-- null when it is not flow-based or its flow links are right.
CREATE FUNCTION migration.asset_flow_problem(p_asset migration.assets) RETURNS text
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_master_flow_id uuid;
BEGIN
    IF p_asset.discovery_method IS DISTINCT FROM 'flow_based' THEN
        RETURN NULL;
    END IF;
    IF p_asset.discovery_flow_id IS NULL THEN
        RETURN 'discovery_flow_id is null';
    END IF;
    SELECT f.master_flow_id INTO v_master_flow_id
      FROM migration.discovery_flows AS f
     WHERE f.client_account_id = p_asset.client_account_id
       AND f.engagement_id = p_asset.engagement_id
       AND f.id = p_asset.discovery_flow_id;
    IF NOT FOUND THEN
        RETURN 'discovery_flow_id names no discovery flow of its tenant';
    END IF;
    IF p_asset.master_flow_id IS DISTINCT FROM v_master_flow_id THEN
        RETURN 'master_flow_id differs from its discovery flow''s';
    END IF;
    RETURN NULL;
END
$$;

-- What keeps an asset image from being wired on the raw record side: null
-- when it is not flow-based, or its raw record exists and points back to it.
CREATE FUNCTION migration.asset_raw_problem(p_asset migration.assets) RETURNS text
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_raw_asset_id uuid;
BEGIN
    IF p_asset.discovery_method IS DISTINCT FROM 'flow_based' THEN
        RETURN NULL;
    END IF;
    IF p_asset.raw_import_records_id IS NULL THEN
        RETURN 'raw_import_records_id is null';
    END IF;
    SELECT r.asset_id INTO v_raw_asset_id
      FROM migration.raw_import_records AS r
     WHERE r.client_account_id = p_asset.client_account_id
       AND r.engagement_id = p_asset.engagement_id
       AND r.id = p_asset.raw_import_records_id;
    IF NOT FOUND THEN
        RETURN 'raw_import_records_id names no raw record of its tenant';
    END IF;
    IF v_raw_asset_id IS DISTINCT FROM p_asset.id THEN
        RETURN 'its raw record''s asset_id does not point back to it';
    END IF;
    RETURN NULL;
END
$$;

-- Assets noted wired during a transaction (see the header). Unlogged: its
-- rows live only as long as their transaction.
CREATE UNLOGGED TABLE migration.assets_wired_in_transaction (
    client_account_id uuid NOT NULL,
    transaction_id xid8 NOT NULL,
    asset_id uuid NOT NULL,
    PRIMARY KEY (client_account_id, transaction_id, asset_id)
);
ALTER TABLE migration.assets_wired_in_transaction OWNER TO discovery_owner;

-- Notes the asset as wired in this transaction when it is wired now.
CREATE FUNCTION migration.note_if_wired(p_asset migration.assets) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_asset.discovery_method = 'flow_based'
       AND migration.asset_flow_problem(p_asset) IS NULL
       AND migration.asset_raw_problem(p_asset) IS NULL THEN
        INSERT INTO migration.assets_wired_in_transaction (client_account_id, transaction_id, asset_id)
        VALUES (p_asset.client_account_id, pg_catalog.pg_current_xact_id(), p_asset.id)
        ON CONFLICT DO NOTHING;
    END IF;
END
$$;

-- BEFORE an asset's link columns change.
CREATE FUNCTION migration.assets_note_wired() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM migration.note_if_wired(OLD);
    RETURN NEW;
END
$$;

-- BEFORE a raw record's back-pointer changes or the record is deleted: the
-- asset that names it as its origin.
CREATE FUNCTION migration.raw_import_records_note_wired() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_asset migration.assets;
BEGIN
    SELECT a.* INTO v_asset
      FROM migration.assets AS a
     WHERE a.client_account_id = OLD.client_account_id
       AND a.engagement_id = OLD.engagement_id
       AND a.id = OLD.asset_id
       AND a.raw_import_records_id = OLD.id;
    IF FOUND THEN
        PERFORM migration.note_if_wired(v_asset);
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

CREATE FUNCTION migration.raise_unwired(p_asset migration.assets, p_problem text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'flow-based asset % is not wired: %', p_asset.id, p_problem
        USING ERRCODE = 'check_violation',
              CONSTRAINT = 'assets_flow_based_wired',
              SCHEMA = 'migration',
              TABLE = 'assets',
              DETAIL = format('client_account_id=%s engagement_id=%s asset_id=%s discovery_flow_id=%s '
                              'master_flow_id=%s raw_import_records_id=%s',
                              p_asset.client_account_id, p_asset.engagement_id, p_asset.id,
                              p_asset.discovery_flow_id, p_asset.master_flow_id,
                              p_asset.raw_import_records_id),
              HINT = 'Create flow-based assets with discovery.create_assets_from_discovery, or set '
                     'discovery_flow_id, master_flow_id, raw_import_records_id and the raw record''s '
                     'asset_id in the same transaction; repair legacy rows with discovery.repair_wiring.';
END
$$;

-- Deferred: raises when the asset is unwired now and was inserted (p_inserted)
-- or noted wired in this transaction; otherwise forgets the note.
CREATE FUNCTION migration.check_asset_wired(
    p_client_account_id uuid, p_asset_id uuid, p_inserted boolean
) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_now migration.assets;
    v_problem text;
    v_noted boolean;
BEGIN
    SELECT a.* INTO v_now
      FROM migration.assets AS a
     WHERE a.client_account_id = p_client_account_id
       AND a.id = p_asset_id;
    DELETE FROM migration.assets_wired_in_transaction AS w
     WHERE w.client_account_id = p_client_account_id
       AND w.transaction_id = pg_catalog.pg_current_xact_id()
       AND w.asset_id = p_asset_id;
    v_noted := FOUND;
    IF v_now.id IS NULL THEN
        RETURN;  -- deleted: no unwired asset is left behind
    END IF;
    IF v_now.discovery_method IS DISTINCT FROM 'flow_based' THEN
        v_problem := CASE WHEN v_noted THEN 'a wired flow-based asset cannot stop being flow-based' END;
    ELSE
        v_problem := coalesce(migration.asset_flow_problem(v_now), migration.asset_raw_problem(v_now));
    END IF;
    IF v_problem IS NOT NULL AND (p_inserted OR v_noted) THEN
        PERFORM migration.raise_unwired(v_now, v_problem);
    END IF;
END
$$;

-- Deferred check of an inserted or updated asset, as it stands at COMMIT.
CREATE FUNCTION migration.assets_check_wired() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- Fast path for the common case, a freshly inserted asset that is wired:
    -- two primary-key probes from the inserted row's own values (a later
    -- change of the row has its own event). A join here let the planner, on
    -- stale statistics, walk a whole index once per asset at COMMIT.
    IF TG_OP = 'INSERT'
       AND NEW.discovery_method = 'flow_based'
       AND EXISTS (
           SELECT FROM migration.discovery_flows AS f
            WHERE f.client_account_id = NEW.client_account_id
              AND f.id = NEW.discovery_flow_id
              AND f.engagement_id = NEW.engagement_id
              AND f.master_flow_id = NEW.master_flow_id)
       AND EXISTS (
           SELECT FROM migration.raw_import_records AS r
            WHERE r.client_account_id = NEW.client_account_id
              AND r.id = NEW.raw_import_records_id
              AND r.engagement_id = NEW.engagement_id
              AND r.asset_id = NEW.id) THEN
        RETURN NULL;
    END IF;
    PERFORM migration.check_asset_wired(NEW.client_account_id, NEW.id, TG_OP = 'INSERT');
    RETURN NULL;
END
$$;

-- Deferred check of the asset a changed or deleted raw record pointed to.
CREATE FUNCTION migration.raw_import_records_check_wired() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM migration.check_asset_wired(OLD.client_account_id, OLD.asset_id, false);
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

CREATE TRIGGER assets_note_wired_before_update
BEFORE UPDATE OF discovery_method, discovery_flow_id, master_flow_id, raw_import_records_id,
client_account_id, engagement_id, id
ON migration.assets
FOR EACH ROW
WHEN (old.discovery_method = 'flow_based')
EXECUTE FUNCTION migration.assets_note_wired();

CREATE TRIGGER assets_note_wired_before_delete
BEFORE DELETE ON migration.assets
FOR EACH ROW
WHEN (old.discovery_method = 'flow_based')
EXECUTE FUNCTION migration.assets_note_wired();

CREATE TRIGGER raw_import_records_note_wired
BEFORE UPDATE OF asset_id, id, client_account_id, engagement_id OR DELETE
ON migration.raw_import_records
FOR EACH ROW
WHEN (old.asset_id IS NOT NULL)
EXECUTE FUNCTION migration.raw_import_records_note_wired();

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

ALTER FUNCTION migration.note_if_wired(migration.assets) OWNER TO discovery_owner;
ALTER FUNCTION migration.assets_note_wired() OWNER TO discovery_owner;
ALTER FUNCTION migration.raw_import_records_note_wired() OWNER TO discovery_owner;
ALTER FUNCTION migration.check_asset_wired(uuid, uuid, boolean) OWNER TO discovery_owner;
ALTER FUNCTION migration.asset_flow_problem(migration.assets) OWNER TO discovery_owner;
ALTER FUNCTION migration.asset_raw_problem(migration.assets) OWNER TO discovery_owner;
ALTER FUNCTION migration.raise_unwired(migration.assets, text) OWNER TO discovery_owner;
ALTER FUNCTION migration.assets_check_wired() OWNER TO discovery_owner;
ALTER FUNCTION migration.raw_import_records_check_wired() OWNER TO discovery_owner;
ALTER FUNCTION migration.assets_reject_legacy_flow_id() OWNER TO discovery_owner;
REVOKE ALL ON FUNCTION migration.note_if_wired(migration.assets) FROM public;
REVOKE ALL ON FUNCTION migration.assets_note_wired() FROM public;
REVOKE ALL ON FUNCTION migration.raw_import_records_note_wired() FROM public;
REVOKE ALL ON FUNCTION migration.check_asset_wired(uuid, uuid, boolean) FROM public;
REVOKE ALL ON FUNCTION migration.asset_flow_problem(migration.assets) FROM public;
REVOKE ALL ON FUNCTION migration.asset_raw_problem(migration.assets) FROM public;
REVOKE ALL ON FUNCTION migration.raise_unwired(migration.assets, text) FROM public;
REVOKE ALL ON FUNCTION migration.assets_check_wired() FROM public;
REVOKE ALL ON FUNCTION migration.raw_import_records_check_wired() FROM public;
REVOKE ALL ON FUNCTION migration.assets_reject_legacy_flow_id() FROM public;
