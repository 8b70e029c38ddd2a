-- Upserts the import's field mappings from {source_field, target_field,
-- status?} objects (status defaults to approved); returns how many were
-- written. Once a flow of the import has run its inventory, a change to its
-- mappings would make assets disagree with their records: WR008.
CREATE FUNCTION discovery.set_field_mappings(
    p_client_account_id uuid,
    p_engagement_id uuid,
    p_data_import_id uuid,
    p_mappings jsonb
) RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    v_bad record;
    v_changed text;
    v_count integer;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    PERFORM discovery._data_import(p_client_account_id, p_engagement_id, p_data_import_id, true);
    PERFORM discovery._assert_payload(p_mappings, 'p_mappings');

    SELECT e.ordinality, e.value INTO v_bad
      FROM jsonb_array_elements(p_mappings) WITH ORDINALITY AS e (value, ordinality)
     WHERE jsonb_typeof(e.value -> 'source_field') IS DISTINCT FROM 'string'
        OR jsonb_typeof(e.value -> 'target_field') IS DISTINCT FROM 'string'
        OR btrim(e.value ->> 'source_field') = ''
        OR btrim(e.value ->> 'target_field') = ''
        OR coalesce(e.value ->> 'status', 'approved') NOT IN ('suggested', 'approved', 'rejected')
     ORDER BY e.ordinality
     LIMIT 1;
    IF FOUND THEN
        PERFORM discovery._raise(
            'WR005', 'malformed field mapping',
            format('element %s of p_mappings: %s', v_bad.ordinality, v_bad.value),
            'Each mapping is {"source_field": text, "target_field": text, "status": '
            '"approved" | "suggested" | "rejected" (optional, default approved)}.');
    END IF;

    SELECT e.value ->> 'source_field' INTO v_changed
      FROM jsonb_array_elements(p_mappings) AS e (value)
     GROUP BY e.value ->> 'source_field'
    HAVING count(*) > 1
     LIMIT 1;
    IF FOUND THEN
        PERFORM discovery._raise(
            'WR005', 'a source field is mapped twice',
            format('source_field=%L appears more than once in p_mappings', v_changed),
            'Give each source field one mapping.');
    END IF;

    -- A mapping that would change, on an import whose inventory already ran.
    SELECT e.value ->> 'source_field' INTO v_changed
      FROM jsonb_array_elements(p_mappings) AS e (value)
      LEFT JOIN migration.import_field_mappings AS m
        ON m.data_import_id = p_data_import_id
       AND m.client_account_id = p_client_account_id
       AND m.source_field = e.value ->> 'source_field'
     WHERE (m.id IS NULL
            OR m.target_field IS DISTINCT FROM e.value ->> 'target_field'
            OR m.status IS DISTINCT FROM coalesce(e.value ->> 'status', 'approved'))
       AND EXISTS (
           SELECT FROM migration.asset_inventory_runs AS run
             JOIN migration.discovery_flows AS f
               ON f.client_account_id = run.client_account_id
              AND f.id = run.discovery_flow_id
            WHERE f.client_account_id = p_client_account_id
              AND f.engagement_id = p_engagement_id
              AND f.data_import_id = p_data_import_id)
     LIMIT 1;
    IF FOUND THEN
        PERFORM discovery._raise(
            'WR008', 'the import''s mappings cannot change after its inventory ran',
            format('data_import_id=%s source_field=%L', p_data_import_id, v_changed),
            'Assets were already created with the current mappings; import the file again '
            '(a new import and flow) to apply different mappings.');
    END IF;

    INSERT INTO migration.import_field_mappings AS m (
        client_account_id, engagement_id, data_import_id, source_field, target_field, status,
        confidence_score
    )
    SELECT p_client_account_id, p_engagement_id, p_data_import_id,
           e.value ->> 'source_field', btrim(e.value ->> 'target_field'),
           coalesce(e.value ->> 'status', 'approved'),
           CASE WHEN jsonb_typeof(e.value -> 'confidence_score') = 'number'
                THEN least(greatest((e.value ->> 'confidence_score')::numeric, 0), 1) END
      FROM jsonb_array_elements(p_mappings) AS e (value)
    ON CONFLICT (data_import_id, source_field, client_account_id) DO UPDATE
       SET target_field = excluded.target_field,
           status = excluded.status,
           confidence_score = coalesce(excluded.confidence_score, m.confidence_score),
           updated_at = now();
    GET DIAGNOSTICS v_count = ROW_COUNT;

    UPDATE migration.discovery_flows AS f
       SET field_mapping_completed = true,
           current_phase = CASE WHEN f.current_phase IN ('data_import', 'field_mapping')
                                THEN 'data_cleansing' ELSE f.current_phase END,
           updated_at = now()
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
