-- A new asset as a jsonb row of migration.assets (for jsonb_populate_record),
-- from a record's cleansed fields and the columns that are not fields
-- (p_fixed: tenant, ID, flow links, discovery method, …). Fields that are no
-- asset column are its custom attributes; p_fixed wins over any field of the
-- same name, so that no record can write a tenant or link column.
CREATE FUNCTION discovery._asset_row(p_fields jsonb, p_fixed jsonb) RETURNS jsonb
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT p_fields
           || jsonb_build_object(
                  'name', coalesce(p_fields -> 'name', p_fields -> 'asset_name', p_fields -> 'hostname',
                                   p_fields -> 'fqdn', p_fields -> 'ip_address'),
                  'status', coalesce(p_fields -> 'status', '"active"'::jsonb),
                  'custom_attributes', p_fields - discovery._asset_columns() - 'external_ids',
                  'external_ids', coalesce(p_fields -> 'external_ids', '{}'::jsonb),
                  'flow_id', NULL, 'deleted_at', NULL)
           || p_fixed;
$$;
