-- Appends records to an import (add_raw_records, add_raw_records_bulk): each
-- element of p_records (JSON objects, checked by the caller) is one row;
-- row_number continues after the import's last. The import's row lock
-- serialises appends to one import. Records added to an import whose flow has
-- started carry its master flow, and an inventory that had completed reopens
-- (discovery._sync_flow_state). Returns the number of rows added.
CREATE FUNCTION discovery._insert_raw_records(
    p_client_account_id uuid, p_engagement_id uuid, p_data_import_id uuid, p_records jsonb[]
) RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    v_import migration.data_imports;
    v_flow_id uuid;
    v_count integer := coalesce(cardinality(p_records), 0);
    v_last integer;
BEGIN
    v_import := discovery._data_import(p_client_account_id, p_engagement_id, p_data_import_id, TRUE);
    IF v_import.status = 'undone' THEN
        PERFORM discovery._raise(
            'WR008', 'the import was undone', format('data_import_id=%s', p_data_import_id),
            'An undone import takes no more records; create a new import.');
    END IF;
    IF v_count = 0 THEN
        RETURN 0;
    END IF;

    -- the import's last row_number is its total_records (this function writes
    -- both, under the import's row lock), or that of a row added by hand above
    -- it: the last entry of an index range past the total, empty as a rule. A
    -- max() over all the import's rows, planned with statistics that put the
    -- import at one row, read every one of them for each chunk, so a file
    -- loaded in chunks took time quadratic in its length (benchmarks/README.md)
    v_last := coalesce((
        SELECT r.row_number
          FROM migration.raw_import_records AS r
         WHERE r.client_account_id = p_client_account_id
           AND r.data_import_id = p_data_import_id
           AND r.engagement_id = p_engagement_id
           AND r.row_number > v_import.total_records
         ORDER BY r.row_number DESC
         LIMIT 1), v_import.total_records);

    INSERT INTO migration.raw_import_records (
        client_account_id, engagement_id, data_import_id, master_flow_id, row_number, raw_data
    )
    SELECT p_client_account_id, p_engagement_id, p_data_import_id, v_import.master_flow_id,
           v_last + e.ordinality::integer, e.value
      FROM unnest(p_records) WITH ORDINALITY AS e (value, ordinality);

    UPDATE migration.data_imports AS i
       SET total_records = i.total_records + v_count,
           status = CASE WHEN i.status IN ('pending', 'importing') THEN 'imported' ELSE i.status END,
           updated_at = now()
     WHERE i.client_account_id = p_client_account_id
       AND i.id = p_data_import_id;

    SELECT f.id INTO v_flow_id
      FROM migration.discovery_flows AS f
     WHERE f.client_account_id = p_client_account_id
       AND f.engagement_id = p_engagement_id
       AND f.data_import_id = p_data_import_id
       AND f.inventory_watermark IS NOT NULL;
    IF FOUND THEN
        PERFORM discovery._sync_flow_state(p_client_account_id, p_engagement_id, v_flow_id);
    END IF;
    RETURN v_count;
END
$$;
