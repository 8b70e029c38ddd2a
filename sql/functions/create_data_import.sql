-- A new, empty data import of the tenant; returns its ID.
CREATE FUNCTION discovery.create_data_import(
    p_client_account_id uuid,
    p_engagement_id uuid,
    p_import_name text,
    p_import_type text,
    p_filename text,
    p_imported_by uuid DEFAULT NULL,
    p_source_system text DEFAULT NULL
) RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    v_id uuid;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    IF nullif(btrim(p_import_name), '') IS NULL OR nullif(btrim(p_import_type), '') IS NULL THEN
        PERFORM discovery._raise(
            'WR006', 'import name and import type are required',
            format('import_name=%L import_type=%L', p_import_name, p_import_type),
            'Pass a non-empty p_import_name and p_import_type (for instance ''cmdb'').');
    END IF;
    INSERT INTO migration.data_imports (
        client_account_id, engagement_id, import_name, import_type, filename,
        imported_by, source_system
    )
    VALUES (
        p_client_account_id, p_engagement_id, btrim(p_import_name), btrim(p_import_type),
        p_filename, p_imported_by, p_source_system
    )
    RETURNING id INTO v_id;
    RETURN v_id;
END
$$;
