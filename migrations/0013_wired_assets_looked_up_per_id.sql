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
-- the tenant is pinned with `===` for Citus. The mode 0012 set is kept.
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
