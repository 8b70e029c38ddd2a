-- Upserts the import's field mappings from {source_field, target_field,
-- status?, confidence_score?, unit?, priority?, value_key?} objects (status
-- defaults to approved; DESIGN.md, "Source profiles"), and optionally the
-- import's field defaults (a profile's constant fields, e.g. {"asset_type":
-- "virtual_machine"}: each a value its field can hold, else WR005, stored as
-- the field holds it) and the name of its source profile. Returns how many
-- mappings were written.
--
--   target_field  an asset column (any case), external_ids.<namespace>, or
--                 any other name (a custom attribute); stored trimmed;
--   unit          the source unit of a memory or storage column (B, KB, KiB,
--                 MB, MiB, GB, GiB, TB, TiB), converted to GB;
--   priority      1–100: several approved sources may fill one asset column
--                 or external ID only with different priorities (the lowest
--                 non-empty wins, the others stay custom attributes): two with
--                 the same priority are refused (WR005);
--   value_key     the member holding the value of a nested JSON object.
--
-- A source field is matched to a record's keys whatever its case and padding,
-- so two mappings of one normalised source are refused (WR005). Once a flow of
-- the import has run its inventory, a change would make assets disagree with
-- their records: WR008 (sending the same mappings again is no change). A
-- change before that discards the cleansing of records not processed yet,
-- which was made with the old mappings.
CREATE FUNCTION discovery.set_field_mappings(
    p_client_account_id uuid,
    p_engagement_id uuid,
    p_data_import_id uuid,
    p_mappings jsonb,
    p_field_defaults jsonb DEFAULT NULL,
    p_profile text DEFAULT NULL
) RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    v_now timestamptz := now();
    v_import migration.data_imports;
    v_bad record;
    v_count integer;
    v_changed boolean;
    v_defaults jsonb;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    v_import := discovery._data_import(p_client_account_id, p_engagement_id, p_data_import_id, TRUE);
    PERFORM discovery._assert_payload(p_mappings, 'p_mappings');

    SELECT e.ordinality, e.value INTO v_bad
      FROM jsonb_array_elements(p_mappings) WITH ORDINALITY AS e (value, ordinality)
     WHERE jsonb_typeof(e.value -> 'source_field') IS DISTINCT FROM 'string'
        OR jsonb_typeof(e.value -> 'target_field') IS DISTINCT FROM 'string'
        OR coalesce(discovery._trim(e.value ->> 'source_field'), '') = ''
        OR coalesce(discovery._trim(e.value ->> 'target_field'), '') = ''
        OR length(e.value ->> 'target_field') > 1000
        OR coalesce(e.value ->> 'status', 'approved') NOT IN ('suggested', 'approved', 'rejected')
        OR coalesce(jsonb_typeof(e.value -> 'confidence_score'), 'null') NOT IN ('null', 'number')
        OR coalesce(e.value ->> 'unit', 'GB') NOT IN ('B', 'KB', 'KiB', 'MB', 'MiB', 'GB', 'GiB', 'TB', 'TiB')
        OR coalesce(jsonb_typeof(e.value -> 'value_key'), 'null') NOT IN ('null', 'string')
        OR coalesce(jsonb_typeof(e.value -> 'priority'), 'null') NOT IN ('null', 'number')
        OR (jsonb_typeof(e.value -> 'priority') = 'number'
            AND ((e.value ->> 'priority') !~ '^[0-9]{1,3}$' OR (e.value ->> 'priority')::integer NOT BETWEEN 1 AND 100))
     ORDER BY e.ordinality
     LIMIT 1;
    IF FOUND THEN
        PERFORM discovery._raise(
            'WR005', 'malformed field mapping',
            format('element %s of p_mappings: %s', v_bad.ordinality, left(v_bad.value::text, 500)),
            'Each mapping is {"source_field": text, "target_field": text (up to 1,000 characters), "status": '
            '"approved" | "suggested" | "rejected", "confidence_score": number, "unit": "MB" | "MiB" | "GB" | …, '
            '"priority": 1-100, "value_key": text}; only the first two are required.');
    END IF;
    SELECT e.ordinality, e.value ->> 'target_field' AS target INTO v_bad
      FROM jsonb_array_elements(p_mappings) WITH ORDINALITY AS e (value, ordinality)
     WHERE lower(discovery._trim(e.value ->> 'target_field')) IN ('external_ids', 'external_ids.')
     ORDER BY e.ordinality
     LIMIT 1;
    IF FOUND THEN
        PERFORM discovery._raise(
            'WR005', 'a mapping target names external IDs without a namespace',
            format('element %s of p_mappings: target_field=%L', v_bad.ordinality, v_bad.target),
            'Map an identifier the source guarantees unique to external_ids.<namespace>, e.g. '
            'external_ids.serial_number.');
    END IF;
    IF p_field_defaults IS NOT NULL AND jsonb_typeof(p_field_defaults) <> 'object' THEN
        PERFORM discovery._raise(
            'WR005', 'p_field_defaults must be a JSON object', format('p_field_defaults is %s',
                                                                       jsonb_typeof(p_field_defaults)),
            'Pass {"field": value, …}, e.g. {"asset_type": "virtual_machine"}.');
    END IF;
    -- A default fills a field as it is, so it must be a value the field can hold.
    SELECT d.key, d.value INTO v_bad
      FROM jsonb_each(coalesce(p_field_defaults, '{}')) AS d
     CROSS JOIN LATERAL (SELECT discovery._field_name(d.key) AS field, discovery._trim(d.value #>> '{}') AS text) AS x
     WHERE (x.field = ANY (discovery._asset_columns()) OR x.field LIKE 'external\_ids._%')
       AND (jsonb_typeof(d.value) NOT IN ('string', 'number', 'boolean')
            OR (x.field = 'ip_address' AND NOT migration.is_ip_address(x.text))
            OR (x.field = 'cpu_cores' AND (x.text !~ '^[0-9]{1,6}$' OR x.text::integer > 100000))
            OR (x.field IN ('memory_gb', 'storage_gb') AND (discovery._to_gb(x.text) <= 1e9) IS NOT TRUE)
            OR ((x.field = ANY (discovery._identity_columns()) OR x.field = 'asset_type'
                 OR x.field LIKE 'external\_ids._%') AND length(x.text) > 255)
            OR length(x.text) > 10000)
     ORDER BY d.key
     LIMIT 1;
    IF FOUND THEN
        PERFORM discovery._raise(
            'WR005', 'a field default is no value its field can hold',
            format('p_field_defaults.%s=%s', v_bad.key, left(v_bad.value::text, 200)),
            'A default is a text, number or boolean: an IP address for ip_address, a whole number from 0 to '
            '100,000 for cpu_cores, an amount up to 1e9 GB for memory_gb and storage_gb, up to 255 characters '
            'for identity fields, asset_type and external IDs, 10,000 for other text.');
    END IF;
    -- ... stored as the field holds it (the cleansing writes a default as it is).
    SELECT jsonb_object_agg(d.key, CASE
               WHEN x.field = 'ip_address' THEN to_jsonb(host(migration.ip_key(x.text)))
               WHEN x.field = 'cpu_cores' THEN to_jsonb(x.text::integer)
               WHEN x.field IN ('memory_gb', 'storage_gb') THEN to_jsonb(discovery._to_gb(x.text))
               WHEN x.field = ANY (discovery._asset_columns()) OR x.field LIKE 'external\_ids._%' THEN to_jsonb(x.text)
               ELSE d.value
           END)
      INTO v_defaults
      FROM jsonb_each(coalesce(p_field_defaults, '{}')) AS d
     CROSS JOIN LATERAL (SELECT discovery._field_name(d.key) AS field, discovery._trim(d.value #>> '{}') AS text) AS x;
    v_defaults := CASE WHEN p_field_defaults IS NOT NULL THEN coalesce(v_defaults, '{}') END;

    SELECT lower(discovery._trim(e.value ->> 'source_field')) AS source INTO v_bad
      FROM jsonb_array_elements(p_mappings) AS e (value)
     GROUP BY 1
    HAVING count(*) > 1
     LIMIT 1;
    IF FOUND THEN
        PERFORM discovery._raise(
            'WR005', 'a source field is mapped twice',
            format('source_field=%L appears more than once in p_mappings (case and padding aside)', v_bad.source),
            'Give each source field one mapping.');
    END IF;

    -- What this call would change, compared as stored (targets trimmed, asset columns in lower case).
    SELECT EXISTS (
               SELECT FROM jsonb_array_elements(p_mappings) AS e (value)
                 LEFT JOIN migration.import_field_mappings AS m
                   ON m.data_import_id = p_data_import_id
                  AND m.client_account_id = p_client_account_id
                  AND md5(m.source_field) = md5(e.value ->> 'source_field')
                WHERE m.id IS NULL
                   OR (m.target_field, m.status, m.unit, m.priority, m.value_key)
                      IS DISTINCT FROM (discovery._field_name(e.value ->> 'target_field'),
                                        coalesce(e.value ->> 'status', 'approved'), e.value ->> 'unit',
                                        coalesce((e.value ->> 'priority')::smallint, 1), e.value ->> 'value_key'))
           OR (v_defaults IS NOT NULL AND v_defaults IS DISTINCT FROM v_import.field_defaults)
      INTO v_changed;
    IF v_changed AND EXISTS (
           SELECT FROM migration.asset_inventory_runs AS run
             JOIN migration.discovery_flows AS f
               ON f.client_account_id = run.client_account_id
              AND f.id = run.discovery_flow_id
            WHERE f.client_account_id = p_client_account_id
              AND f.engagement_id = p_engagement_id
              AND f.data_import_id = p_data_import_id) THEN
        PERFORM discovery._raise(
            'WR008', 'the import''s mappings cannot change after its inventory ran',
            format('data_import_id=%s', p_data_import_id),
            'Assets were already created with the current mappings; import the file again '
            '(a new import and flow) to apply different mappings, or undo this one (discovery.undo_import).');
    END IF;

    INSERT INTO migration.import_field_mappings AS m (
        client_account_id, engagement_id, data_import_id, source_field, target_field, status,
        confidence_score, unit, priority, value_key, created_at, updated_at
    )
    SELECT p_client_account_id, p_engagement_id, p_data_import_id,
           e.value ->> 'source_field', discovery._field_name(e.value ->> 'target_field'),
           coalesce(e.value ->> 'status', 'approved'),
           CASE WHEN jsonb_typeof(e.value -> 'confidence_score') = 'number'
                THEN least(greatest((e.value ->> 'confidence_score')::numeric, 0), 1)::numeric(4, 3) END,
           e.value ->> 'unit', coalesce((e.value ->> 'priority')::smallint, 1), e.value ->> 'value_key', v_now, v_now
      FROM jsonb_array_elements(p_mappings) AS e (value)
    ON CONFLICT (data_import_id, md5(source_field), client_account_id) DO UPDATE
       SET target_field = excluded.target_field,
           status = excluded.status,
           confidence_score = coalesce(excluded.confidence_score, m.confidence_score),
           unit = excluded.unit,
           priority = excluded.priority,
           value_key = excluded.value_key,
           updated_at = excluded.updated_at;
    GET DIAGNOSTICS v_count = ROW_COUNT;

    -- Two approved sources of one asset column or external ID with one priority.
    SELECT m.target_field, m.priority, array_agg(m.source_field ORDER BY m.source_field) AS sources INTO v_bad
      FROM migration.import_field_mappings AS m
     WHERE m.data_import_id = p_data_import_id
       AND m.client_account_id = p_client_account_id
       AND m.status = 'approved'
       AND (m.target_field = ANY (discovery._asset_columns()) OR m.target_field LIKE 'external\_ids._%')
     GROUP BY m.target_field, m.priority
    HAVING count(*) > 1
     LIMIT 1;
    IF FOUND THEN
        PERFORM discovery._raise(
            'WR005', 'two source fields would fill one field',
            format('target_field=%L priority=%s source_fields=%s', v_bad.target_field, v_bad.priority,
                   array_to_string(v_bad.sources, ', ')),
            'Map the best source to the field and the others to custom attributes, or give them different '
            'priorities (the lowest non-empty value wins).');
    END IF;

    IF v_defaults IS NOT NULL OR p_profile IS NOT NULL THEN
        UPDATE migration.data_imports AS i
           SET field_defaults = coalesce(v_defaults, i.field_defaults),
               profile = coalesce(p_profile, i.profile),
               updated_at = v_now
         WHERE i.client_account_id = p_client_account_id
           AND i.id = p_data_import_id;
    END IF;

    IF v_changed THEN
        UPDATE migration.raw_import_records AS r
           SET cleansed_data = NULL,
               validation_errors = NULL,
               is_valid = NULL
         WHERE r.data_import_id = p_data_import_id
           AND r.client_account_id = p_client_account_id
           AND NOT r.is_processed
           AND r.cleansed_data IS NOT NULL;
    END IF;

    UPDATE migration.discovery_flows AS f
       SET field_mapping_completed = TRUE,
           current_phase = CASE WHEN f.current_phase IN ('data_import', 'field_mapping')
                                THEN 'data_cleansing' ELSE f.current_phase END,
           updated_at = v_now
     WHERE f.client_account_id = p_client_account_id
       AND f.engagement_id = p_engagement_id
       AND f.data_import_id = p_data_import_id
       AND NOT f.field_mapping_completed
       AND EXISTS (
           SELECT FROM migration.import_field_mappings AS m
            WHERE m.data_import_id = p_data_import_id
              AND m.client_account_id = p_client_account_id
              AND m.status = 'approved');

    RETURN v_count;
END
$$;
