-- Tests of the tests, phase 1: states that are legitimate and must NOT be
-- flagged. Loaded with triggers and foreign keys ON (an ordinary session), so
-- the database itself vouches for them, except the last block (a legacy row
-- restored in replica mode, soft-deleted). `dbt build` must pass on it with no
-- warning. IDs are md5-derived so that broken_fixture.sql can name them.
--
-- Tenant A (client A, engagement A1):
--   import I1, flow D1 (run once): r1 created → a1, r2 matched → a1 (a1's
--   origin stays r1), r3 conflict (pending, no asset), r4 invalid (no asset),
--   r5 created → a2, a2 soft-deleted later; manual asset a_manual (no flow,
--   no raw record); import I2 with no flow (pending record r6); import I3 with
--   flow D3 that never ran (unprocessed record r7).
-- Tenant B (client B, engagement B1): import IB, flow DB, rB created → bA1.

\set ON_ERROR_STOP on

BEGIN;

INSERT INTO migration.client_accounts (id, name) VALUES
(md5('client:A')::uuid, 'Client A'),
(md5('client:B')::uuid, 'Client B');

INSERT INTO migration.engagements (client_account_id, id, name) VALUES
(md5('client:A')::uuid, md5('eng:A1')::uuid, 'Engagement A1'),
(md5('client:B')::uuid, md5('eng:B1')::uuid, 'Engagement B1');

INSERT INTO migration.crewai_flow_state_extensions
(client_account_id, engagement_id, id, flow_id, flow_type) VALUES
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('state:F1')::uuid, md5('flow:F1')::uuid, 'discovery'),
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('state:F2')::uuid, md5('flow:F2')::uuid, 'discovery'),
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('state:F3')::uuid, md5('flow:F3')::uuid, 'discovery'),
(md5('client:B')::uuid, md5('eng:B1')::uuid, md5('state:FB')::uuid, md5('flow:FB')::uuid, 'discovery');

INSERT INTO migration.data_imports
(client_account_id, engagement_id, id, master_flow_id, import_name, import_type, status) VALUES
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('import:I1')::uuid, md5('flow:F1')::uuid, 'servers', 'csv', 'completed'),
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('import:I2')::uuid, null, 'not started', 'csv', 'imported'),
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('import:I3')::uuid, md5('flow:F3')::uuid, 'not run', 'csv', 'processing'),
(md5('client:B')::uuid, md5('eng:B1')::uuid, md5('import:IB')::uuid, md5('flow:FB')::uuid, 'servers', 'csv', 'completed');

INSERT INTO migration.import_field_mappings
(client_account_id, engagement_id, data_import_id, source_field, target_field, status) VALUES
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('import:I1')::uuid, 'Host', 'hostname', 'approved');

INSERT INTO migration.discovery_flows
(client_account_id, engagement_id, id, flow_id, master_flow_id, data_import_id) VALUES
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('dflow:D1')::uuid, md5('flow:F1')::uuid, md5('flow:F1')::uuid, md5('import:I1')::uuid),
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('dflow:D3')::uuid, md5('flow:F3')::uuid, md5('flow:F3')::uuid, md5('import:I3')::uuid),
(md5('client:B')::uuid, md5('eng:B1')::uuid, md5('dflow:DB')::uuid, md5('flow:FB')::uuid, md5('flow:FB')::uuid, md5('import:IB')::uuid);

INSERT INTO migration.raw_import_records
(client_account_id, engagement_id, id, data_import_id, master_flow_id, row_number, raw_data,
 is_valid, is_processed, processed_at, processing_status, processing_notes) VALUES
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('raw:r1')::uuid, md5('import:I1')::uuid, md5('flow:F1')::uuid, 1,
 '{"Host": "web01"}', true, true, now(), 'created', 'new asset'),
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('raw:r2')::uuid, md5('import:I1')::uuid, md5('flow:F1')::uuid, 2,
 '{"Host": "WEB01"}', true, true, now(), 'matched', 'same hostname'),
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('raw:r3')::uuid, md5('import:I1')::uuid, md5('flow:F1')::uuid, 3,
 '{"Host": "web01", "ip_address": "10.0.0.9"}', true, true, now(), 'conflict', 'two assets'),
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('raw:r4')::uuid, md5('import:I1')::uuid, md5('flow:F1')::uuid, 4,
 '{}', false, true, now(), 'invalid', 'no identity key'),
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('raw:r5')::uuid, md5('import:I1')::uuid, md5('flow:F1')::uuid, 5,
 '{"Host": "old01"}', true, true, now(), 'created', 'new asset'),
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('raw:r6')::uuid, md5('import:I2')::uuid, null, 1,
 '{"Host": "db01"}', null, false, null, null, null),
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('raw:r7')::uuid, md5('import:I3')::uuid, md5('flow:F3')::uuid, 1,
 '{"Host": "db02"}', null, false, null, null, null),
