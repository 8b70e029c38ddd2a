-- Foreign-key checks against raw records that stay lookups of one row.
--
-- A raw record is referenced by (client_account_id, engagement_id, id): the
-- check of each asset, asset change and conflict that names one runs
-- `SELECT 1 FROM ONLY raw_import_records WHERE client_account_id = $1 AND
-- engagement_id = $2 AND id = $3`. The listing index was led by
-- (client_account_id, engagement_id): with no column statistics (a database
-- or Citus shard never analysed, or analysed while empty, as a new database
-- and a new tenant's shard are) the planner costs it like the unique index
-- on (id, client_account_id, engagement_id), and took it: each check walked
-- the tenant's records up to the one it looked for. A first import of 20,000
-- records into a new database took 80.8 s to create its assets instead of
-- about 1 s (400 million index entries read), and a new tenant's 10,000
-- records on a Citus worker 7 s instead of 1.
--
-- The listing index now puts the import before the engagement: it still
-- gives an engagement's or an import's records in (import, row) order (an
-- import belongs to one engagement, and columns fixed by equality do not
-- change an index's order), and its two leading columns are no longer the
-- ones a key check compares, so the check takes the unique index.
-- depends: 0008_wiring_check_note_count

DROP INDEX migration.raw_import_records_tenant_listing_idx;
CREATE INDEX raw_import_records_tenant_listing_idx
ON migration.raw_import_records (client_account_id, data_import_id, engagement_id, row_number);
