-- The asset columns that make its identity: a conflict resolution never
-- overwrites them (nor the tenant and flow columns, which are not fields).
CREATE FUNCTION discovery._identity_columns() RETURNS text[]
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
RETURN ARRAY['name', 'asset_type', 'hostname', 'fqdn', 'ip_address'];
