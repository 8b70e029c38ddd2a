-- Undoes 0010: the tenant's wiring check runs at COMMIT only, as in 0008.
DROP FUNCTION IF EXISTS migration.check_settled_wiring(uuid);

-- Notes assets that must be wired when this transaction commits (and queues
-- the tenant's check at COMMIT once per transaction), counting the new notes.
CREATE OR REPLACE FUNCTION migration.note_must_be_wired_all(p_client_account_id uuid, p_asset_ids uuid[])
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_xid xid8 := pg_catalog.pg_current_xact_id();
    v_noted bigint;
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
END
$$;
