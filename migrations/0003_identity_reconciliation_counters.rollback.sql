-- Undoes 0003: drops what it added and restores 0002's wiring triggers and
-- 0001's indexes and constraints.
DROP TRIGGER IF EXISTS assets_flow_based_wired_after_insert ON migration.assets;
DROP TRIGGER IF EXISTS assets_note_wired_before_update ON migration.assets;
DROP TRIGGER IF EXISTS assets_flow_based_wired_on_update ON migration.assets;
DROP TRIGGER IF EXISTS raw_import_records_note_wired ON migration.raw_import_records;
DROP TRIGGER IF EXISTS raw_import_records_keep_asset_wired ON migration.raw_import_records;
DROP FUNCTION IF EXISTS migration.assets_check_inserted();
DROP FUNCTION IF EXISTS migration.assets_note_wired();
DROP FUNCTION IF EXISTS migration.raw_import_records_note_wired();
DROP FUNCTION IF EXISTS migration.assets_check_wired();
DROP FUNCTION IF EXISTS migration.raw_import_records_check_wired();
DROP FUNCTION IF EXISTS migration.check_asset_wired(uuid, uuid);
DROP FUNCTION IF EXISTS migration.note_must_be_wired(uuid, uuid);
DROP FUNCTION IF EXISTS migration.wiring_problem(uuid, uuid, uuid, text, uuid, uuid, uuid);

DROP TRIGGER IF EXISTS assets_counts_after_insert ON migration.assets;
DROP TRIGGER IF EXISTS assets_counts_after_update ON migration.assets;
DROP TRIGGER IF EXISTS assets_counts_after_delete ON migration.assets;
DROP TRIGGER IF EXISTS assets_counts_after_truncate ON migration.assets;
DROP TRIGGER IF EXISTS raw_import_records_counts_after_insert ON migration.raw_import_records;
DROP TRIGGER IF EXISTS raw_import_records_counts_after_update ON migration.raw_import_records;
DROP TRIGGER IF EXISTS raw_import_records_counts_after_delete ON migration.raw_import_records;
DROP TRIGGER IF EXISTS raw_import_records_counts_after_truncate ON migration.raw_import_records;
DROP FUNCTION IF EXISTS migration.asset_counts_after_write();
DROP FUNCTION IF EXISTS migration.record_counts_after_write();
DROP TABLE IF EXISTS migration.asset_counts;
DROP TABLE IF EXISTS migration.record_counts;

DO $replica$
DECLARE
    v_table text;
BEGIN
    FOREACH v_table IN ARRAY ARRAY['crewai_flow_state_extensions', 'data_imports', 'raw_import_records',
                                   'discovery_flows', 'assets', 'asset_conflict_resolutions',
                                   'asset_inventory_runs']
    LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS %1$s_replica_write ON migration.%1$s', v_table);
    END LOOP;
END
$replica$;
DROP TABLE IF EXISTS migration.asset_changes;
DROP FUNCTION IF EXISTS migration.note_replica_write();
DROP TABLE IF EXISTS migration.tenants_unverified;

DROP INDEX IF EXISTS migration.assets_wiring_suspects_idx;
DROP INDEX IF EXISTS migration.raw_import_records_wiring_suspects_idx;
DROP INDEX IF EXISTS migration.asset_conflict_resolutions_tenant_listing_idx;
DROP INDEX IF EXISTS migration.asset_conflict_resolutions_flow_idx;
CREATE INDEX asset_conflict_resolutions_flow_idx
ON migration.asset_conflict_resolutions (discovery_flow_id, resolution_status);
DROP INDEX IF EXISTS migration.raw_import_records_unprocessed_idx;
CREATE INDEX raw_import_records_unprocessed_idx
ON migration.raw_import_records (data_import_id) WHERE NOT is_processed;
DROP INDEX IF EXISTS migration.raw_import_records_outcome_idx;
DROP INDEX IF EXISTS migration.raw_import_records_tenant_listing_idx;
DROP INDEX IF EXISTS migration.data_imports_tenant_listing_idx;

