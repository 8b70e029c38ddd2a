-- add_raw_records for bulk loading: the records as an array of jsonb, which a
-- client builds on the server from rows it COPYed into a temporary table of
-- its own (SELECT … ARRAY(SELECT raw_data FROM pg_temp.… ORDER BY …)), so
-- that no JSON document of the whole chunk is parsed or built. Same rules and
-- limits as add_raw_records (WR005 for a null or non-object element, or more
-- than 50,000 elements).
CREATE FUNCTION discovery.add_raw_records_bulk(
    p_client_account_id uuid,
    p_engagement_id uuid,
    p_data_import_id uuid,
    p_records jsonb[]
) RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    v_bad bigint;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    PERFORM discovery._data_import(p_client_account_id, p_engagement_id, p_data_import_id);
    IF p_records IS NULL THEN
        PERFORM discovery._raise('WR005', 'p_records must be an array', 'p_records is null',
                                 'Pass an array of JSON objects, one per row.');
    END IF;
    IF cardinality(p_records) > 50000 THEN
        PERFORM discovery._raise(
            'WR005', 'p_records holds more than 50,000 elements',
            format('p_records has %s elements', cardinality(p_records)),
            'Split the work into several calls of at most 50,000 elements (the Python client does).');
    END IF;
    SELECT e.ordinality INTO v_bad
      FROM unnest(p_records) WITH ORDINALITY AS e (value, ordinality)
     WHERE e.value IS NULL OR jsonb_typeof(e.value) <> 'object'
     ORDER BY e.ordinality
     LIMIT 1;
    IF FOUND THEN
        PERFORM discovery._raise(
            'WR005', 'p_records must hold only JSON objects',
            format('element %s of p_records is %s', v_bad, coalesce(jsonb_typeof(p_records[v_bad]), 'null')),
            'Make every element a JSON object.');
    END IF;
    RETURN discovery._insert_raw_records(p_client_account_id, p_engagement_id, p_data_import_id, p_records);
END
$$;
