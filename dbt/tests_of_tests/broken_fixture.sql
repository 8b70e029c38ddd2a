-- Tests of the tests, phase 2: loaded on top of legit_fixture.sql, breaks
-- every invariant at least once, as a restore from the old platform could
-- (superuser, session_replication_role = replica: no trigger, no foreign key).
-- Every test tagged `invariant` must then fail. Each row says what it breaks.

\set ON_ERROR_STOP on

BEGIN;
SET LOCAL session_replication_role = replica;

-- Tenant A assets (all in flow D1 / master F1 unless said otherwise).
INSERT INTO migration.assets
(client_account_id, engagement_id, id, name, discovery_flow_id, master_flow_id,
 raw_import_records_id, discovery_method, flow_id) VALUES
-- raw_import_records_id names no raw record: assets_raw_record_same_tenant,
-- assets_with_orphan_raw_ref, flow_based_fully_wired.
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('asset:orphan_raw')::uuid, 'orphan_raw',
 md5('dflow:D1')::uuid, md5('flow:F1')::uuid, md5('raw:nowhere')::uuid, 'flow_based', null),
-- its raw record points elsewhere (null): links_disagree / points_back.
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('asset:disagree')::uuid, 'disagree',
 md5('dflow:D1')::uuid, md5('flow:F1')::uuid, md5('raw:r_dis')::uuid, 'flow_based', null),
-- raw_import_records_id cleared (its record still points to it):
-- assets_missing_raw_import_id.
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('asset:cleared')::uuid, 'cleared',
 md5('dflow:D1')::uuid, md5('flow:F1')::uuid, null, 'flow_based', null),
-- discovery_flow_id holds the flow's public flow_id: the ID mix-up.
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('asset:mixup')::uuid, 'mixup',
 md5('flow:F1')::uuid, md5('flow:F1')::uuid, md5('raw:r_mix')::uuid, 'flow_based', null),
-- master flow F2 is not its discovery flow's (F1): master_flow_agreement.
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('asset:mismatch')::uuid, 'mismatch',
 md5('dflow:D1')::uuid, md5('flow:F2')::uuid, md5('raw:r_mm')::uuid, 'flow_based', null),
-- a manual asset naming tenant B's master flow: assets_master_flow_same_tenant.
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('asset:foreign_master')::uuid, 'foreign_master',
 null, md5('flow:FB')::uuid, null, 'manual', null),
-- flow-based and wired to nothing: missing discovery flow and raw record.
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('asset:unwired')::uuid, 'unwired',
 null, null, null, 'flow_based', null),
-- a new write of the legacy flow_id, with no discovery_flow_id.
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('asset:legacy')::uuid, 'legacy',
 null, null, null, 'manual', md5('flow:F1')::uuid);

-- Tenant A raw records of import I1 (flow D1 has run).
INSERT INTO migration.raw_import_records
(client_account_id, engagement_id, id, data_import_id, master_flow_id, row_number, raw_data,
 is_valid, is_processed, processing_status, asset_id) VALUES
-- points to tenant B's asset: raw_records_asset_same_tenant, raw_with_orphan_asset_ref.
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('raw:r_cross')::uuid, md5('import:I1')::uuid,
 md5('flow:F1')::uuid, 101, '{}', true, true, 'created', md5('asset:bA1')::uuid),
-- origin of asset "disagree" but points nowhere, processed as created:
-- processed_records_missing_asset_id too.
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('raw:r_dis')::uuid, md5('import:I1')::uuid,
 md5('flow:F1')::uuid, 102, '{}', true, true, 'created', null),
-- still points to asset "cleared", whose back-pointer was cleared.
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('raw:r_cl')::uuid, md5('import:I1')::uuid,
 md5('flow:F1')::uuid, 103, '{}', true, true, 'created', md5('asset:cleared')::uuid),
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('raw:r_mix')::uuid, md5('import:I1')::uuid,
 md5('flow:F1')::uuid, 104, '{}', true, true, 'created', md5('asset:mixup')::uuid),
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('raw:r_mm')::uuid, md5('import:I1')::uuid,
 md5('flow:F1')::uuid, 105, '{}', true, true, 'created', md5('asset:mismatch')::uuid),
-- left behind: not processed, no asset, and its flow has run.
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('raw:r_left')::uuid, md5('import:I1')::uuid,
 md5('flow:F1')::uuid, 106, '{}', null, false, null, null),
-- processed as matched but linked to nothing.
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('raw:r_proc')::uuid, md5('import:I1')::uuid,
 md5('flow:F1')::uuid, 107, '{}', true, true, 'matched', null),
-- names tenant B's master flow: raw_records_master_flow_same_tenant.
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('raw:r_foreign_master')::uuid, md5('import:I1')::uuid,
 md5('flow:FB')::uuid, 108, '{}', null, true, 'invalid', null),
-- belongs to tenant B's import: raw_records_data_import_same_tenant.
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('raw:r_foreign_import')::uuid, md5('import:IB')::uuid,
 null, 1, '{}', null, true, 'invalid', null);

