-- A statement that changes many wired assets one row at a time (undo_import
-- soft-deleting an import's assets and discarding its records, or an owner's
-- UPDATE or DELETE by hand) notes each asset without rewriting the tenant's
-- pending check once per row.
--
-- The per-row triggers (assets_note_wired, raw_import_records_note_wired)
-- note each asset through migration.note_must_be_wired, which since 0008
-- added one to the count of live notes in the tenant's pending row
-- (migration.wiring_checks_pending) with an upsert, once per row. Each upsert
-- wrote a new version of that one row, and none of them can be cleaned up
-- before the transaction ends, so the n-th upsert walked the n versions
-- before it: quadratic. undo_import of a 100,000-record import (86,814
-- assets) took 7 min 53 s as a dry run; its real run was stopped after
-- 7 min 15 s in its second statement.
--
-- Now a note of one row leaves the count unknown (NULL) instead: the pending
-- row is inserted with no count, or its count is set to NULL once, and later
-- notes find it NULL and leave it as it is (ON CONFLICT ... WHERE, which
-- writes no version). An unknown count stays unknown (NULL + n, NULL - n), so
-- the check at COMMIT reads the notes, as it did before 0008; the notes of a
-- whole statement (note_must_be_wired_all, one call per statement) still add
-- to a known count. check_settled_wiring fires early only on a count of zero,
-- never on an unknown one.
--
-- And an asset that is soft-deleted is not noted at all: the check at COMMIT
-- passes soft-deleted assets over, and bringing one back from its soft delete
-- notes it (assets_note_wired). So soft-deleting a wired asset, or changing
-- the back-pointer of a record whose asset is soft-deleted (undo_import does
-- both, 100,000 rows at a time), costs no lookup of its wiring and no note.
-- depends: 0013_wired_assets_looked_up_per_id

ALTER TABLE migration.wiring_checks_pending ALTER COLUMN live_notes DROP NOT NULL;

-- Notes one asset (a per-row trigger's note) that must be wired when this
-- transaction commits, queues the tenant's check at COMMIT once per
-- transaction, leaves the count of live notes unknown, and names the tenant
-- in discovery_wiring.noted_tenants (see 0010).
CREATE OR REPLACE FUNCTION migration.note_must_be_wired(p_client_account_id uuid, p_asset_id uuid) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_xid xid8 := pg_catalog.pg_current_xact_id();
    v_tenants text := coalesce(pg_catalog.current_setting('discovery_wiring.noted_tenants', TRUE), '');
BEGIN
    INSERT INTO migration.assets_wired_in_transaction (client_account_id, transaction_id, asset_id)
    VALUES (p_client_account_id, v_xid, p_asset_id)
    ON CONFLICT DO NOTHING;
    INSERT INTO migration.wiring_checks_pending AS p (client_account_id, transaction_id, live_notes)
    VALUES (p_client_account_id, v_xid, NULL)
    ON CONFLICT (client_account_id, transaction_id)
    DO UPDATE SET live_notes = NULL
        WHERE p.live_notes IS NOT NULL;
    IF strpos(v_tenants, p_client_account_id::text) = 0 THEN
        PERFORM pg_catalog.set_config('discovery_wiring.noted_tenants',
                                      v_tenants || p_client_account_id::text || ' ', TRUE);
    END IF;
END
$$;

-- Deferred, once per tenant and transaction (0013's, reading the notes when
-- their count is unknown).
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
    -- no pending row: an earlier check of this transaction saw every note;
    -- a count of zero: nothing to read; no count (NULL): read the notes
    IF NOT FOUND OR v_live_notes = 0 THEN
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

-- BEFORE an asset's link columns (or deleted_at) change: a wired asset, and a
-- flow-based asset brought back from a soft delete, must be wired at COMMIT,
-- unless this change soft-deletes it.
CREATE OR REPLACE FUNCTION migration.assets_note_wired() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.deleted_at IS NULL
       AND ((OLD.discovery_method = 'flow_based'
             AND migration.wiring_problem(OLD.client_account_id, OLD.engagement_id, OLD.id, OLD.discovery_method,
                                          OLD.discovery_flow_id, OLD.master_flow_id, OLD.raw_import_records_id)
                 IS NULL)
            OR (OLD.deleted_at IS NOT NULL AND NEW.discovery_method = 'flow_based')) THEN
        PERFORM migration.note_must_be_wired(OLD.client_account_id, OLD.id);
    END IF;
    RETURN NEW;
END
$$;

-- BEFORE a raw record's back-pointer changes, or the record is deleted: the
-- live asset that names it as its origin, when that asset is wired.
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
       AND a.id = OLD.asset_id
       AND a.deleted_at IS NULL;
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
