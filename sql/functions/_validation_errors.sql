-- The validation errors of one record's cleansed fields, as a JSON array of
-- {field, error, value}; empty when the record is valid.
CREATE FUNCTION discovery._validation_errors(p_fields jsonb) RETURNS jsonb
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('field', c.field, 'error', c.error, 'value', c.value)
                              ORDER BY c.position), '[]'::jsonb)
      FROM (
        VALUES
            (1, 'name', 'no name and no identity key (hostname, fqdn, ip_address)', NULL::text,
             discovery._field(p_fields, 'name') IS NULL
             AND discovery._field(p_fields, 'hostname') IS NULL
             AND discovery._field(p_fields, 'fqdn') IS NULL
             AND discovery._field(p_fields, 'ip_address') IS NULL),
            (2, 'ip_address', 'not an IPv4 or IPv6 address', discovery._field(p_fields, 'ip_address'),
             discovery._field(p_fields, 'ip_address') IS NOT NULL
             AND discovery._field(p_fields, 'ip_address')
                 !~ '^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$'
             AND discovery._field(p_fields, 'ip_address') !~* '^[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}$'),
            (3, 'cpu_cores', 'not a whole number', discovery._field(p_fields, 'cpu_cores'),
             discovery._field(p_fields, 'cpu_cores') !~ '^[0-9]{1,6}(\.0+)?$'),
            (4, 'memory_gb', 'not a number', discovery._field(p_fields, 'memory_gb'),
             discovery._field(p_fields, 'memory_gb') !~ '^[0-9]{1,12}(\.[0-9]+)?$'),
            (5, 'storage_gb', 'not a number', discovery._field(p_fields, 'storage_gb'),
             discovery._field(p_fields, 'storage_gb') !~ '^[0-9]{1,12}(\.[0-9]+)?$')
      ) AS c (position, field, error, value, failed)
     WHERE c.failed;
$$;
