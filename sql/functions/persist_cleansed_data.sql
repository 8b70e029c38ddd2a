-- Stores cleansing results computed elsewhere, from {raw_import_record_id,
-- cleansed_data, validation_errors?} objects. The cleansed data goes through
-- the server's value rules (keys matched to asset columns in any case,
-- placeholders, IP lists, numbers in range, identity lengths: what cannot be
-- stored becomes null with a warning), and the caller's validation errors are
-- kept beside those warnings: a record is valid when the caller gave no error
-- and it has an identity. Returns the number of records written. A record
-- must belong to the flow's import (WR004) and not be processed yet (WR008);
-- each record once (WR005, whatever the case of its UUID).
CREATE FUNCTION discovery.persist_cleansed_data(
    p_client_account_id uuid,
    p_engagement_id uuid,
    p_discovery_flow_id uuid,
    p_cleansed jsonb
) RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    v_flow migration.discovery_flows;
    v_bad record;
    v_keys text[];
    v_count integer;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    v_flow := discovery._discovery_flow(p_client_account_id, p_engagement_id, p_discovery_flow_id);
    PERFORM discovery._assert_payload(p_cleansed, 'p_cleansed');

    SELECT e.ordinality, e.value INTO v_bad
      FROM jsonb_array_elements(p_cleansed) WITH ORDINALITY AS e (value, ordinality)
     WHERE jsonb_typeof(e.value -> 'raw_import_record_id') IS DISTINCT FROM 'string'
        OR NOT discovery._is_uuid(e.value ->> 'raw_import_record_id')
        OR jsonb_typeof(e.value -> 'cleansed_data') IS DISTINCT FROM 'object'
        OR coalesce(jsonb_typeof(e.value -> 'validation_errors'), 'null') NOT IN ('null', 'array')
     ORDER BY e.ordinality
     LIMIT 1;
    IF FOUND THEN
        PERFORM discovery._raise(
            'WR005', 'malformed cleansed record',
            format('element %s of p_cleansed: %s', v_bad.ordinality, left(v_bad.value::text, 500)),
            'Each element is {"raw_import_record_id": uuid, "cleansed_data": object, '
            '"validation_errors": array (optional)}.');
    END IF;

    SELECT (e.value ->> 'raw_import_record_id')::uuid AS id INTO v_bad
      FROM jsonb_array_elements(p_cleansed) AS e (value)
     GROUP BY (e.value ->> 'raw_import_record_id')::uuid
    HAVING count(*) > 1
     LIMIT 1;
    IF FOUND THEN
        PERFORM discovery._raise(
            'WR005', 'a raw record appears twice in p_cleansed',
            format('raw_import_record_id=%s', v_bad.id),
            'Send one cleansing result per raw record.');
    END IF;

    -- Each record is looked up by its primary key alone, from the element's
    -- own tenant column (OFFSET 0 keeps it opaque), and its engagement and
    -- import are compared after the join: given constants, a planner whose
    -- statistics do not know the tenant or import yet may scan them once per
    -- element (see cleanse_records).
    SELECT e.value ->> 'raw_import_record_id' AS id, r.is_processed,
           r.id IS NOT NULL AND r.engagement_id = p_engagement_id AND r.data_import_id = v_flow.data_import_id
               AS in_import
      INTO v_bad
      FROM (SELECT p_client_account_id AS tenant, x.value
              FROM jsonb_array_elements(p_cleansed) AS x (value)
            OFFSET 0) AS e
      LEFT JOIN migration.raw_import_records AS r
        ON r.client_account_id = e.tenant
       AND r.id = (e.value ->> 'raw_import_record_id')::uuid
       AND r.client_account_id OPERATOR(migration.===) p_client_account_id
     WHERE r.id IS NULL OR r.engagement_id <> p_engagement_id OR r.data_import_id <> v_flow.data_import_id
        OR r.is_processed
     ORDER BY r.id IS NOT NULL AND r.engagement_id = p_engagement_id AND r.data_import_id = v_flow.data_import_id
     LIMIT 1;
    IF FOUND AND NOT v_bad.in_import THEN
        PERFORM discovery._raise(
            'WR004', 'raw record is not part of this flow''s import',
            format('raw_import_record_id=%s discovery_flow_id=%s data_import_id=%s',
                   v_bad.id, v_flow.id, v_flow.data_import_id),
            'Send only records of the import the flow was started on: discovery.list_raw_records lists them.');
    ELSIF FOUND THEN
        PERFORM discovery._raise(
            'WR008', 'cleansed data cannot be written for a record already processed',
            format('raw_import_record_id=%s discovery_flow_id=%s', v_bad.id, v_flow.id),
            'Its asset was already created or matched from the data it had; import the record again to change it.');
    END IF;

    -- the keys once each (a hash of them; array_agg(DISTINCT) sorted every key of every record)
    SELECT array_agg(d.key ORDER BY d.key) INTO v_keys
      FROM (SELECT DISTINCT k.key
          FROM jsonb_array_elements(p_cleansed) AS e (value)
         CROSS JOIN LATERAL jsonb_object_keys(e.value -> 'cleansed_data') AS k (key)) AS d;

    EXECUTE format($persist$
        WITH c AS MATERIALIZED (%s)
        UPDATE migration.raw_import_records AS r
           SET cleansed_data = c.fields,
               validation_errors = c.caller_errors || c.problems,
               is_valid = jsonb_array_length(c.caller_errors) = 0 AND NOT c.problems @> '[{"severity": "error"}]'
          FROM c
         WHERE r.client_account_id = c.dw_tenant
           AND r.id = c.id
           AND r.client_account_id OPERATOR(migration.===) $1
    $persist$, discovery._cleansing_sql('{}', coalesce(v_keys, '{}'), '{}',
        'SELECT $1::uuid AS dw_tenant, (e.value ->> ''raw_import_record_id'')::uuid AS id, e.value -> ''cleansed_data'' AS data, '
        'CASE WHEN jsonb_typeof(e.value -> ''validation_errors'') = ''array'' THEN e.value -> ''validation_errors'' '
        'ELSE ''[]''::jsonb END AS caller_errors FROM jsonb_array_elements($2) AS e (value)'))
    USING p_client_account_id, p_cleansed;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;
