-- Resolves a pending conflict (DESIGN.md, "resolve_asset_conflict") and links
-- its raw record; returns the asset the record is linked to:
--   keep_existing     links it to the existing asset, which is left as it is;
--   replace_with_new  writes the new data's non-identity fields to it;
--   merge             writes only the fields named in p_merge_fields;
--   create_new        decides that the record is a different asset: creates
--                     the record's own asset (in the conflict's flow) and
--                     links it.
-- Every value written to the existing asset is a migration.asset_changes row
-- naming the conflict. The record's outcome becomes matched (created for
-- create_new) and the conflict resolved; when it was the flow's last pending
-- conflict, the flow's inventory completes (discovery._sync_flow_state). An
-- existing asset soft-deleted since the conflict was raised takes no record:
-- WR008 (use create_new).
CREATE FUNCTION discovery.resolve_asset_conflict(
    p_client_account_id uuid,
    p_engagement_id uuid,
    p_conflict_id uuid,
    p_action text,
    p_merge_fields jsonb DEFAULT NULL
) RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    v_now timestamptz := now();
    v_conflict migration.asset_conflict_resolutions;
    v_flow migration.discovery_flows;
    v_import migration.data_imports;
    v_asset_id uuid;
    v_fields jsonb;
    v_bad text;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    IF p_action IS NULL OR p_action NOT IN ('keep_existing', 'replace_with_new', 'merge', 'create_new') THEN
        PERFORM discovery._raise(
            'WR006', 'unknown conflict action', format('p_action=%L', p_action),
            'Use keep_existing, replace_with_new, merge or create_new.');
    END IF;
    IF p_action = 'merge' THEN
        IF p_merge_fields IS NULL OR jsonb_typeof(p_merge_fields) <> 'array'
           OR jsonb_array_length(p_merge_fields) = 0
           OR EXISTS (SELECT FROM jsonb_array_elements(p_merge_fields) AS e (value)
                       WHERE jsonb_typeof(e.value) <> 'string') THEN
            PERFORM discovery._raise(
                'WR005', 'p_merge_fields must be a non-empty JSON array of field names',
                format('p_merge_fields=%s', left(coalesce(p_merge_fields::text, 'null'), 500)),
                'Name the fields to copy from the new data, for instance ["operating_system", "cpu_cores"].');
        END IF;
        SELECT e.value INTO v_bad
          FROM jsonb_array_elements_text(p_merge_fields) AS e (value)
         WHERE discovery._field_name(e.value) = ANY (discovery._identity_columns() || 'asset_type'::text)
            OR discovery._field_name(e.value) LIKE 'external\_ids%'
            OR lower(discovery._trim(e.value)) = 'external_ids'
         LIMIT 1;
        IF FOUND THEN
            PERFORM discovery._raise(
                'WR006', 'a merge cannot change the asset''s identity',
                format('p_merge_fields names %L', v_bad),
                format('Identity fields (%s, asset_type, external IDs) are kept; link the record with keep_existing, '
                       'or make it its own asset with create_new.',
                       array_to_string(discovery._identity_columns(), ', ')));
        END IF;
    END IF;

    PERFORM discovery._lock_tenant_assets(p_client_account_id, p_engagement_id);

    SELECT c.* INTO v_conflict
      FROM migration.asset_conflict_resolutions AS c
     WHERE c.client_account_id = p_client_account_id
       AND c.engagement_id = p_engagement_id
       AND c.id = p_conflict_id
       FOR UPDATE;
    IF NOT FOUND OR v_conflict.resolution_status <> 'pending' THEN
        PERFORM discovery._raise(
            'WR007', CASE WHEN FOUND THEN 'conflict already resolved' ELSE 'conflict not found in this tenant' END,
            format('conflict_id=%s resolution_status=%s resolution_action=%s',
                   p_conflict_id, v_conflict.resolution_status, v_conflict.resolution_action),
            'discovery.list_conflicts lists the tenant''s pending conflicts.');
    END IF;
    v_flow := discovery._discovery_flow(p_client_account_id, p_engagement_id, v_conflict.discovery_flow_id);

    IF p_action = 'create_new' THEN
        v_import := discovery._data_import(p_client_account_id, p_engagement_id, v_flow.data_import_id);
        v_asset_id := gen_random_uuid();
        EXECUTE 'INSERT INTO migration.assets ' || discovery._asset_values_sql('$5', jsonb_build_object(
                    'client_account_id', '$1', 'engagement_id', '$2', 'id', '$3', 'discovery_flow_id', '$4',
                    'master_flow_id', '$6', 'raw_import_records_id', '$7', 'field_mappings_used', '$8',
                    'discovery_method', '''flow_based''',
                    'discovery_source', 'coalesce($5 ->> ''discovery_source'', $9)', 'created_at', '$10',
                    'updated_at', '$10'), '(SELECT 1) AS one')
          USING p_client_account_id, p_engagement_id, v_asset_id, v_flow.id, v_conflict.new_asset_data,
                v_flow.master_flow_id, v_conflict.raw_import_record_id,
                discovery._approved_mappings(p_client_account_id, v_flow.data_import_id),
                coalesce(v_import.source_system, v_import.import_type), v_now;
    ELSE
        v_asset_id := v_conflict.existing_asset_id;
        IF NOT EXISTS (SELECT FROM migration.assets AS a
                        WHERE a.client_account_id = p_client_account_id
                          AND a.id = v_asset_id
                          AND a.deleted_at IS NULL) THEN
            PERFORM discovery._raise(
                'WR008', 'the conflict''s existing asset was deleted since the conflict was raised',
                format('conflict_id=%s existing_asset_id=%s', v_conflict.id, v_asset_id),
                'Resolve it with create_new (the record becomes its own asset).');
        END IF;
        -- the new data's fields to write: none, every non-identity field, or the named ones
        v_fields := CASE p_action
            WHEN 'keep_existing' THEN '{}'::jsonb
            WHEN 'replace_with_new' THEN v_conflict.new_asset_data - discovery._identity_columns() - 'external_ids'
            ELSE (SELECT coalesce(jsonb_object_agg(kv.key, kv.value), '{}'::jsonb)
                    FROM jsonb_each(v_conflict.new_asset_data) AS kv
                   WHERE kv.key IN (SELECT discovery._field_name(m.value)
                                      FROM jsonb_array_elements_text(p_merge_fields) AS m (value)))
        END;
        EXECUTE format($apply$
            WITH changes AS (
                SELECT $3 AS asset_id, f.field, f.old_value, f.new_value, $4 AS raw_import_record_id
                  FROM migration.assets AS a
                 CROSS JOIN LATERAL discovery._field_changes(to_jsonb(a), $5, 'refresh') AS f
                 WHERE a.client_account_id = $1
                   AND a.id = $3
            ),
            %s
            SELECT count(*) FROM logged
        $apply$, discovery._apply_changes_sql('$1', '$2', '$6', 'NULL::uuid', '$7'))
        USING p_client_account_id, p_engagement_id, v_asset_id, v_conflict.raw_import_record_id, v_fields, v_now,
              v_conflict.id;
    END IF;

    UPDATE migration.raw_import_records AS r
       SET asset_id = v_asset_id,
           is_processed = TRUE,
           processed_at = v_now,
           processing_status = CASE WHEN p_action = 'create_new' THEN 'created' ELSE 'matched' END,
           processing_notes = format('conflict %s resolved (%s): linked to asset %s', v_conflict.id, p_action,
                                     v_asset_id),
           master_flow_id = v_flow.master_flow_id
     WHERE r.client_account_id = p_client_account_id
       AND r.id = v_conflict.raw_import_record_id
       AND r.asset_id IS NULL;

    UPDATE migration.asset_conflict_resolutions AS c
       SET resolution_status = 'resolved',
           resolution_action = p_action,
           resolved_asset_id = v_asset_id,
           resolved_at = v_now
     WHERE c.client_account_id = p_client_account_id
       AND c.id = v_conflict.id;

    PERFORM discovery._sync_flow_state(p_client_account_id, p_engagement_id, v_conflict.discovery_flow_id);
    PERFORM migration.check_settled_wiring(p_client_account_id);  -- see create_assets_from_discovery
    RETURN v_asset_id;
END
$$;
