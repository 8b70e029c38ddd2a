-- The asset columns a record's fields fill (DESIGN.md, "Field mapping"). A
-- field with another name is a custom attribute; external_ids holds the
-- external IDs. This list is the one definition of "an asset from fields":
-- discovery._asset_values_sql builds a new asset from it, and
-- discovery._asset_set_sql updates an asset's fields from it.
CREATE FUNCTION discovery._asset_columns() RETURNS text[]
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
RETURN ARRAY[
    'name', 'asset_name', 'asset_type', 'hostname', 'fqdn', 'ip_address',
    'mac_address', 'operating_system', 'os_version', 'cpu_cores', 'memory_gb',
    'storage_gb', 'environment', 'location', 'datacenter', 'application_name',
    'business_owner', 'technical_owner', 'department', 'criticality', 'status',
    'discovery_source'
];