-- An import, a mapping and a discovery flow of tenant A naming tenant B's rows.
INSERT INTO migration.data_imports
(client_account_id, engagement_id, id, master_flow_id, import_name, import_type) VALUES
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('import:I_foreign_master')::uuid,
 md5('flow:FB')::uuid, 'foreign master', 'csv');

INSERT INTO migration.import_field_mappings
(client_account_id, engagement_id, data_import_id, source_field, target_field) VALUES
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('import:IB')::uuid, 'Host', 'hostname');

INSERT INTO migration.discovery_flows
(client_account_id, engagement_id, id, flow_id, master_flow_id, data_import_id) VALUES
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('dflow:D_foreign')::uuid,
 md5('flow:FB')::uuid, md5('flow:FB')::uuid, md5('import:IB')::uuid);

-- A conflict and a run of tenant A naming tenant B's flow, record and asset.
INSERT INTO migration.asset_conflict_resolutions
(client_account_id, engagement_id, id, discovery_flow_id, raw_import_record_id, existing_asset_id,
 resolved_asset_id, conflict_type, resolution_status, resolution_action) VALUES
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('conflict:C_foreign')::uuid, md5('dflow:DB')::uuid,
 md5('raw:rB')::uuid, md5('asset:bA1')::uuid, md5('asset:bA1')::uuid, 'ambiguous_identity',
 'resolved', 'keep_existing');

INSERT INTO migration.asset_inventory_runs
(client_account_id, engagement_id, id, discovery_flow_id, mode, started_at, finished_at,
 records_handled, created, matched, conflicts, invalid, already_linked) VALUES
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('run:R_foreign')::uuid, md5('dflow:DB')::uuid,
 'derived', now(), now(), 0, 0, 0, 0, 0, 0);

-- Rows of an engagement that client A never registered (ghost tenant G):
-- every *_engagement_registered test. They reference each other only.
INSERT INTO migration.crewai_flow_state_extensions
(client_account_id, engagement_id, id, flow_id, flow_type) VALUES
(md5('client:A')::uuid, md5('eng:G')::uuid, md5('state:FG')::uuid, md5('flow:FG')::uuid, 'discovery');

INSERT INTO migration.data_imports
(client_account_id, engagement_id, id, master_flow_id, import_name, import_type) VALUES
(md5('client:A')::uuid, md5('eng:G')::uuid, md5('import:IG')::uuid, md5('flow:FG')::uuid, 'ghost', 'csv');

INSERT INTO migration.import_field_mappings
(client_account_id, engagement_id, data_import_id, source_field, target_field) VALUES
(md5('client:A')::uuid, md5('eng:G')::uuid, md5('import:IG')::uuid, 'Host', 'hostname');

INSERT INTO migration.discovery_flows
(client_account_id, engagement_id, id, flow_id, master_flow_id, data_import_id) VALUES
(md5('client:A')::uuid, md5('eng:G')::uuid, md5('dflow:DG')::uuid, md5('flow:FG')::uuid,
 md5('flow:FG')::uuid, md5('import:IG')::uuid);

INSERT INTO migration.raw_import_records
(client_account_id, engagement_id, id, data_import_id, master_flow_id, row_number, raw_data,
 is_valid, is_processed, processing_status, asset_id) VALUES
(md5('client:A')::uuid, md5('eng:G')::uuid, md5('raw:rG')::uuid, md5('import:IG')::uuid,
 md5('flow:FG')::uuid, 1, '{}', true, true, 'created', md5('asset:aG')::uuid);

INSERT INTO migration.assets
(client_account_id, engagement_id, id, name, discovery_flow_id, master_flow_id,
 raw_import_records_id, discovery_method) VALUES
(md5('client:A')::uuid, md5('eng:G')::uuid, md5('asset:aG')::uuid, 'ghost',
 md5('dflow:DG')::uuid, md5('flow:FG')::uuid, md5('raw:rG')::uuid, 'flow_based');

INSERT INTO migration.asset_conflict_resolutions
(client_account_id, engagement_id, discovery_flow_id, raw_import_record_id, existing_asset_id,
 conflict_type) VALUES
(md5('client:A')::uuid, md5('eng:G')::uuid, md5('dflow:DG')::uuid, md5('raw:rG')::uuid,
 md5('asset:aG')::uuid, 'ambiguous_identity');

INSERT INTO migration.asset_inventory_runs
(client_account_id, engagement_id, discovery_flow_id, mode, started_at, finished_at,
 records_handled, created, matched, conflicts, invalid, already_linked) VALUES
(md5('client:A')::uuid, md5('eng:G')::uuid, md5('dflow:DG')::uuid, 'derived', now(), now(),
 1, 1, 0, 0, 0, 0);

-- An attribute change of tenant A recorded against tenant B's asset
-- (asset_changes_asset_same_tenant), and one of the ghost tenant G
-- (asset_changes_engagement_registered).
INSERT INTO migration.asset_changes
(client_account_id, engagement_id, asset_id, field, old_value, new_value) VALUES
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('asset:bA1')::uuid, 'hostname', '"b01"', '"b02"'),
(md5('client:A')::uuid, md5('eng:G')::uuid, md5('asset:aG')::uuid, 'hostname', '"g01"', '"g02"');

COMMIT;
