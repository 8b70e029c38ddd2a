-- Server-side cleansing of the flow's records not yet processed (DESIGN.md,
-- "Field mapping"): the import's approved mappings, field defaults and the
-- value rules of discovery._cleansing_sql, applied in one statement; writes
-- cleansed_data, validation_errors (warnings and errors) and is_valid.
-- Returns how many records came out valid (cleansed) and how many invalid.
-- create_assets_from_discovery cleanses by itself the records that have no
-- cleansed data, in the same write as their outcome: calling this first is
-- only needed to inspect the result before creating assets.
CREATE FUNCTION discovery.cleanse_records(
    p_client_account_id uuid,
    p_engagement_id uuid,
    p_discovery_flow_id uuid
) RETURNS TABLE (cleansed integer, invalid integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    v_flow migration.discovery_flows;
    v_import migration.data_imports;
    v_keys text[];
    v_valid integer;
    v_invalid integer;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    v_flow := discovery._discovery_flow(p_client_account_id, p_engagement_id, p_discovery_flow_id);
    v_import := discovery._data_import(p_client_account_id, p_engagement_id, v_flow.data_import_id);

    v_keys := discovery._raw_data_keys(p_client_account_id, v_flow.data_import_id, FALSE);

    -- The import's unprocessed records are read from the partial index of
    -- unprocessed records (the tenant pinned by migration.===, which no index
    -- takes and no statistics estimate, migration 0006: with
    -- the tenant as an index condition the import's processed records were
    -- walked too, on every call). They are found again by their primary key
    -- from the batch's own column dw_tenant, not from the constant $1: given
    -- the constant, a planner whose statistics do not know the tenant yet (a
    -- new tenant or import, no ANALYZE since) may scan the tenant's rows once
    -- per record (quadratic: 109 s for 20,000 records beside a 100,000-record
    -- import). From the batch's column it can only probe the primary key per
    -- record, or hash the table, both linear. The pin on the constant only
    -- lets Citus route the statement to the tenant's shard.
    EXECUTE format($cleanse$
        WITH c AS MATERIALIZED (%s),
        result AS (
            UPDATE migration.raw_import_records AS r
               SET cleansed_data = c.fields,
                   validation_errors = c.problems,
                   is_valid = NOT c.problems @> '[{"severity": "error"}]'
              FROM c
             WHERE r.client_account_id = c.dw_tenant
               AND r.id = c.id
               AND r.client_account_id OPERATOR(migration.===) $1
            RETURNING r.is_valid
        )
        SELECT (count(*) FILTER (WHERE result.is_valid))::integer,
               (count(*) FILTER (WHERE NOT result.is_valid))::integer
          FROM result
    $cleanse$, discovery._cleansing_sql(
        discovery._mapping_rules(p_client_account_id, v_flow.data_import_id), coalesce(v_keys, '{}'),
        v_import.field_defaults,
        'SELECT r.client_account_id AS dw_tenant, r.id, '
        'CASE WHEN jsonb_typeof(r.raw_data) = ''object'' THEN r.raw_data ELSE ''{}''::jsonb END '
        'AS data FROM migration.raw_import_records AS r WHERE r.data_import_id = $2 AND NOT r.is_processed '
        'AND r.client_account_id OPERATOR(migration.===) $1'))
    INTO v_valid, v_invalid
    USING p_client_account_id, v_flow.data_import_id;

    UPDATE migration.discovery_flows AS f
       SET data_cleansing_completed = TRUE,
           current_phase = CASE WHEN f.current_phase IN ('data_import', 'field_mapping', 'data_cleansing')
                                THEN 'asset_inventory' ELSE f.current_phase END,
           updated_at = now()
     WHERE f.client_account_id = p_client_account_id
       AND f.id = v_flow.id;

    RETURN QUERY SELECT v_valid, v_invalid;
END
$$;
