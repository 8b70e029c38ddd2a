DROP TRIGGER IF EXISTS assets_legacy_flow_id_on_update ON migration.assets;
DROP TRIGGER IF EXISTS assets_legacy_flow_id_on_insert ON migration.assets;
DROP TRIGGER IF EXISTS raw_import_records_keep_asset_wired ON migration.raw_import_records;
DROP TRIGGER IF EXISTS assets_flow_based_wired_on_update ON migration.assets;
DROP TRIGGER IF EXISTS assets_flow_based_wired_on_insert ON migration.assets;
DROP FUNCTION IF EXISTS migration.assets_reject_legacy_flow_id();
DROP FUNCTION IF EXISTS migration.raw_import_records_check_wired();
DROP FUNCTION IF EXISTS migration.assets_check_wired();
DROP FUNCTION IF EXISTS migration.assert_asset_wired(uuid, uuid);
