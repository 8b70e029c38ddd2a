-- The first part of create_assets_from_discovery's statement, shared by its
-- dry run and its real run: the plan (p_plan_sql, from discovery._plan_sql)
-- and the changes matched records make to existing assets (per asset and
-- field, the value of the last record by row_number), as the CTEs "plan" and
-- "changes".
-- Parameters: $1 client account, $2 engagement, $4 import, $5 p_assets,
-- $6 p_on_match. The plan carries the tenant as a column
-- (dw_client_account_id): the statements that find a planned record or asset
-- again join on it and the primary key, never on the constant $1 as an index
-- condition, so that a planner whose statistics do not know the tenant yet
-- cannot scan the tenant once per planned row; the constant only pins the
-- tenant for Citus (migration.===, migration 0006).
CREATE FUNCTION discovery._plan_and_changes_sql(p_plan_sql text) RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $sql$
    SELECT format($text$
        WITH plan AS MATERIALIZED (
            SELECT p.*, $1::uuid AS dw_client_account_id
              FROM (%s) AS p
        ),
        changes AS MATERIALIZED (
            -- what matched records change on existing assets: per asset and
            -- field, the value of the last record by row_number
            SELECT DISTINCT ON (c.asset_id, c.field) c.*
              FROM (
                SELECT p.asset_id, p.raw_import_record_id, p.row_number, f.field, f.old_value, f.new_value
                  FROM plan AS p
                  JOIN migration.assets AS a
                    ON a.client_account_id = p.dw_client_account_id
                   AND a.id = p.asset_id
                   AND a.client_account_id OPERATOR(migration.===) $1
                 CROSS JOIN LATERAL discovery._field_changes(to_jsonb(a), p.fields, $6) AS f
                 WHERE p.matched_existing AND p.handles
              ) AS c
             ORDER BY c.asset_id, c.field, c.row_number DESC
        )
$text$, p_plan_sql);
$sql$;