DROP INDEX IF EXISTS migration.import_field_mappings_source_field_key;
ALTER TABLE migration.import_field_mappings
DROP COLUMN unit,
DROP COLUMN priority,
DROP COLUMN value_key,
ADD CONSTRAINT import_field_mappings_source_field_key UNIQUE (data_import_id, source_field, client_account_id);
ALTER TABLE migration.discovery_flows DROP COLUMN inventory_watermark;
ALTER TABLE migration.data_imports
DROP CONSTRAINT data_imports_status_check,
ADD CONSTRAINT data_imports_status_check
CHECK (status IN ('pending', 'importing', 'imported', 'processing', 'completed', 'failed')),
DROP COLUMN profile,
DROP COLUMN field_defaults;
ALTER TABLE migration.raw_import_records
DROP CONSTRAINT raw_import_records_processing_status_check,
ADD CONSTRAINT raw_import_records_processing_status_check
CHECK (processing_status IN ('created', 'matched', 'conflict', 'invalid'));
ALTER TABLE migration.asset_conflict_resolutions
DROP CONSTRAINT asset_conflict_resolutions_tenant_key,
DROP CONSTRAINT asset_conflict_resolutions_resolution_action_check,
ADD CONSTRAINT asset_conflict_resolutions_resolution_action_check
CHECK (resolution_action IN ('keep_existing', 'replace_with_new', 'merge')),
DROP COLUMN resolution_note;
ALTER TABLE migration.asset_inventory_runs
DROP CONSTRAINT asset_inventory_runs_tenant_key,
DROP COLUMN updated,
DROP COLUMN on_match;

DROP INDEX IF EXISTS migration.assets_identity_short_name_idx;
DROP INDEX IF EXISTS migration.assets_identity_fqdn_idx;
DROP INDEX IF EXISTS migration.assets_identity_ip_idx;
DROP INDEX IF EXISTS migration.assets_identity_name_idx;
DROP INDEX IF EXISTS migration.assets_identity_external_ids_idx;
ALTER TABLE migration.assets DROP COLUMN external_ids;
CREATE INDEX assets_identity_hostname_idx
ON migration.assets (lower(hostname), client_account_id, engagement_id)
WHERE deleted_at IS NULL AND hostname IS NOT NULL;
CREATE INDEX assets_identity_fqdn_idx
ON migration.assets (lower(fqdn), client_account_id, engagement_id)
WHERE deleted_at IS NULL AND fqdn IS NOT NULL;
CREATE INDEX assets_identity_ip_idx
ON migration.assets (ip_address, client_account_id, engagement_id)
WHERE deleted_at IS NULL AND ip_address IS NOT NULL;
CREATE INDEX assets_identity_name_type_idx
ON migration.assets (lower(name), lower(asset_type), client_account_id, engagement_id)
WHERE deleted_at IS NULL AND name IS NOT NULL AND asset_type IS NOT NULL;
DROP FUNCTION IF EXISTS migration.has_warnings(jsonb);
DROP FUNCTION IF EXISTS migration.record_outcome(text, boolean);
DROP FUNCTION IF EXISTS migration.ip_key(text);
DROP FUNCTION IF EXISTS migration.is_ip_address(text);
DROP FUNCTION IF EXISTS migration.short_name_key(text, text);
DROP FUNCTION IF EXISTS migration.fqdn_key(text);
DROP FUNCTION IF EXISTS migration.identity_text(text);

-- 0002's wiring triggers, as 0002 created them (its legacy flow_id triggers
-- were kept by 0003).
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

ALTER FUNCTION migration.note_if_wired(migration.assets) OWNER TO discovery_owner;
ALTER FUNCTION migration.assets_note_wired() OWNER TO discovery_owner;
ALTER FUNCTION migration.raw_import_records_note_wired() OWNER TO discovery_owner;
ALTER FUNCTION migration.check_asset_wired(uuid, uuid, boolean) OWNER TO discovery_owner;
ALTER FUNCTION migration.asset_flow_problem(migration.assets) OWNER TO discovery_owner;
ALTER FUNCTION migration.asset_raw_problem(migration.assets) OWNER TO discovery_owner;
ALTER FUNCTION migration.raise_unwired(migration.assets, text) OWNER TO discovery_owner;
ALTER FUNCTION migration.assets_check_wired() OWNER TO discovery_owner;
ALTER FUNCTION migration.raw_import_records_check_wired() OWNER TO discovery_owner;
REVOKE ALL ON FUNCTION migration.note_if_wired(migration.assets) FROM public;
REVOKE ALL ON FUNCTION migration.assets_note_wired() FROM public;
REVOKE ALL ON FUNCTION migration.raw_import_records_note_wired() FROM public;
REVOKE ALL ON FUNCTION migration.check_asset_wired(uuid, uuid, boolean) FROM public;
REVOKE ALL ON FUNCTION migration.asset_flow_problem(migration.assets) FROM public;
REVOKE ALL ON FUNCTION migration.asset_raw_problem(migration.assets) FROM public;
REVOKE ALL ON FUNCTION migration.raise_unwired(migration.assets, text) FROM public;
REVOKE ALL ON FUNCTION migration.assets_check_wired() FROM public;
REVOKE ALL ON FUNCTION migration.raw_import_records_check_wired() FROM public;
