-- The assets' two listing indexes ascending, written at their end.
--
-- A create call inserts its new assets in about the order of their IDs
-- (version 7 UUIDs, drawn in the records' order; discovery._plan_sql), so an
-- index led by an ID, or by a constant of the batch and then the ID, gets each
-- entry at the end of the batch's range: it stays in memory, and pages split
-- full (90 % of each leaf used) instead of in the middle. Before, the call
-- inserted in the order of its identity grouping: every ID index was written
-- all over the batch's range, 68-70 % full (figures in benchmarks/README.md).
--
-- The tenant's and the flow's listing indexes were declared (created_at DESC,
-- id DESC), the order of a page: ascending inserts reach them at the front of
-- the batch's range, and a page split there leaves half of each leaf empty
-- (51 %). Declared ascending, they are written at the end like the others; a
-- page newest first reads them backwards, which a B-tree does as well.
-- Rebuilding them holds a lock on migration.assets (about 10 s per million
-- assets each).
-- depends: 0015_reference_indexes_for_deletes

DROP INDEX migration.assets_tenant_listing_idx;
CREATE INDEX assets_tenant_listing_idx
ON migration.assets (client_account_id, engagement_id, created_at, id)
WHERE deleted_at IS NULL;

DROP INDEX migration.assets_discovery_flow_idx;
CREATE INDEX assets_discovery_flow_idx
ON migration.assets (discovery_flow_id, created_at, id)
WHERE discovery_flow_id IS NOT NULL;
