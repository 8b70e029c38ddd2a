-- The asset columns that make its identity (DESIGN.md, "Reconciliation"):
-- filled when null, never overwritten by a run or a conflict resolution (nor
-- are the tenant and flow columns, which are not fields). External IDs are
-- identity too, per namespace.
CREATE FUNCTION discovery._identity_columns() RETURNS text[]
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
RETURN ARRAY['name', 'asset_name', 'hostname', 'fqdn', 'ip_address'];
