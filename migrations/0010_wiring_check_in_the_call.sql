-- An API call that leaves its tenant's wiring notes all wired runs the
-- tenant's check of this transaction before it returns, so COMMIT has
-- nothing left to do for it.
--
-- On a Citus cluster each writing CTE of create_assets_from_discovery is a
-- statement of its own: the assets' statement notes every asset it creates
-- and queues the tenant's deferred check (migration.wiring_checks_pending),
-- the raw records' statement forgets the notes again (0008 counts them). The
-- check then ran at COMMIT to find a count of zero: one statement through
-- Citus' planner on the worker, 0.45 ms of a COMMIT of about 1.5 ms, which
-- made the cluster's COMMIT more than twice the one server's (issue 13).
--
-- migration.check_settled_wiring(tenant), called by the API's writers as
-- their last step, fires the queued check now (SET CONSTRAINTS ... IMMEDIATE,
-- then DEFERRED again), when firing it now cannot differ from firing it at
-- COMMIT:
--   * the tenant's pending row counts no live note: the check finds nothing
--     to reject now, and would find the same at COMMIT unless a later
--     statement notes again, which queues a new check (the pending row is
--     gone, so noting inserts a new one);
--   * no other tenant was noted in this transaction on this node
--     (discovery_wiring.noted_tenants, a transaction-local setting that
--     note_must_be_wired_all keeps): SET CONSTRAINTS fires every queued
--     check of the constraint, and another tenant's notes may be wired by
--     hand later in the transaction. The setting only says when the early
--     firing is safe; whatever a session sets it to, no check is skipped: at
--     worst one runs early (and rejects early what COMMIT would reject) or
--     stays for COMMIT;
--   * a pending row survives its statement only in DEFERRED mode (in
--     IMMEDIATE mode the check ran at the end of that statement and removed
--     it), so setting the constraint back to DEFERRED restores the mode the
--     caller had.
-- On one server create_assets_from_discovery writes its assets and their
-- back-pointers in one statement and notes nothing; the call returns at the
-- setting's test.
-- depends: 0009_raw_record_listing_index

-- Notes assets that must be wired when this transaction commits (and queues
-- the tenant's check at COMMIT once per transaction), counting the new notes
-- and naming the tenant in discovery_wiring.noted_tenants.
CREATE OR REPLACE FUNCTION migration.note_must_be_wired_all(p_client_account_id uuid, p_asset_ids uuid[])
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_xid xid8 := pg_catalog.pg_current_xact_id();
    v_noted bigint;
    v_tenants text := coalesce(pg_catalog.current_setting('discovery_wiring.noted_tenants', TRUE), '');
BEGIN
    INSERT INTO migration.assets_wired_in_transaction (client_account_id, transaction_id, asset_id)
    SELECT p_client_account_id, v_xid, u.id
      FROM unnest(p_asset_ids) AS u (id)
     WHERE u.id IS NOT NULL
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS v_noted = ROW_COUNT;
    INSERT INTO migration.wiring_checks_pending AS p (client_account_id, transaction_id, live_notes)
    VALUES (p_client_account_id, v_xid, v_noted)
    ON CONFLICT (client_account_id, transaction_id)
    DO UPDATE SET live_notes = p.live_notes + excluded.live_notes;
    IF strpos(v_tenants, p_client_account_id::text) = 0 THEN
        PERFORM pg_catalog.set_config('discovery_wiring.noted_tenants',
                                      v_tenants || p_client_account_id::text || ' ', TRUE);
    END IF;
END
$$;

-- Runs the tenant's wiring check of this transaction now when it has nothing
-- left to check and no other tenant's check can fire with it (see above).
CREATE FUNCTION migration.check_settled_wiring(p_client_account_id uuid) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_table oid;
    v_constraint text;
BEGIN
    IF pg_catalog.current_setting('discovery_wiring.noted_tenants', TRUE)
       IS DISTINCT FROM p_client_account_id::text || ' ' THEN
        RETURN;
    END IF;
    -- the table the check is queued on: on a Citus worker, the tenant's shard
    SELECT p.tableoid
      INTO v_table
      FROM migration.wiring_checks_pending AS p
     WHERE p.client_account_id = p_client_account_id
       AND p.transaction_id = pg_catalog.pg_current_xact_id()
       AND p.live_notes = 0;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT pg_catalog.quote_ident(c.conname)
      INTO STRICT v_constraint
      FROM pg_catalog.pg_constraint AS c
     WHERE c.conrelid = v_table
       AND c.contype = 't'
       AND c.conname LIKE 'assets\_flow\_based\_wired%';
    EXECUTE 'SET CONSTRAINTS migration.' || v_constraint || ' IMMEDIATE';
    EXECUTE 'SET CONSTRAINTS migration.' || v_constraint || ' DEFERRED';
END
$$;

ALTER FUNCTION migration.check_settled_wiring(uuid) OWNER TO discovery_owner;
REVOKE ALL ON FUNCTION migration.check_settled_wiring(uuid) FROM public;
