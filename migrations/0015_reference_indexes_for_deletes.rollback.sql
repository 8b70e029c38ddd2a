-- Undoes 0015: the indexes of conflicts by raw record and by resolved asset,
-- and of discovery flows by master flow.
DROP INDEX migration.discovery_flows_master_flow_idx;
DROP INDEX migration.asset_conflict_resolutions_resolved_asset_idx;
DROP INDEX migration.asset_conflict_resolutions_raw_record_idx;
