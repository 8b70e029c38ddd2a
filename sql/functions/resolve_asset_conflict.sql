-- Resolves a pending conflict and links its raw record to the existing asset
-- (the old platform marked such records processed and never linked them):
--   keep_existing     leaves the asset as it is;
--   replace_with_new  overwrites its non-identity fields with the new data;
--   merge             copies only the fields named in p_merge_fields.
-- The record's outcome becomes matched and the conflict resolved; when it was
-- the flow's last pending conflict, the flow's inventory phase is complete.
-- Returns the asset the record is linked to.
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
    v_conflict migration.asset_conflict_resolutions;
    v_fields jsonb;
    v_bad text;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    IF p_action IS NULL OR p_action NOT IN ('keep_existing', 'replace_with_new', 'merge') THEN
        PERFORM discovery._raise(
            'WR006', 'unknown conflict action', format('p_action=%L', p_action),
            'Use keep_existing, replace_with_new or merge.');
    END IF;
    IF p_action = 'merge' THEN
        IF p_merge_fields IS NULL OR jsonb_typeof(p_merge_fields) <> 'array'
           OR jsonb_array_length(p_merge_fields) = 0
           OR EXISTS (SELECT FROM jsonb_array_elements(p_merge_fields) AS e (value)
                       WHERE jsonb_typeof(e.value) <> 'string') THEN
            PERFORM discovery._raise(
                'WR005', 'p_merge_fields must be a non-empty JSON array of field names',
                format('p_merge_fields=%s', coalesce(p_merge_fields::text, 'null')),
                'Name the fields to copy from the new data, for instance ["operating_system", "cpu_cores"].');
        END IF;
        SELECT e.value INTO v_bad
          FROM jsonb_array_elements_text(p_merge_fields) AS e (value)
         WHERE e.value = ANY (discovery._identity_columns())
         LIMIT 1;
        IF FOUND THEN
            PERFORM discovery._raise(
                'WR006', 'a merge cannot change the asset''s identity',
                format('p_merge_fields names %L', v_bad),
                format('Identity fields (%s) are kept; link the record with keep_existing instead.',
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
            'List the flow''s pending conflicts in migration.asset_conflict_resolutions '
            '(resolution_status = ''pending'').');
    END IF;

    -- The new data's fields to write: none, every non-identity field, or the named ones.
    v_fields := CASE p_action
        WHEN 'keep_existing' THEN '{}'::jsonb
        WHEN 'replace_with_new' THEN v_conflict.new_asset_data - discovery._identity_columns()
        ELSE (SELECT coalesce(jsonb_object_agg(kv.key, kv.value), '{}'::jsonb)
                FROM jsonb_each(v_conflict.new_asset_data) AS kv
               WHERE p_merge_fields ? kv.key)
    END;

    IF v_fields <> '{}'::jsonb THEN
        UPDATE migration.assets AS a
           SET asset_name = CASE WHEN v_fields ? 'asset_name' THEN discovery._field(v_fields, 'asset_name') ELSE a.asset_name END,
               mac_address = CASE WHEN v_fields ? 'mac_address' THEN discovery._field(v_fields, 'mac_address') ELSE a.mac_address END,
               operating_system = CASE WHEN v_fields ? 'operating_system'
                                       THEN discovery._field(v_fields, 'operating_system') ELSE a.operating_system END,
               os_version = CASE WHEN v_fields ? 'os_version' THEN discovery._field(v_fields, 'os_version') ELSE a.os_version END,
               cpu_cores = CASE WHEN v_fields ? 'cpu_cores'
                                THEN round(discovery._to_numeric(discovery._field(v_fields, 'cpu_cores')))::integer
                                ELSE a.cpu_cores END,
               memory_gb = CASE WHEN v_fields ? 'memory_gb'
                                THEN discovery._to_numeric(discovery._field(v_fields, 'memory_gb')) ELSE a.memory_gb END,
               storage_gb = CASE WHEN v_fields ? 'storage_gb'
                                 THEN discovery._to_numeric(discovery._field(v_fields, 'storage_gb')) ELSE a.storage_gb END,
               environment = CASE WHEN v_fields ? 'environment' THEN discovery._field(v_fields, 'environment') ELSE a.environment END,
               location = CASE WHEN v_fields ? 'location' THEN discovery._field(v_fields, 'location') ELSE a.location END,
               datacenter = CASE WHEN v_fields ? 'datacenter' THEN discovery._field(v_fields, 'datacenter') ELSE a.datacenter END,
               application_name = CASE WHEN v_fields ? 'application_name'
                                       THEN discovery._field(v_fields, 'application_name') ELSE a.application_name END,
               business_owner = CASE WHEN v_fields ? 'business_owner'
                                     THEN discovery._field(v_fields, 'business_owner') ELSE a.business_owner END,
               technical_owner = CASE WHEN v_fields ? 'technical_owner'
                                      THEN discovery._field(v_fields, 'technical_owner') ELSE a.technical_owner END,
               department = CASE WHEN v_fields ? 'department' THEN discovery._field(v_fields, 'department') ELSE a.department END,
               criticality = CASE WHEN v_fields ? 'criticality' THEN discovery._field(v_fields, 'criticality') ELSE a.criticality END,
               status = CASE WHEN v_fields ? 'status' THEN coalesce(discovery._field(v_fields, 'status'), a.status) ELSE a.status END,
               discovery_source = CASE WHEN v_fields ? 'discovery_source'
                                       THEN discovery._field(v_fields, 'discovery_source') ELSE a.discovery_source END,
               custom_attributes = a.custom_attributes || (v_fields - discovery._asset_columns()),
               updated_at = now()
         WHERE a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND a.id = v_conflict.existing_asset_id;
    END IF;

    UPDATE migration.raw_import_records AS r
       SET asset_id = v_conflict.existing_asset_id,
           is_processed = true,
           processed_at = now(),
           processing_status = 'matched',
           processing_notes = format('conflict %s resolved (%s): linked to asset %s',
                                     v_conflict.id, p_action, v_conflict.existing_asset_id)
     WHERE r.client_account_id = p_client_account_id
       AND r.id = v_conflict.raw_import_record_id
       AND r.asset_id IS NULL;

    UPDATE migration.asset_conflict_resolutions AS c
       SET resolution_status = 'resolved',
           resolution_action = p_action,
           resolved_asset_id = v_conflict.existing_asset_id,
           resolved_at = now()
     WHERE c.client_account_id = p_client_account_id
       AND c.id = v_conflict.id;

    PERFORM discovery._refresh_flow_progress(p_client_account_id, p_engagement_id, v_conflict.discovery_flow_id);
    RETURN v_conflict.existing_asset_id;
END
$$;
