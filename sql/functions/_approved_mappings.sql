-- The import's approved mappings as the asset records them
-- (field_mappings_used): {source_field: target_field}.
CREATE FUNCTION discovery._approved_mappings(p_client_account_id uuid, p_data_import_id uuid) RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    v_mappings jsonb;
BEGIN
    SELECT coalesce(jsonb_object_agg(m.source_field, m.target_field), '{}'::jsonb)
      INTO v_mappings
      FROM migration.import_field_mappings AS m
     WHERE m.data_import_id = p_data_import_id
       AND m.client_account_id = p_client_account_id
       AND m.status = 'approved';
    RETURN v_mappings;
END
$$;
