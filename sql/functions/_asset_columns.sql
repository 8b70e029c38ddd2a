-- The asset columns a record's fields may fill. A field whose (mapped) name is
-- not one of these lands in custom_attributes.
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
