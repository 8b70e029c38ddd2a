-- The wiring check looks each given asset up by its primary key, one ID of
-- the batch after another, whatever the planner believes of the tenant.
--
-- 0006 joined the batch's ID array to the tenant's assets and left the join
-- to the planner. For a tenant its statistics do not know, the planner
-- estimates the tenant's assets at one row, and a planner that believes one
-- side of a join is one row may take a nested loop with the other side
-- inside: the array was then scanned once per asset. A create call retried
-- after a rolled-back one (whose ANALYZE had left the table's new size but
-- not its tenant) spent 12.5 minutes there on 86,814 assets (7.5 billion
-- comparisons) instead of 0.8 s. Which join the planner took turned on a
-- small difference of costs.
--
-- Now the IDs are the outer side and each asset is a lateral subquery fenced
-- with OFFSET 0: a lookup by the full primary key for each ID, the only plan
-- there is. Its flow and raw record are found by their keys as before, and
-- the tenant is pinned with `===` for Citus. The check at COMMIT, which looks
-- the noted assets up the same way to find one that is not wired, gets the
-- same shape. The mode 0012 set is kept on both.
-- depends: 0012_batch_arrays_planned_with_their_values

CREATE OR REPLACE FUNCTION migration.wired_assets(p_client_account_id uuid, p_asset_ids uuid[]) RETURNS uuid[]
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    v_wired uuid[];
BEGIN
    SELECT array_agg(w.id)
      INTO v_wired
      FROM unnest(p_asset_ids) AS u (id)
     CROSS JOIN LATERAL (
           SELECT a.id
             FROM migration.assets AS a
            WHERE a.client_account_id = p_client_account_id
              AND a.id = u.id
              AND a.client_account_id OPERATOR(migration.===) p_client_account_id
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
                     AND r.client_account_id OPERATOR(migration.===) p_client_account_id), FALSE)
           OFFSET 0
       ) AS w;
    RETURN coalesce(v_wired, '{}');
END
$$;

-- 0008's check at COMMIT, with the noted assets looked up by key one ID
-- after another: deferred, once per tenant and transaction, every asset
-- noted in this transaction must be wired at COMMIT, unless it is gone or
-- soft-deleted.
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
