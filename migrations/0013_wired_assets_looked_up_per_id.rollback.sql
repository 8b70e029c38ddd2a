-- Undoes 0013: 0006's join of the ID array to the tenant's assets, with 0012's mode.
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
