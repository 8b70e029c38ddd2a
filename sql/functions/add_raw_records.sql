-- Appends one raw record per element of p_records (each a JSON object, kept
-- as raw_data). row_number continues after the import's last; returns the
-- number of rows added. Records added to an import whose flow has started
-- carry its master flow, and reopen the flow's inventory phase.
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
DECLARE
    v_import migration.data_imports;
    v_count integer;
    v_last integer;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    -- The import's row lock serialises concurrent appends to one import.
    v_import := discovery._data_import(p_client_account_id, p_engagement_id, p_data_import_id, true);
    v_count := discovery._assert_payload(p_records, 'p_records');
    IF v_count = 0 THEN
        RETURN 0;
    END IF;

    SELECT coalesce(max(r.row_number), 0) INTO v_last
      FROM migration.raw_import_records AS r
     WHERE r.data_import_id = p_data_import_id
       AND r.client_account_id = p_client_account_id;

    INSERT INTO migration.raw_import_records (
        client_account_id, engagement_id, data_import_id, master_flow_id, row_number, raw_data
    )
    SELECT p_client_account_id, p_engagement_id, p_data_import_id, v_import.master_flow_id,
           v_last + e.ordinality::integer, e.value
      FROM jsonb_array_elements(p_records) WITH ORDINALITY AS e (value, ordinality);

    UPDATE migration.data_imports AS i
       SET total_records = i.total_records + v_count,
           status = CASE WHEN i.status IN ('pending', 'importing') THEN 'imported' ELSE i.status END,
           updated_at = now()
     WHERE i.client_account_id = p_client_account_id
       AND i.id = p_data_import_id;

    UPDATE migration.discovery_flows AS f
       SET asset_inventory_completed = false,
           updated_at = now()
     WHERE f.client_account_id = p_client_account_id
       AND f.engagement_id = p_engagement_id
       AND f.data_import_id = p_data_import_id
       AND f.asset_inventory_completed;

    RETURN v_count;
END
$$;
