-- The ten wiring_health counts, in the order reports show them.
CREATE FUNCTION discovery._gap_kinds() RETURNS text[]
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
RETURN ARRAY[
    'assets_missing_discovery_flow_id',
    'assets_with_unknown_discovery_flow_id',
    'assets_with_mismatched_master_flow_id',
    'assets_missing_raw_import_id',
    'assets_with_orphan_raw_ref',
    'links_disagree',
    'raw_records_missing_asset_id',
    'processed_records_missing_asset_id',
    'raw_with_orphan_asset_ref',
    'assets_with_legacy_flow_id_only'
];
