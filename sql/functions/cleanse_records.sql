-- Server-side cleansing of the flow's records not yet processed: applies the
-- import's approved mappings, trims, turns empties into null, validates, and
-- writes cleansed_data, is_valid and validation_errors. Returns how many
-- records came out valid (cleansed) and how many invalid.
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
    v_mappings jsonb;
    v_valid integer;
    v_invalid integer;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    v_flow := discovery._discovery_flow(p_client_account_id, p_engagement_id, p_discovery_flow_id);
    v_mappings := discovery._approved_mappings(p_client_account_id, v_flow.data_import_id);

    WITH result AS (
        UPDATE migration.raw_import_records AS r
           SET cleansed_data = c.fields,
               validation_errors = c.errors,
               is_valid = (jsonb_array_length(c.errors) = 0)
          FROM (
            SELECT x.id, x.fields, discovery._validation_errors(x.fields) AS errors
              FROM (
                SELECT r2.id,
                       discovery._cleanse_fields(discovery._apply_mappings(r2.raw_data, v_mappings)) AS fields
                  FROM migration.raw_import_records AS r2
                 WHERE r2.data_import_id = v_flow.data_import_id
                   AND r2.client_account_id = p_client_account_id
                   AND NOT r2.is_processed
              ) AS x
          ) AS c
         WHERE r.client_account_id = p_client_account_id
           AND r.id = c.id
        RETURNING r.is_valid
    )
    SELECT count(*) FILTER (WHERE result.is_valid), count(*) FILTER (WHERE NOT result.is_valid)
      INTO v_valid, v_invalid
      FROM result;

    UPDATE migration.discovery_flows AS f
       SET data_cleansing_completed = true,
           current_phase = CASE WHEN f.current_phase IN ('data_import', 'field_mapping', 'data_cleansing')
                                THEN 'asset_inventory' ELSE f.current_phase END,
           updated_at = now()
     WHERE f.client_account_id = p_client_account_id
       AND f.id = v_flow.id;

    RETURN QUERY SELECT v_valid, v_invalid;
END
$$;