(md5('client:B')::uuid, md5('eng:B1')::uuid, md5('raw:rB')::uuid, md5('import:IB')::uuid, md5('flow:FB')::uuid, 1,
 '{"Host": "b01"}', true, true, now(), 'created', 'new asset');

INSERT INTO migration.assets
(client_account_id, engagement_id, id, name, hostname, discovery_flow_id, master_flow_id,
 raw_import_records_id, discovery_method) VALUES
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('asset:a1')::uuid, 'web01', 'web01',
 md5('dflow:D1')::uuid, md5('flow:F1')::uuid, md5('raw:r1')::uuid, 'flow_based'),
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('asset:a2')::uuid, 'old01', 'old01',
 md5('dflow:D1')::uuid, md5('flow:F1')::uuid, md5('raw:r5')::uuid, 'flow_based'),
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('asset:a_manual')::uuid, 'printer', null,
 null, null, null, 'manual'),
(md5('client:B')::uuid, md5('eng:B1')::uuid, md5('asset:bA1')::uuid, 'b01', 'b01',
 md5('dflow:DB')::uuid, md5('flow:FB')::uuid, md5('raw:rB')::uuid, 'flow_based');

UPDATE migration.raw_import_records SET asset_id = md5('asset:a1')::uuid
WHERE id IN (md5('raw:r1')::uuid, md5('raw:r2')::uuid);
UPDATE migration.raw_import_records SET asset_id = md5('asset:a2')::uuid WHERE id = md5('raw:r5')::uuid;
UPDATE migration.raw_import_records SET asset_id = md5('asset:bA1')::uuid WHERE id = md5('raw:rB')::uuid;

-- a2 is soft-deleted: its raw record r5 still points to it (not an orphan).
UPDATE migration.assets SET deleted_at = now() WHERE id = md5('asset:a2')::uuid;

INSERT INTO migration.asset_conflict_resolutions
(client_account_id, engagement_id, id, discovery_flow_id, raw_import_record_id, existing_asset_id,
 conflict_type, conflict_key) VALUES
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('conflict:C1')::uuid, md5('dflow:D1')::uuid,
 md5('raw:r3')::uuid, md5('asset:a1')::uuid, 'ambiguous_identity', 'hostname');

INSERT INTO migration.asset_inventory_runs
(client_account_id, engagement_id, id, discovery_flow_id, mode, started_at, finished_at,
 records_handled, created, matched, conflicts, invalid, already_linked) VALUES
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('run:R1')::uuid, md5('dflow:D1')::uuid, 'derived',
 now() - interval '2 seconds', now(), 5, 2, 1, 1, 1, 0),
(md5('client:B')::uuid, md5('eng:B1')::uuid, md5('run:RB')::uuid, md5('dflow:DB')::uuid, 'derived',
 now() - interval '1 second', now(), 1, 1, 0, 0, 0, 0);

COMMIT;

-- A row restored from the old platform and soft-deleted since: unwired in
-- every way (no flow, a public flow ID as discovery_flow_id, an orphan raw
-- reference), but soft-deleted assets are not gaps. Needs replica mode.
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO migration.assets
(client_account_id, engagement_id, id, name, discovery_flow_id, master_flow_id,
 raw_import_records_id, discovery_method, deleted_at) VALUES
(md5('client:A')::uuid, md5('eng:A1')::uuid, md5('asset:a_deleted_legacy')::uuid, 'gone',
 md5('flow:F1')::uuid, md5('flow:F2')::uuid, md5('raw:nowhere')::uuid, 'flow_based', now());
COMMIT;
