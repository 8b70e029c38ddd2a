-- Inserts that stay in memory: a batch's index entries written side by side.
--
-- Measured on a database of 517,919 assets (shared_buffers 128MB): inserting
-- 86,875 assets of a new tenant took 9-10 s, against 1.2 s for the same rows
-- in a table with its primary key only. The time was the maintenance of
-- indexes whose entries land on random pages: IDs from gen_random_uuid() (the
-- primary key (client_account_id, id), assets_tenant_key (id, ...),
-- raw_import_records_id, the raw records' keys), and the identity indexes led
-- by the key itself (a host name or address: random too). Each such insertion
-- reads and dirties a page that is seldom still in shared buffers.
--
--   * New IDs of assets, raw records and asset changes are UUID version 7
--     (RFC 9562: 48 bits of Unix time in milliseconds, then random bits):
--     a batch's IDs are close to each other and to the newest, so their
--     entries go to the right-hand pages of each index led by an ID.
--   * The identity indexes are led by the tenant and engagement, then the key:
--     a new tenant's entries fill a range of their own. The lookups of
--     create_assets_from_discovery compare all three columns.
--
-- Same 86,875 assets: 3.6 s with both. IDs written before stay as they are;
-- an ID's version says nothing to the API (IDs are opaque), and a version 7
-- ID carries its creation time, which created_at already shows.
-- The identity indexes are rebuilt: on a big database this migration holds a
-- lock on migration.assets while they build (about 10 s per million assets).
-- depends: 0006_tenant_pin_operator

-- A UUID version 7: six bytes of Unix time in milliseconds, then the last ten
-- bytes of a version 4 UUID, its version bits 0100 made 0111.
CREATE FUNCTION migration.uuid_v7() RETURNS uuid
LANGUAGE sql
VOLATILE
PARALLEL SAFE
RETURN encode(
    set_bit(
        set_bit(
            substring(int8send(floor(extract(EPOCH FROM clock_timestamp()) * 1000)::bigint) FROM 3)
            || substring(uuid_send(gen_random_uuid()) FROM 7),
            52, 1
        ),
        53, 1
    ),
    'hex'
)::uuid;
ALTER FUNCTION migration.uuid_v7() OWNER TO discovery_owner;
REVOKE ALL ON FUNCTION migration.uuid_v7() FROM public;

ALTER TABLE migration.assets ALTER COLUMN id SET DEFAULT migration.uuid_v7();
ALTER TABLE migration.raw_import_records ALTER COLUMN id SET DEFAULT migration.uuid_v7();
ALTER TABLE migration.asset_changes ALTER COLUMN id SET DEFAULT migration.uuid_v7();

DROP INDEX migration.assets_identity_short_name_idx;
DROP INDEX migration.assets_identity_fqdn_idx;
DROP INDEX migration.assets_identity_ip_idx;
DROP INDEX migration.assets_identity_name_idx;
-- Identity keys of live assets, led by the tenant (create_assets_from_discovery).
CREATE INDEX assets_identity_short_name_idx
ON migration.assets (client_account_id, engagement_id, migration.short_name_key(hostname, fqdn))
WHERE deleted_at IS NULL AND (hostname IS NOT NULL OR fqdn IS NOT NULL);
CREATE INDEX assets_identity_fqdn_idx
ON migration.assets (client_account_id, engagement_id, migration.fqdn_key(fqdn))
WHERE deleted_at IS NULL AND fqdn IS NOT NULL;
CREATE INDEX assets_identity_ip_idx
ON migration.assets (client_account_id, engagement_id, migration.ip_key(ip_address))
WHERE deleted_at IS NULL AND ip_address IS NOT NULL;
CREATE INDEX assets_identity_name_idx
ON migration.assets (client_account_id, engagement_id, migration.identity_text(name))
WHERE deleted_at IS NULL AND name IS NOT NULL;
