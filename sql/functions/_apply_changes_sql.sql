-- SQL text of the CTEs that write field changes to existing assets, shared by
-- create_assets_from_discovery (a run's matched records) and
-- resolve_asset_conflict / undo_import (one asset): from a CTE named
-- "changes" with columns asset_id, field, old_value, new_value,
-- raw_import_record_id (field: an asset column, custom_attributes.<key> or
-- external_ids.<namespace>), it builds
--   patches    one row per asset: its column, custom attribute and external
--              ID values;
--   refreshed  the UPDATE of those assets (every field column through
--              jsonb_populate_record, discovery._asset_set_sql; OFFSET 0
--              keeps that subquery from being pulled up into the UPDATE,
--              where Citus refuses a STABLE function of a column);
--   logged     one migration.asset_changes row per changed value.
-- The arguments are SQL expressions for the tenant, the time, the run and the
-- conflict (for instance '$1' or 'NULL::uuid'). A custom attribute or
-- external ID whose new value is JSON null is removed. The assets are found
-- by primary key from the materialised patches, the tenant taken from the
-- patches' own column (dw_client_account_id) and the constant only pinning
-- it (migration.===, for Citus, which routes the UPDATE to the tenant's
-- shard by it). With the constant as the assets' index condition, a planner
-- whose statistics do not know the tenant estimated it at one row and walked
-- the tenant's assets, probing every patch for each (86,814 assets x 3,651
-- patches on a tenant's second import).
CREATE FUNCTION discovery._apply_changes_sql(
    p_client_account_id text, p_engagement_id text, p_now text, p_run_id text, p_conflict_id text
) RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $sql$
    SELECT format($cte$
        patches AS MATERIALIZED (
            SELECT c.asset_id, %1$s::uuid AS dw_client_account_id,
                   coalesce(jsonb_object_agg(c.field, c.new_value) FILTER (WHERE strpos(c.field, '.') = 0), '{}')
                       AS columns,
                   coalesce(jsonb_object_agg(substr(c.field, 19), c.new_value)
                                FILTER (WHERE c.field LIKE 'custom\_attributes.%%'), '{}') AS custom,
                   coalesce(jsonb_object_agg(substr(c.field, 14), c.new_value)
                                FILTER (WHERE c.field LIKE 'external\_ids.%%'), '{}') AS external
              FROM changes AS c
             GROUP BY c.asset_id
        ),
        refreshed AS (
            UPDATE migration.assets AS a
               SET %6$s,
                   custom_attributes = jsonb_strip_nulls(a.custom_attributes || x.custom),
                   external_ids = jsonb_strip_nulls(a.external_ids || x.external),
                   updated_at = %3$s
              FROM (SELECT p.asset_id, p.dw_client_account_id, p.custom, p.external,
                           jsonb_populate_record(b, p.columns) AS n
                      FROM patches AS p
                      JOIN migration.assets AS b
                        ON b.client_account_id = p.dw_client_account_id
                       AND b.id = p.asset_id
                       AND b.client_account_id OPERATOR(migration.===) %1$s
                    OFFSET 0) AS x
             WHERE a.client_account_id = x.dw_client_account_id
               AND a.id = x.asset_id
               AND a.client_account_id OPERATOR(migration.===) %1$s
            RETURNING 1
        ),
        logged AS (
            INSERT INTO migration.asset_changes (
                client_account_id, engagement_id, asset_id, field, old_value, new_value, run_id, conflict_id,
                raw_import_record_id, changed_at
            )
            SELECT %1$s, %2$s, c.asset_id, c.field, c.old_value, c.new_value, %4$s, %5$s, c.raw_import_record_id, %3$s
              FROM changes AS c
            RETURNING 1
        )
    $cte$, p_client_account_id, p_engagement_id, p_now, p_run_id, p_conflict_id, discovery._asset_set_sql('x.n'));
$sql$;
