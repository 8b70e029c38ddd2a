-- Takes an import back (DESIGN.md, "undo_import"): for an import whose runs
-- went wrong (a bad mapping, a wrong file), the tenant becomes as if it had
-- never run, except for what someone changed since, which is kept and
-- counted.
--
--   changes   the asset_changes its records made (runs and conflict
--             resolutions) are reverted newest first, per asset and field,
--             where the field still holds the value they wrote and nothing
--             else wrote it since; the others are kept (changes_kept);
--   assets    the assets its records created are soft-deleted (deleted_at)
--             unless a record of another import links them, in which case
--             that record becomes their origin;
--   records   unlinked and marked discarded;
--   conflicts its pending ones are closed (resolved, with a note);
--   flow      the import, its flow and master flow become 'undone'.
--
-- Wiring health stays healthy: soft-deleted assets and discarded records are
-- no gaps. p_dry_run (the default) does the same work in a subtransaction and
-- rolls it back, so it reports exactly what a real run would do and writes
-- nothing. Returns {"dry_run", "assets_deleted", "changes_reverted",
-- "changes_kept", "records_discarded", "conflicts_closed"}.
CREATE FUNCTION discovery.undo_import(
    p_client_account_id uuid,
    p_engagement_id uuid,
    p_data_import_id uuid,
    p_dry_run boolean DEFAULT TRUE
) RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    v_import migration.data_imports;
    v_result jsonb;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    PERFORM discovery._assert_flag(p_dry_run, 'p_dry_run');
    v_import := discovery._data_import(p_client_account_id, p_engagement_id, p_data_import_id, TRUE);
    IF v_import.status = 'undone' THEN
        PERFORM discovery._raise(
            'WR008', 'the import was undone already', format('data_import_id=%s', p_data_import_id),
            'Nothing is left to take back; discovery.list_data_imports shows each import''s status.');
    END IF;
    BEGIN
        -- Taken in the block: a dry run lets it go when its writes roll back, so a
        -- caller that keeps its transaction open after a dry run holds no import of
        -- the tenant up. The import's row lock (above) stays: a concurrent undo of
        -- the same import waits for this transaction, dry run or not.
        PERFORM discovery._lock_tenant_assets(p_client_account_id, p_engagement_id);
        v_result := jsonb_build_object('dry_run', p_dry_run)
                    || discovery._undo_import(p_client_account_id, p_engagement_id, p_data_import_id);
        IF p_dry_run THEN
            -- Undo this block's writes; only this exact SQLSTATE is caught.
            RAISE EXCEPTION USING ERRCODE = 'WR900', MESSAGE = 'undo_import dry run';
        END IF;
    EXCEPTION
        WHEN SQLSTATE 'WR900' THEN
            NULL;
    END;
    PERFORM migration.check_settled_wiring(p_client_account_id);  -- see create_assets_from_discovery
    RETURN v_result;
END
$$;
