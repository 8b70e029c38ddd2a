-- Proposes a target for every source field seen in the import's raw records,
-- deterministically from the header alone: an asset column's own name
-- (confidence 1.0), a known synonym ("Server Name" → hostname; "Primary
-- IPv4" → ip_address; "OS", "Platform" → operating_system; …, 0.9), else the
-- header in snake_case, which lands in custom_attributes (0.3). No two
-- sources are proposed for one asset column: the best (highest confidence,
-- then first by name) keeps it, the others are proposed as custom attributes.
-- A header of symbols only is proposed as unnamed_column, a very long one is
-- cut. A blank header is not proposed: it needs no mapping (the cleansing keeps
-- its value as the custom attribute unnamed_column, with a warning), and
-- set_field_mappings takes no blank source field.
-- Writes nothing: approve with set_field_mappings.
CREATE FUNCTION discovery.suggest_field_mappings(
    p_client_account_id uuid,
    p_engagement_id uuid,
    p_data_import_id uuid
) RETURNS TABLE (source_field text, target_field text, confidence_score numeric)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
#variable_conflict use_column
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    PERFORM discovery._data_import(p_client_account_id, p_engagement_id, p_data_import_id);

    RETURN QUERY
    WITH source_fields AS (
        SELECT DISTINCT k.key AS source_field
          FROM migration.raw_import_records AS r
         CROSS JOIN LATERAL jsonb_object_keys(r.raw_data) AS k (key)
         WHERE r.data_import_id = p_data_import_id
           AND r.client_account_id = p_client_account_id
           AND r.engagement_id = p_engagement_id
           AND discovery._trim(k.key) <> ''
    ),
    normalized AS (
        SELECT s.source_field,
               btrim(regexp_replace(lower(s.source_field), '[^a-z0-9]+', '_', 'g'), '_') AS norm
          FROM source_fields AS s
    ),
    synonyms (norm, target_field) AS (
        VALUES
            ('server_name', 'hostname'), ('host', 'hostname'), ('host_name', 'hostname'),
            ('server', 'hostname'), ('computer_name', 'hostname'), ('machine_name', 'hostname'),
            ('dns_name', 'fqdn'), ('fully_qualified_domain_name', 'fqdn'), ('dns', 'fqdn'),
            ('ip', 'ip_address'), ('ip_addr', 'ip_address'), ('ipv4', 'ip_address'),
            ('ipv4_address', 'ip_address'), ('primary_ipv4', 'ip_address'),
            ('primary_ip', 'ip_address'), ('management_ip', 'ip_address'),
            ('mac', 'mac_address'),
            ('os', 'operating_system'), ('platform', 'operating_system'), ('os_name', 'operating_system'),
            ('ci_class', 'asset_type'), ('type', 'asset_type'), ('class', 'asset_type'),
            ('device_type', 'asset_type'), ('category', 'asset_type'), ('sys_class_name', 'asset_type'),
            ('ci_name', 'name'), ('display_name', 'name'), ('device_name', 'name'),
            ('vcpus', 'cpu_cores'), ('vcpu', 'cpu_cores'), ('cpus', 'cpu_cores'), ('cpu', 'cpu_cores'),
            ('cores', 'cpu_cores'), ('cpu_count', 'cpu_cores'), ('num_cpus', 'cpu_cores'),
            ('ram_gb', 'memory_gb'), ('memory', 'memory_gb'), ('ram', 'memory_gb'),
            ('disk_gb', 'storage_gb'), ('disk', 'storage_gb'), ('storage', 'storage_gb'),
            ('disk_size_gb', 'storage_gb'),
            ('env', 'environment'),
            ('site', 'location'), ('building', 'location'),
            ('data_center', 'datacenter'), ('dc', 'datacenter'),
            ('application', 'application_name'), ('app', 'application_name'),
            ('service', 'application_name'),
            ('owner', 'business_owner'), ('support_group', 'technical_owner'),
            ('dept', 'department'), ('cost_center', 'department'),
            ('priority', 'criticality'), ('business_criticality', 'criticality'), ('tier', 'criticality'),
            ('state', 'status'), ('operational_status', 'status')
    )
    , proposed AS (
        SELECT n.source_field, n.norm,
               CASE
                   WHEN n.norm = ANY (discovery._asset_columns()) THEN n.norm
                   WHEN s.target_field IS NOT NULL THEN s.target_field
               END AS column_target,
               CASE
                   WHEN n.norm = ANY (discovery._asset_columns()) THEN 1.000
                   WHEN s.target_field IS NOT NULL THEN 0.900
               END AS column_confidence
          FROM normalized AS n
          LEFT JOIN synonyms AS s ON s.norm = n.norm
    ),
    ranked AS (
        SELECT p.*,
               row_number() OVER (PARTITION BY p.column_target
                                  ORDER BY p.column_confidence DESC, p.source_field) AS rank
          FROM proposed AS p
    )
    SELECT r.source_field,
           CASE
               WHEN r.column_target IS NOT NULL AND r.rank = 1 THEN r.column_target
               WHEN r.norm = '' THEN 'unnamed_column'
               ELSE left(r.norm, 63)
           END,
           CASE WHEN r.column_target IS NOT NULL AND r.rank = 1 THEN r.column_confidence ELSE 0.300 END::numeric
      FROM ranked AS r
     ORDER BY r.source_field;
END
$$;
