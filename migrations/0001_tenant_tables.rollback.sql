-- Drops what 0001 created, except the cluster-wide roles.
DROP SCHEMA IF EXISTS discovery_health CASCADE;
DROP SCHEMA IF EXISTS migration CASCADE;
