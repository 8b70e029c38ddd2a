-- Invariant 3's wiring check (0002, 0003) made set-based at COMMIT, and
-- written so that it also runs on the shards of a Citus cluster.
--
-- On Citus a trigger's statements on the tenant tables go through the
-- distributed planner, which routes a statement to one shard only when every
-- tenant table in it is filtered by a constant (or a variable) tenant, and
-- cannot join a transition table to a distributed table; and it runs each
-- writing CTE of a statement as a statement of its own, so that the assets
-- create_assets_from_discovery inserts are not wired yet when their INSERT's
-- statement trigger runs (their raw records' back-pointers are written by the
-- next CTE). 0003 then queued one deferred check per asset, each a few
-- statements through the distributed planner at COMMIT.
--
-- Now:
--   * an asset that must be wired at COMMIT is noted, as before, in
--     migration.assets_wired_in_transaction, and its tenant's transaction in
--     migration.wiring_checks_pending (one row per tenant and transaction);
--   * a deferred constraint trigger on that table runs once per tenant and
--     transaction at COMMIT and checks the tenant's noted assets in one
--     statement (the first unwired one raises 23514 assets_flow_based_wired,
--     as before), then removes the notes and its own row;
--   * a statement-level trigger on raw_import_records forgets, as soon as a
--     statement writes back-pointers, the notes of the assets that are wired
--     now (a later change that unwires one notes it again), so an API call
--     that writes its assets and their back-pointers in separate statements
--     leaves nothing to check at COMMIT;
--   * every lookup is driven from ID arrays with the tenant as a variable,
--     each row found by exactly its primary key, whatever the statistics.
-- The per-row deferred triggers of 0003 (on UPDATE of an asset's links, on a
-- raw record's back-pointer) are replaced by the per-transaction check: their
-- BEFORE triggers note what must be wired, as before.
-- depends: 0004_identity_text_invisible_characters

-- One row per tenant and transaction with notes to check at COMMIT. Unlogged:
-- its rows live only as long as their transaction.
CREATE UNLOGGED TABLE migration.wiring_checks_pending (
    client_account_id uuid NOT NULL,
    transaction_id xid8 NOT NULL,
    PRIMARY KEY (client_account_id, transaction_id)
);
ALTER TABLE migration.wiring_checks_pending OWNER TO discovery_owner;

-- Notes assets that must be wired when this transaction commits (and queues
-- the tenant's check at COMMIT once per transaction).
CREATE FUNCTION migration.note_must_be_wired_all(p_client_account_id uuid, p_asset_ids uuid[]) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_xid xid8 := pg_catalog.pg_current_xact_id();
BEGIN
    INSERT INTO migration.assets_wired_in_transaction (client_account_id, transaction_id, asset_id)
    SELECT p_client_account_id, v_xid, u.id
      FROM unnest(p_asset_ids) AS u (id)
     WHERE u.id IS NOT NULL
    ON CONFLICT DO NOTHING;
    INSERT INTO migration.wiring_checks_pending (client_account_id, transaction_id)
    VALUES (p_client_account_id, v_xid)
    ON CONFLICT DO NOTHING;
END
$$;

CREATE OR REPLACE FUNCTION migration.note_must_be_wired(p_client_account_id uuid, p_asset_id uuid) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM migration.note_must_be_wired_all(p_client_account_id, ARRAY[p_asset_id]);
END
$$;

-- Of the given assets of a tenant, the flow-based ones that are wired now
-- (the check of 0003's statement trigger, from an ID array). Each asset,
-- then its flow and its raw record, is found by exactly its primary key, the
-- tenant taken from a row (a fenced subquery, then the asset's row), never
-- from the constant, and the rest compared after. With the tenant as a constant
-- and statistics that do not know the tenant (a new tenant), the planner
-- estimates the tenant at one row and takes its listing index, filtering by
-- id: one walk of the tenant per asset (84 s for a 20,000-record import
-- instead of 1.5 s).
CREATE FUNCTION migration.wired_assets(p_client_account_id uuid, p_asset_ids uuid[]) RETURNS uuid[]
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
     WHERE a.discovery_method = 'flow_based'
       AND coalesce((
           SELECT f.engagement_id = a.engagement_id AND f.master_flow_id = a.master_flow_id
             FROM migration.discovery_flows AS f
            WHERE f.client_account_id = a.client_account_id
              AND f.id = a.discovery_flow_id), FALSE)
       AND coalesce((
           SELECT r.engagement_id = a.engagement_id AND r.asset_id = a.id
             FROM migration.raw_import_records AS r
            WHERE r.client_account_id = a.client_account_id
              AND r.id = a.raw_import_records_id), FALSE);
    RETURN coalesce(v_wired, '{}');
END
$$;

-- Forgets the notes of this transaction on the given assets that are wired now.
CREATE FUNCTION migration.forget_wired(p_client_account_id uuid, p_asset_ids uuid[]) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_xid xid8 := pg_catalog.pg_current_xact_id();
    v_noted uuid[];
BEGIN
    SELECT array_agg(w.asset_id)
      INTO v_noted
      FROM migration.assets_wired_in_transaction AS w
     WHERE w.client_account_id = p_client_account_id
       AND w.transaction_id = v_xid
       AND w.asset_id = ANY (p_asset_ids);
    IF v_noted IS NULL THEN
        RETURN;
    END IF;
    v_noted := migration.wired_assets(p_client_account_id, v_noted);
    DELETE FROM migration.assets_wired_in_transaction AS w
     WHERE w.client_account_id = p_client_account_id
       AND w.transaction_id = v_xid
       AND w.asset_id = ANY (v_noted);
END
$$;

-- AFTER INSERT, once per statement: the inserted flow-based assets that are
-- not wired at the end of their statement must be by COMMIT.
CREATE OR REPLACE FUNCTION migration.assets_check_inserted() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tenant uuid;
    v_ids uuid[];
    v_wired uuid[];
    v_unwired uuid[];
BEGIN
    -- one pass per tenant in the statement (an API call writes one)
    FOR v_tenant IN
        SELECT DISTINCT i.client_account_id FROM inserted AS i WHERE i.discovery_method = 'flow_based'
    LOOP
        SELECT array_agg(i.id)
          INTO v_ids
          FROM inserted AS i
         WHERE i.client_account_id = v_tenant
           AND i.discovery_method = 'flow_based';
        v_wired := migration.wired_assets(v_tenant, v_ids);
        SELECT array_agg(u.id)
          INTO v_unwired
          FROM unnest(v_ids) AS u (id)
         WHERE u.id <> ALL (v_wired);
        IF v_unwired IS NOT NULL THEN
            PERFORM migration.note_must_be_wired_all(v_tenant, v_unwired);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

-- AFTER UPDATE of raw records, once per statement: the noted assets their
-- back-pointers name, when wired now, need no check at COMMIT.
CREATE FUNCTION migration.raw_import_records_forget_wired() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_xid xid8 := pg_catalog.pg_current_xact_id();
    v_tenant uuid;
    v_ids uuid[];
BEGIN
    FOR v_tenant IN
        SELECT DISTINCT u.client_account_id FROM updated AS u WHERE u.asset_id IS NOT NULL
    LOOP
        -- nothing noted for the tenant in this transaction: nothing to forget
        CONTINUE WHEN NOT EXISTS (SELECT FROM migration.wiring_checks_pending AS p
                                   WHERE p.client_account_id = v_tenant
                                     AND p.transaction_id = v_xid);
        SELECT array_agg(DISTINCT u.asset_id)
          INTO v_ids
          FROM updated AS u
         WHERE u.client_account_id = v_tenant
           AND u.asset_id IS NOT NULL;
        PERFORM migration.forget_wired(v_tenant, v_ids);
    END LOOP;
    RETURN NULL;
END
$$;

-- Deferred, once per tenant and transaction: every asset noted in this
-- transaction must be wired at COMMIT, unless it is gone or soft-deleted.
CREATE FUNCTION migration.check_noted_wiring() RETURNS trigger
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
     WHERE a.deleted_at IS NULL
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

DROP TRIGGER assets_flow_based_wired_on_update ON migration.assets;
DROP TRIGGER raw_import_records_keep_asset_wired ON migration.raw_import_records;
DROP FUNCTION migration.assets_check_wired();
DROP FUNCTION migration.raw_import_records_check_wired();
DROP FUNCTION migration.check_asset_wired(uuid, uuid);

CREATE CONSTRAINT TRIGGER assets_flow_based_wired
AFTER INSERT ON migration.wiring_checks_pending
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
EXECUTE FUNCTION migration.check_noted_wiring();

CREATE TRIGGER raw_import_records_forget_wired_after_update
AFTER UPDATE ON migration.raw_import_records
REFERENCING NEW TABLE AS updated
FOR EACH STATEMENT
EXECUTE FUNCTION migration.raw_import_records_forget_wired();

DO $owners$
DECLARE
    v_function regprocedure;
BEGIN
    FOR v_function IN
        SELECT p.oid::regprocedure
          FROM pg_catalog.pg_proc AS p
         WHERE p.pronamespace = 'migration'::regnamespace
           AND p.proname IN ('note_must_be_wired_all', 'wired_assets', 'forget_wired',
                             'raw_import_records_forget_wired', 'check_noted_wiring')
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO discovery_owner', v_function);
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM public', v_function);
    END LOOP;
END
$owners$;
