-- Appends one raw record per element of p_records (each a JSON object, kept
-- as raw_data); row_number continues after the import's last; returns the
-- number of rows added (discovery._insert_raw_records).
CREATE FUNCTION discovery.add_raw_records(
    p_client_account_id uuid,
    p_engagement_id uuid,
    p_data_import_id uuid,
    p_records jsonb
) RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    PERFORM discovery._data_import(p_client_account_id, p_engagement_id, p_data_import_id);
    PERFORM discovery._assert_payload(p_records, 'p_records');
    RETURN discovery._insert_raw_records(
        p_client_account_id, p_engagement_id, p_data_import_id,
        ARRAY(SELECT e.value FROM jsonb_array_elements(p_records) WITH ORDINALITY AS e (value, ordinality)
               ORDER BY e.ordinality));
END
$$;
