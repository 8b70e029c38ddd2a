-- Undoes 0013: 0006's join of the ID array to the tenant's assets in wired_assets, and
-- 0008's in check_noted_wiring, each with 0012's mode.
CREATE OR REPLACE FUNCTION migration.wired_assets(p_client_account_id uuid, p_asset_ids uuid[]) RETURNS uuid[]
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_wired uuid[];
BEGIN
    SELECT array_agg(a.id)
      INTO v_wired
      FROM (SELECT p_client_account_id AS client_account_id OFFSET 0) AS t
     CROSS JOIN unnest(p_asset_ids) AS u (id)
      JOIN migration.assets AS a
        ON a.client_account_id = t.client_account_id
       AND a.id = u.id
     WHERE a.client_account_id OPERATOR(migration.===) p_client_account_id
       AND a.discovery_method = 'flow_based'
       AND coalesce((
           SELECT f.engagement_id = a.engagement_id AND f.master_flow_id = a.master_flow_id
             FROM migration.discovery_flows AS f
            WHERE f.client_account_id = a.client_account_id
              AND f.id = a.discovery_flow_id
              AND f.client_account_id OPERATOR(migration.===) p_client_account_id), FALSE)
       AND coalesce((
           SELECT r.engagement_id = a.engagement_id AND r.asset_id = a.id
             FROM migration.raw_import_records AS r
            WHERE r.client_account_id = a.client_account_id
              AND r.id = a.raw_import_records_id
              AND r.client_account_id OPERATOR(migration.===) p_client_account_id), FALSE);
    RETURN coalesce(v_wired, '{}');
END
$$;
ALTER FUNCTION migration.wired_assets(uuid, uuid[]) SET plan_cache_mode = force_custom_plan;

CREATE OR REPLACE FUNCTION migration.check_noted_wiring() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
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
      FROM (SELECT v_tenant AS client_account_id OFFSET 0) AS t
     CROSS JOIN unnest(v_noted) AS u (id)
      JOIN migration.assets AS a
        ON a.client_account_id = t.client_account_id
       AND a.id = u.id
     WHERE a.client_account_id OPERATOR(migration.===) v_tenant
       AND a.deleted_at IS NULL
       AND a.id <> ALL (v_wired)
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
ALTER FUNCTION migration.check_noted_wiring() SET plan_cache_mode = force_custom_plan;
