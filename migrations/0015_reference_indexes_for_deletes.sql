-- Key checks on delete that stay lookups of one row.
--
-- A conflict names a raw record and, once resolved, the asset it resolved
-- to. Deleting a raw record or an asset checks that no conflict names it:
-- `SELECT 1 FROM ONLY asset_conflict_resolutions WHERE client_account_id =
-- $1 AND engagement_id = $2 AND raw_import_record_id = $3` (or
-- resolved_asset_id). No index was led by either column (the raw record's
-- was indexed for pending conflicts only), so each check walked the tenant's
-- conflicts: a hand-made purge of an import's records or of assets read
-- every conflict of the tenant once per row deleted. The API deletes neither;
-- a person cleaning up by hand does. The same holds for a discovery flow
-- naming its master flow (a flow's state row deleted by hand walked the
-- tenant's flows).
--
-- raw_import_records.master_flow_id stays without an index of its own: it
-- would cost every record loaded an entry, for a check that runs only when a
-- flow's state row is deleted by hand (one row per import).
-- depends: 0014_row_notes_leave_the_count_unknown

CREATE INDEX asset_conflict_resolutions_raw_record_idx
ON migration.asset_conflict_resolutions (raw_import_record_id);

CREATE INDEX asset_conflict_resolutions_resolved_asset_idx
ON migration.asset_conflict_resolutions (resolved_asset_id)
WHERE resolved_asset_id IS NOT NULL;

CREATE INDEX discovery_flows_master_flow_idx
ON migration.discovery_flows (master_flow_id)
WHERE master_flow_id IS NOT NULL;
