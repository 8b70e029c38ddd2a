-- Refreshes the planner's statistics of p_table inside the caller's
-- transaction, so that the caller's next statements, and every query of the
-- tenant after COMMIT, are planned for the rows just written rather than for
-- an empty table. Returns whether it did.
--
-- ANALYZE keeps its lock on the table to the end of the transaction. When
-- another transaction holds it (a big call of another tenant that has not
-- committed yet, or autovacuum), the statistics are being refreshed already:
-- waiting would make big calls of different tenants queue behind each other,
-- so it gives up after a short wait instead.
CREATE FUNCTION discovery._refresh_statistics(p_table regclass) RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
    v_lock_timeout text := current_setting('lock_timeout');
    v_analyzed boolean := true;
    v_distributed boolean;
    v_citus_tables regclass := to_regclass('pg_catalog.pg_dist_partition');
BEGIN
    -- A distributed table (Citus): ANALYZE would fan out to every shard from
    -- inside a delegated call; each worker's autovacuum analyses its shards.
    IF v_citus_tables IS NOT NULL THEN
        EXECUTE format('SELECT EXISTS (SELECT FROM %s AS p WHERE p.logicalrelid = $1)', v_citus_tables)
           INTO v_distributed USING p_table;
        IF v_distributed THEN
            RETURN FALSE;
        END IF;
    END IF;
    PERFORM set_config('lock_timeout', '100ms', true);
    BEGIN
        EXECUTE format('ANALYZE %s', p_table);
    EXCEPTION WHEN lock_not_available THEN
        v_analyzed := false;
    END;
    PERFORM set_config('lock_timeout', v_lock_timeout, true);
    RETURN v_analyzed;
END
$$;
