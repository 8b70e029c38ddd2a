-- The tenant pin: `t.client_account_id OPERATOR(migration.===) $1`.
--
-- A statement over a batch must name its tenant for Citus, which routes a
-- statement to the one shard that holds the tenant only when every tenant
-- table in it is filtered by the tenant as a constant, with an operator Citus
-- knows as equality. Given to PostgreSQL as `client_account_id = $1`, the same
-- filter is an index condition whose selectivity comes from the statistics:
-- for a tenant they do not know yet (a new tenant, rows written since the last
-- ANALYZE) the planner estimates one row, takes an index led by the tenant,
-- and walks the tenant once per batch row (quadratic; see
-- benchmarks/README.md "What was quadratic").
--
-- `===` is uuid equality (pg_catalog.uuid_eq) that PostgreSQL can use neither
-- as an index condition (it is in no index's operator class) nor for an
-- estimate (it has no selectivity function: 0.5, whatever the statistics), so
-- the lookups of a batch keep the shape they are written with: a probe of the
-- full key per row, or one hash of the table, both linear. On a Citus cluster
-- `discovery-wiring citus distribute` puts it in a btree operator family as
-- equality (migration.tenant_pin_ops, which needs a superuser), and Citus
-- routes by it like by `=`.
--
-- The wiring check's lookups (0005) name the tenant this way too.
-- depends: 0005_wiring_check_by_tenant

-- (sqlfluff's postgres dialect has no CREATE OPERATOR: the next line's noqa)
CREATE OPERATOR migration.=== (  -- noqa: PRS
    LEFTARG = uuid,
    RIGHTARG = uuid,
    FUNCTION = pg_catalog.uuid_eq
);
ALTER OPERATOR migration.=== (uuid, uuid) OWNER TO discovery_owner;
COMMENT ON OPERATOR migration.=== (uuid, uuid) IS
    'Tenant pin: uuid equality that is never an index condition and never estimated from statistics; '
    'Citus routes by it (operator family migration.tenant_pin_ops, created by citus distribute)';

-- Of the given assets of a tenant, the flow-based ones that are wired now
-- (the check of 0003's statement trigger, from an ID array). Each asset,
-- then its flow and its raw record, is found by exactly its primary key, the
-- tenant taken from a row (a fenced subquery, then the asset's row), and
-- pinned by `===` for Citus; the rest is compared after. With the tenant as
-- an index condition and statistics that do not know the tenant (a new
-- tenant), the planner estimates the tenant at one row and takes its listing
-- index, filtering by id: one walk of the tenant per asset (84 s for a
-- 20,000-record import instead of 1.5 s).
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

-- Deferred, once per tenant and transaction: every asset noted in this
-- transaction must be wired at COMMIT, unless it is gone or soft-deleted.
CREATE OR REPLACE FUNCTION migration.check_noted_wiring() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tenant uuid := NEW.client_account_id;
    v_xid xid8 := NEW.transaction_id;
    v_noted uuid[];
    v_wired uuid[];
    v_asset record;
    v_problem text;
BEGIN
    DELETE FROM migration.wiring_checks_pending AS p
     WHERE p.client_account_id = v_tenant
       AND p.transaction_id = v_xid;
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
