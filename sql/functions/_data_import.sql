-- The tenant's data import with this ID, or WR003. p_lock takes the import's
-- row lock, which serialises writers of one import (row_number, counters).
CREATE FUNCTION discovery._data_import(
    p_client_account_id uuid, p_engagement_id uuid, p_data_import_id uuid,
    p_lock boolean DEFAULT FALSE
) RETURNS migration.data_imports
LANGUAGE plpgsql
AS $$
DECLARE
    v_import migration.data_imports;
BEGIN
    IF p_lock THEN
        SELECT i.* INTO v_import
          FROM migration.data_imports AS i
         WHERE i.client_account_id = p_client_account_id
           AND i.engagement_id = p_engagement_id
           AND i.id = p_data_import_id
           FOR UPDATE;
    ELSE
        SELECT i.* INTO v_import
          FROM migration.data_imports AS i
         WHERE i.client_account_id = p_client_account_id
           AND i.engagement_id = p_engagement_id
           AND i.id = p_data_import_id;
    END IF;
    IF NOT FOUND THEN
        PERFORM discovery._raise(
            'WR003', 'data import not found in this tenant',
            format('data_import_id=%s client_account_id=%s engagement_id=%s',
                   p_data_import_id, p_client_account_id, p_engagement_id),
            'Create the import with discovery.create_data_import in the same tenant.');
    END IF;
    RETURN v_import;
END
$$;
