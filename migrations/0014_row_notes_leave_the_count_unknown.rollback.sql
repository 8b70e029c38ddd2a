-- Undoes 0014: 0005's note of one asset (through note_must_be_wired_all, which
-- counts it), 0003's per-row triggers (which note soft-deleted assets too),
-- 0013's check at COMMIT, and the count required again (a pending
-- row exists only inside an open transaction, so none is left without one).
CREATE OR REPLACE FUNCTION migration.note_must_be_wired(p_client_account_id uuid, p_asset_id uuid) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM migration.note_must_be_wired_all(p_client_account_id, ARRAY[p_asset_id]);
END
$$;

CREATE OR REPLACE FUNCTION migration.check_noted_wiring() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    v_tenant uuid := NEW.client_account_id;
    v_xid xid8 := NEW.transaction_id;
    v_live_notes bigint;
    v_noted uuid[];
    v_wired uuid[];
    v_asset record;
    v_problem text;
BEGIN
    DELETE FROM migration.wiring_checks_pending AS p
     WHERE p.client_account_id = v_tenant
       AND p.transaction_id = v_xid
    RETURNING p.live_notes INTO v_live_notes;
    IF coalesce(v_live_notes, 0) = 0 THEN
        RETURN NULL;
    END IF;
    WITH forgotten AS (
        DELETE FROM migration.assets_wired_in_transaction AS w
         WHERE w.client_account_id = v_tenant
           AND w.transaction_id = v_xid
        RETURNING w.asset_id
    )
    SELECT array_agg(f.asset_id) INTO v_noted FROM forgotten AS f;
    IF v_noted IS NULL THEN
        RETURN NULL;
    END IF;
    v_wired := migration.wired_assets(v_tenant, v_noted);
    -- the first live noted asset that is not wired (wired ones, and deleted
    -- or soft-deleted ones, leave no unwired live asset behind)
    SELECT a.client_account_id, a.engagement_id, a.id, a.discovery_method, a.discovery_flow_id,
           a.master_flow_id, a.raw_import_records_id
      INTO v_asset
      FROM unnest(v_noted) AS u (id)
     CROSS JOIN LATERAL (
           SELECT a.client_account_id, a.engagement_id, a.id, a.discovery_method, a.discovery_flow_id,
                  a.master_flow_id, a.raw_import_records_id
             FROM migration.assets AS a
            WHERE a.client_account_id = v_tenant
              AND a.id = u.id
              AND a.client_account_id OPERATOR(migration.===) v_tenant
              AND a.deleted_at IS NULL
           OFFSET 0
       ) AS a
     WHERE u.id <> ALL (v_wired)
     ORDER BY a.id
     LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF v_asset.discovery_method IS DISTINCT FROM 'flow_based' THEN
        v_problem := 'a wired flow-based asset cannot stop being flow-based';
    ELSE
        v_problem := migration.wiring_problem(
            v_asset.client_account_id, v_asset.engagement_id, v_asset.id, v_asset.discovery_method,
            v_asset.discovery_flow_id, v_asset.master_flow_id, v_asset.raw_import_records_id);
    END IF;
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
END
$$;

CREATE OR REPLACE FUNCTION migration.assets_note_wired() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF (OLD.discovery_method = 'flow_based'
        AND migration.wiring_problem(OLD.client_account_id, OLD.engagement_id, OLD.id, OLD.discovery_method,
                                     OLD.discovery_flow_id, OLD.master_flow_id, OLD.raw_import_records_id) IS NULL)
       OR (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL AND NEW.discovery_method = 'flow_based') THEN
        PERFORM migration.note_must_be_wired(OLD.client_account_id, OLD.id);
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION migration.raw_import_records_note_wired() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_asset record;
BEGIN
    SELECT a.client_account_id, a.engagement_id, a.id, a.discovery_method, a.discovery_flow_id,
           a.master_flow_id, a.raw_import_records_id
      INTO v_asset
      FROM migration.assets AS a
     WHERE a.client_account_id = OLD.client_account_id
       AND a.id = OLD.asset_id;
    IF FOUND AND v_asset.engagement_id = OLD.engagement_id AND v_asset.raw_import_records_id = OLD.id
       AND v_asset.discovery_method = 'flow_based'
       AND migration.wiring_problem(v_asset.client_account_id, v_asset.engagement_id, v_asset.id,
                                    v_asset.discovery_method, v_asset.discovery_flow_id, v_asset.master_flow_id,
                                    v_asset.raw_import_records_id) IS NULL THEN
        PERFORM migration.note_must_be_wired(v_asset.client_account_id, v_asset.id);
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

ALTER TABLE migration.wiring_checks_pending ALTER COLUMN live_notes SET NOT NULL;
