-- Identity, reconciliation, undo and health at scale (DESIGN.md: "Identity",
-- "Reconciliation", "undo_import", "wiring_health").
--
--   * identity keys: normalisation functions in schema migration (IMMUTABLE,
--     so indexes can use them; discovery is rebuilt on every deploy and no
--     index may depend on it), external IDs on the asset, and one index per key;
--   * migration.asset_changes: every attribute value a run or a conflict
--     resolution changed on an existing asset (what undo_import reverts);
--   * field mappings carry the source unit, a priority (fallback sources of
--     one target) and the key of a nested value; any header length is accepted;
--   * the wiring check of invariant 3 on INSERT is set-based: a statement-level
--     trigger checks the inserted rows at the end of their statement and defers
--     a per-row check at COMMIT only for rows not wired yet (a writer wiring by
--     hand in several statements). The API writes an asset and its back-pointer
--     in one statement, so its COMMIT has no per-row work left;
--   * no trigger or helper takes a row of migration.assets: a distributed
--     table's shards have their own row types;
--   * a hard DELETE of an asset is decided by the foreign keys (its raw
--     record's back-pointer refuses it); 0002's BEFORE DELETE trigger skipped
--     the row instead;
--   * counters kept by statement-level triggers (live assets per tenant, flow,
--     type and status; records per import and outcome), so that paging and
--     health never count a million rows;
--   * migration.tenants_unverified: a write made with session_replication_role
--     = replica (a restore) bypasses foreign keys, triggers and counters; such a
--     tenant is reported by full scans until repair_wiring verifies it.
-- depends: 0002_wiring_triggers

-- == identity keys ================================================================================

-- Identity text needs Unicode normalisation, which PostgreSQL offers in UTF-8
-- databases only.
DO $encoding$
BEGIN
    IF current_setting('server_encoding') <> 'UTF8' THEN
        RAISE EXCEPTION 'discovery-wiring needs a UTF8 database; this one is %', current_setting('server_encoding')
            USING HINT = 'Create the database with ENCODING ''UTF8'' (and a UTF-8 locale), then migrate it.';
    END IF;
END
$encoding$;

-- Text as identity compares it: Unicode NFKC (skipped for ASCII text, which
-- it leaves as it is), lower case, every kind of whitespace trimmed at both
-- ends, empty as null; at most 500 characters, so that an index entry always
-- fits whatever a writer stores.
CREATE FUNCTION migration.identity_text(p_value text) RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
RETURN nullif(left(lower(btrim(
    CASE WHEN octet_length(p_value) = length(p_value) THEN p_value ELSE normalize(p_value, NFKC) END,
    E' \t\n\r\u000b\f\u0085\u00a0\u1680\u180e\u2000\u2001\u2002\u2003\u2004\u2005\u2006'
    || E'\u2007\u2008\u2009\u200a\u200b\u200c\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff')),
    500), '');

-- A fully qualified name as identity compares it: identity text, trailing dots removed.
CREATE FUNCTION migration.fqdn_key(p_fqdn text) RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
RETURN nullif(rtrim(migration.identity_text(p_fqdn), '.'), '');

-- Whether text is one IPv4 or IPv6 address (no prefix length, no zone):
-- exactly what the inet type accepts, so that a cast after it cannot fail.
-- An IPv6 address ending in dotted IPv4 is checked with that part as two groups.
CREATE FUNCTION migration.is_ip_address(p_value text) RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
PARALLEL SAFE
STRICT
AS $$
DECLARE
    v_tail text;
BEGIN
    IF p_value ~ '^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$' THEN
        RETURN split_part(p_value, '.', 1)::integer <= 255 AND split_part(p_value, '.', 2)::integer <= 255
           AND split_part(p_value, '.', 3)::integer <= 255 AND split_part(p_value, '.', 4)::integer <= 255;
    END IF;
    IF strpos(p_value, ':') = 0 OR p_value !~* '^[0-9a-f:.]{2,45}$' THEN
        RETURN false;
    END IF;
    IF strpos(p_value, '.') > 0 THEN
        v_tail := substring(p_value FROM '[^:]*$');
        IF NOT migration.is_ip_address(v_tail) OR strpos(v_tail, ':') > 0 THEN
            RETURN false;
        END IF;
        p_value := left(p_value, length(p_value) - length(v_tail)) || '0:0';
    END IF;
    RETURN p_value ~* ('^('
        '([0-9a-f]{1,4}:){7}[0-9a-f]{1,4}'
        '|([0-9a-f]{1,4}:){1,7}:'
        '|([0-9a-f]{1,4}:){1,6}:[0-9a-f]{1,4}'
        '|([0-9a-f]{1,4}:){1,5}(:[0-9a-f]{1,4}){1,2}'
        '|([0-9a-f]{1,4}:){1,4}(:[0-9a-f]{1,4}){1,3}'
        '|([0-9a-f]{1,4}:){1,3}(:[0-9a-f]{1,4}){1,4}'
        '|([0-9a-f]{1,4}:){1,2}(:[0-9a-f]{1,4}){1,5}'
        '|[0-9a-f]{1,4}:(:[0-9a-f]{1,4}){1,6}'
        '|:((:[0-9a-f]{1,4}){1,7}|:)'
        ')$');
END
$$;

-- The short name: the first label of the hostname, or of the FQDN when there
-- is no hostname, so that web01 and web01.corp.example.com share it. An IP
-- address written as a host name keeps all its labels.
CREATE FUNCTION migration.short_name_key(p_hostname text, p_fqdn text) RETURNS text
LANGUAGE plpgsql
IMMUTABLE
PARALLEL SAFE
AS $$
DECLARE
    v_name text := coalesce(migration.fqdn_key(p_hostname), migration.fqdn_key(p_fqdn));
BEGIN
    IF strpos(v_name, '.') = 0 OR strpos(v_name, ':') > 0 OR migration.is_ip_address(v_name) THEN
        RETURN v_name;
    END IF;
    RETURN nullif(split_part(v_name, '.', 1), '');
END
$$;

-- An address as identity compares it (inet, host only); an IPv4-mapped IPv6
-- address is its IPv4 address. Null for anything that is not one address.
CREATE FUNCTION migration.ip_key(p_value text) RETURNS inet
LANGUAGE plpgsql
IMMUTABLE
PARALLEL SAFE
STRICT
AS $$
DECLARE
    v_ip inet;
BEGIN
    p_value := btrim(p_value);
    IF NOT migration.is_ip_address(p_value) THEN
        RETURN NULL;
    END IF;
    v_ip := p_value::inet;
    IF v_ip << '::ffff:0.0.0.0/96'::inet THEN
        RETURN '0.0.0.0'::inet + (v_ip - '::ffff:0.0.0.0'::inet);
    END IF;
    RETURN v_ip;
END
$$;

ALTER TABLE migration.assets ADD COLUMN external_ids jsonb NOT NULL DEFAULT '{}';

DROP INDEX migration.assets_identity_hostname_idx;
DROP INDEX migration.assets_identity_fqdn_idx;
DROP INDEX migration.assets_identity_ip_idx;
DROP INDEX migration.assets_identity_name_type_idx;

-- Identity keys of live assets, each led by the key itself (create_assets_from_discovery).
CREATE INDEX assets_identity_short_name_idx
ON migration.assets (migration.short_name_key(hostname, fqdn), client_account_id, engagement_id)
WHERE deleted_at IS NULL AND (hostname IS NOT NULL OR fqdn IS NOT NULL);
CREATE INDEX assets_identity_fqdn_idx
ON migration.assets (migration.fqdn_key(fqdn), client_account_id, engagement_id)
WHERE deleted_at IS NULL AND fqdn IS NOT NULL;
CREATE INDEX assets_identity_ip_idx
ON migration.assets (migration.ip_key(ip_address), client_account_id, engagement_id)
WHERE deleted_at IS NULL AND ip_address IS NOT NULL;
CREATE INDEX assets_identity_name_idx
ON migration.assets (migration.identity_text(name), client_account_id, engagement_id)
WHERE deleted_at IS NULL AND name IS NOT NULL;
-- fastupdate off: a pending list would be scanned whole by every lookup of a big batch.
CREATE INDEX assets_identity_external_ids_idx
ON migration.assets USING gin (external_ids jsonb_path_ops) WITH (fastupdate = off)
WHERE deleted_at IS NULL AND external_ids <> '{}'::jsonb;

-- == reconciliation and undo ======================================================================

ALTER TABLE migration.asset_inventory_runs
ADD COLUMN updated integer NOT NULL DEFAULT 0,
ADD COLUMN on_match text CHECK (on_match IN ('refresh', 'fill_empty', 'keep')),
ADD CONSTRAINT asset_inventory_runs_tenant_key UNIQUE (id, client_account_id, engagement_id);

ALTER TABLE migration.asset_conflict_resolutions
DROP CONSTRAINT asset_conflict_resolutions_resolution_action_check,
ADD CONSTRAINT asset_conflict_resolutions_resolution_action_check
CHECK (resolution_action IN ('keep_existing', 'replace_with_new', 'merge', 'create_new')),
ADD COLUMN resolution_note text,
ADD CONSTRAINT asset_conflict_resolutions_tenant_key UNIQUE (id, client_account_id, engagement_id);

ALTER TABLE migration.raw_import_records
DROP CONSTRAINT raw_import_records_processing_status_check,
ADD CONSTRAINT raw_import_records_processing_status_check
CHECK (processing_status IN ('created', 'matched', 'conflict', 'invalid', 'discarded'));

ALTER TABLE migration.data_imports
DROP CONSTRAINT data_imports_status_check,
ADD CONSTRAINT data_imports_status_check
CHECK (status IN ('pending', 'importing', 'imported', 'processing', 'completed', 'failed', 'undone')),
ADD COLUMN profile text,
ADD COLUMN field_defaults jsonb NOT NULL DEFAULT '{}';

-- The highest row_number a run of the flow has covered: a record above it
-- was added since, and is not left behind.
ALTER TABLE migration.discovery_flows ADD COLUMN inventory_watermark integer;
UPDATE migration.discovery_flows AS f
   SET inventory_watermark = (SELECT coalesce(max(r.row_number), 0)
                                FROM migration.raw_import_records AS r
                               WHERE r.client_account_id = f.client_account_id
                                 AND r.data_import_id = f.data_import_id)
 WHERE EXISTS (SELECT FROM migration.asset_inventory_runs AS run
                WHERE run.client_account_id = f.client_account_id
                  AND run.discovery_flow_id = f.id);

-- Mappings: the unit of a memory or storage source (converted to GB), the
-- priority of several sources of one target (the lowest-numbered non-empty
-- value wins), and the key holding the value of a nested object.
ALTER TABLE migration.import_field_mappings
ADD COLUMN unit text CHECK (unit IN ('B', 'KB', 'KiB', 'MB', 'MiB', 'GB', 'GiB', 'TB', 'TiB')),
ADD COLUMN priority smallint NOT NULL DEFAULT 1 CHECK (priority BETWEEN 1 AND 100),
ADD COLUMN value_key text,
DROP CONSTRAINT import_field_mappings_source_field_key;
-- By hash: a source field (a file's header) may be any length.
CREATE UNIQUE INDEX import_field_mappings_source_field_key
ON migration.import_field_mappings (data_import_id, md5(source_field), client_account_id);

-- One row per attribute value that a run or a conflict resolution changed on
-- an existing asset. field: an asset column, custom_attributes.<key> or
-- external_ids.<namespace>.
CREATE TABLE migration.asset_changes (
    client_account_id uuid NOT NULL,
    engagement_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    asset_id uuid NOT NULL,
    field text NOT NULL,
    old_value jsonb,
    new_value jsonb,
    run_id uuid,
    conflict_id uuid,
    raw_import_record_id uuid,
    changed_at timestamptz NOT NULL DEFAULT now(),
    reverted_at timestamptz,
    PRIMARY KEY (client_account_id, id),
    CONSTRAINT asset_changes_engagement_fkey
    FOREIGN KEY (client_account_id, engagement_id)
    REFERENCES migration.engagements (client_account_id, id),
    CONSTRAINT asset_changes_asset_fkey
    FOREIGN KEY (client_account_id, engagement_id, asset_id)
    REFERENCES migration.assets (client_account_id, engagement_id, id) ON DELETE CASCADE,
    CONSTRAINT asset_changes_run_fkey
    FOREIGN KEY (client_account_id, engagement_id, run_id)
    REFERENCES migration.asset_inventory_runs (client_account_id, engagement_id, id),
    CONSTRAINT asset_changes_conflict_fkey
    FOREIGN KEY (client_account_id, engagement_id, conflict_id)
    REFERENCES migration.asset_conflict_resolutions (client_account_id, engagement_id, id),
    CONSTRAINT asset_changes_raw_record_fkey
    FOREIGN KEY (client_account_id, engagement_id, raw_import_record_id)
    REFERENCES migration.raw_import_records (client_account_id, engagement_id, id)
);

CREATE INDEX asset_changes_asset_idx ON migration.asset_changes (asset_id, changed_at DESC, id DESC);
CREATE INDEX asset_changes_raw_record_idx
ON migration.asset_changes (raw_import_record_id) WHERE raw_import_record_id IS NOT NULL;
CREATE INDEX asset_changes_run_idx ON migration.asset_changes (run_id) WHERE run_id IS NOT NULL;
CREATE INDEX asset_changes_conflict_idx ON migration.asset_changes (conflict_id) WHERE conflict_id IS NOT NULL;
CREATE INDEX asset_changes_tenant_idx
ON migration.asset_changes (client_account_id, engagement_id, changed_at DESC, id DESC);

-- == listing indexes ==============================================================================

CREATE INDEX data_imports_tenant_listing_idx
ON migration.data_imports (client_account_id, engagement_id, created_at DESC, id DESC);
CREATE INDEX raw_import_records_tenant_listing_idx
ON migration.raw_import_records (client_account_id, engagement_id, data_import_id, row_number);
-- The rare outcomes a caller looks for (the common ones are found by walking an import in row order).
CREATE INDEX raw_import_records_outcome_idx
ON migration.raw_import_records (data_import_id, processing_status, row_number)
WHERE processing_status IN ('conflict', 'invalid', 'discarded');
DROP INDEX migration.raw_import_records_unprocessed_idx;
CREATE INDEX raw_import_records_unprocessed_idx
ON migration.raw_import_records (data_import_id, row_number) WHERE NOT is_processed;
DROP INDEX migration.asset_conflict_resolutions_flow_idx;
CREATE INDEX asset_conflict_resolutions_flow_idx
ON migration.asset_conflict_resolutions (discovery_flow_id, resolution_status, created_at, id);
CREATE INDEX asset_conflict_resolutions_tenant_listing_idx
ON migration.asset_conflict_resolutions (client_account_id, engagement_id, resolution_status, created_at, id);

-- == health without scans =========================================================================

-- Assets whose wiring no foreign key or trigger guarantees: wiring_health
-- checks these one by one, and counts nothing else (see discovery.wiring_health).
CREATE INDEX assets_wiring_suspects_idx
ON migration.assets (client_account_id, engagement_id)
WHERE deleted_at IS NULL
AND ((discovery_method = 'flow_based'
      AND (discovery_flow_id IS NULL OR master_flow_id IS NULL OR raw_import_records_id IS NULL))
     OR (discovery_flow_id IS NOT NULL AND master_flow_id IS NULL)
     OR (flow_id IS NOT NULL AND discovery_flow_id IS NULL)
     OR (raw_import_records_id IS NOT NULL AND discovery_method IS DISTINCT FROM 'flow_based'));
-- Processed records that should have an asset and have none.
CREATE INDEX raw_import_records_wiring_suspects_idx
ON migration.raw_import_records (client_account_id, engagement_id)
WHERE asset_id IS NULL AND is_processed
AND (processing_status IS NULL OR processing_status NOT IN ('invalid', 'conflict', 'discarded'));

-- Tenants written in replica mode (restores): until repair_wiring verifies
-- them, their health is computed by full scans.
CREATE TABLE migration.tenants_unverified (
    client_account_id uuid NOT NULL,
    engagement_id uuid NOT NULL,
    since timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_account_id, engagement_id)
);

CREATE FUNCTION migration.note_replica_write() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO migration.tenants_unverified (client_account_id, engagement_id)
        VALUES (OLD.client_account_id, OLD.engagement_id)
        ON CONFLICT DO NOTHING;
    ELSE
        INSERT INTO migration.tenants_unverified (client_account_id, engagement_id)
        VALUES (NEW.client_account_id, NEW.engagement_id)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

DO $replica$
DECLARE
    v_table text;
BEGIN
    FOREACH v_table IN ARRAY ARRAY['crewai_flow_state_extensions', 'data_imports', 'raw_import_records',
                                   'discovery_flows', 'assets', 'asset_conflict_resolutions',
                                   'asset_inventory_runs', 'asset_changes']
    LOOP
        EXECUTE format(
            'CREATE TRIGGER %1$s_replica_write AFTER INSERT OR UPDATE OR DELETE ON migration.%1$s '
            'FOR EACH ROW WHEN (pg_catalog.current_setting(''session_replication_role'') = ''replica'') '
            'EXECUTE FUNCTION migration.note_replica_write()', v_table);
        -- ALWAYS: it must fire exactly when the other triggers do not.
        EXECUTE format('ALTER TABLE migration.%1$s ENABLE ALWAYS TRIGGER %1$s_replica_write', v_table);
    END LOOP;
END
$replica$;

-- Rows already in the tables were never checked by the triggers below: a
-- database upgraded with rows in it starts unverified.
INSERT INTO migration.tenants_unverified (client_account_id, engagement_id)
SELECT DISTINCT a.client_account_id, a.engagement_id FROM migration.assets AS a
UNION
SELECT DISTINCT r.client_account_id, r.engagement_id FROM migration.raw_import_records AS r;

-- == counters =====================================================================================

-- Live assets per tenant, discovery flow (the nil UUID for none), type and
-- status. The type and status keys are cut to 200 characters.
CREATE TABLE migration.asset_counts (
    client_account_id uuid NOT NULL,
    engagement_id uuid NOT NULL,
    discovery_flow_id uuid NOT NULL,
    asset_type_key text NOT NULL,
    status_key text NOT NULL,
    live bigint NOT NULL,
    PRIMARY KEY (client_account_id, engagement_id, discovery_flow_id, asset_type_key, status_key)
);

-- Records per tenant, import, outcome and whether they carry warnings.
CREATE TABLE migration.record_counts (
    client_account_id uuid NOT NULL,
    engagement_id uuid NOT NULL,
    data_import_id uuid NOT NULL,
    outcome text NOT NULL,
    with_warnings boolean NOT NULL,
    records bigint NOT NULL,
    PRIMARY KEY (client_account_id, engagement_id, data_import_id, outcome, with_warnings)
);

-- A record's outcome as the counters and listings name it.
CREATE FUNCTION migration.record_outcome(p_processing_status text, p_is_processed boolean) RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
RETURN coalesce(p_processing_status, CASE WHEN p_is_processed THEN 'processed' ELSE 'pending' END);

-- Whether validation_errors holds a warning.
CREATE FUNCTION migration.has_warnings(p_validation_errors jsonb) RETURNS boolean
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
RETURN coalesce(jsonb_typeof(p_validation_errors) = 'array'
                AND p_validation_errors @> '[{"severity": "warning"}]'::jsonb, false);

-- The counter triggers: each groups the transition rows by key (+1 for a row
-- after the statement, -1 for a row before it) and adds the sums.
CREATE FUNCTION migration.asset_counts_after_write() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_after jsonb := '[]';
    v_before jsonb := '[]';
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM migration.asset_counts;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT coalesce(jsonb_agg(g), '[]') INTO v_after
          FROM (SELECT n.client_account_id, n.engagement_id, n.discovery_flow_id, n.asset_type, n.status,
                       count(*) AS n
                  FROM new_rows AS n
                 WHERE n.deleted_at IS NULL
                 GROUP BY 1, 2, 3, 4, 5) AS g;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT coalesce(jsonb_agg(g), '[]') INTO v_before
          FROM (SELECT o.client_account_id, o.engagement_id, o.discovery_flow_id, o.asset_type, o.status,
                       -count(*) AS n
                  FROM old_rows AS o
                 WHERE o.deleted_at IS NULL
                 GROUP BY 1, 2, 3, 4, 5) AS g;
    END IF;
    INSERT INTO migration.asset_counts AS c (
        client_account_id, engagement_id, discovery_flow_id, asset_type_key, status_key, live
    )
    SELECT d.client_account_id, d.engagement_id,
           coalesce(d.discovery_flow_id, '00000000-0000-0000-0000-000000000000'::uuid),
           left(coalesce(d.asset_type, ''), 200), left(d.status, 200), sum(d.n)
      FROM jsonb_to_recordset(v_after || v_before) AS d (
               client_account_id uuid, engagement_id uuid, discovery_flow_id uuid, asset_type text,
               status text, n bigint)
     GROUP BY 1, 2, 3, 4, 5
    HAVING sum(d.n) <> 0
    ON CONFLICT (client_account_id, engagement_id, discovery_flow_id, asset_type_key, status_key)
    DO UPDATE SET live = c.live + excluded.live;
    RETURN NULL;
END
$$;

CREATE FUNCTION migration.record_counts_after_write() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_after jsonb := '[]';
    v_before jsonb := '[]';
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM migration.record_counts;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT coalesce(jsonb_agg(g), '[]') INTO v_after
          FROM (SELECT n.client_account_id, n.engagement_id, n.data_import_id,
                       migration.record_outcome(n.processing_status, n.is_processed) AS outcome,
                       migration.has_warnings(n.validation_errors) AS with_warnings, count(*) AS n
                  FROM new_rows AS n
                 GROUP BY 1, 2, 3, 4, 5) AS g;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT coalesce(jsonb_agg(g), '[]') INTO v_before
          FROM (SELECT o.client_account_id, o.engagement_id, o.data_import_id,
                       migration.record_outcome(o.processing_status, o.is_processed) AS outcome,
                       migration.has_warnings(o.validation_errors) AS with_warnings, -count(*) AS n
                  FROM old_rows AS o
                 GROUP BY 1, 2, 3, 4, 5) AS g;
    END IF;
    INSERT INTO migration.record_counts AS c (
        client_account_id, engagement_id, data_import_id, outcome, with_warnings, records
    )
    SELECT d.client_account_id, d.engagement_id, d.data_import_id, d.outcome, d.with_warnings, sum(d.n)
      FROM jsonb_to_recordset(v_after || v_before) AS d (
               client_account_id uuid, engagement_id uuid, data_import_id uuid, outcome text,
               with_warnings boolean, n bigint)
     GROUP BY 1, 2, 3, 4, 5
    HAVING sum(d.n) <> 0
    ON CONFLICT (client_account_id, engagement_id, data_import_id, outcome, with_warnings)
    DO UPDATE SET records = c.records + excluded.records;
    RETURN NULL;
END
$$;

-- One trigger per event: a trigger with transition tables has exactly one.
CREATE TRIGGER assets_counts_after_insert AFTER INSERT ON migration.assets
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION migration.asset_counts_after_write();
CREATE TRIGGER assets_counts_after_update AFTER UPDATE ON migration.assets
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION migration.asset_counts_after_write();
CREATE TRIGGER assets_counts_after_delete AFTER DELETE ON migration.assets
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION migration.asset_counts_after_write();
CREATE TRIGGER assets_counts_after_truncate AFTER TRUNCATE ON migration.assets
FOR EACH STATEMENT EXECUTE FUNCTION migration.asset_counts_after_write();
CREATE TRIGGER raw_import_records_counts_after_insert AFTER INSERT ON migration.raw_import_records
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION migration.record_counts_after_write();
CREATE TRIGGER raw_import_records_counts_after_update AFTER UPDATE ON migration.raw_import_records
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION migration.record_counts_after_write();
CREATE TRIGGER raw_import_records_counts_after_delete AFTER DELETE ON migration.raw_import_records
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION migration.record_counts_after_write();
CREATE TRIGGER raw_import_records_counts_after_truncate AFTER TRUNCATE ON migration.raw_import_records
FOR EACH STATEMENT EXECUTE FUNCTION migration.record_counts_after_write();

INSERT INTO migration.asset_counts (
    client_account_id, engagement_id, discovery_flow_id, asset_type_key, status_key, live
)
SELECT a.client_account_id, a.engagement_id,
       coalesce(a.discovery_flow_id, '00000000-0000-0000-0000-000000000000'::uuid),
       left(coalesce(a.asset_type, ''), 200), left(a.status, 200), count(*)
  FROM migration.assets AS a
 WHERE a.deleted_at IS NULL
 GROUP BY 1, 2, 3, 4, 5;

INSERT INTO migration.record_counts (
    client_account_id, engagement_id, data_import_id, outcome, with_warnings, records
)
SELECT r.client_account_id, r.engagement_id, r.data_import_id,
       migration.record_outcome(r.processing_status, r.is_processed),
       migration.has_warnings(r.validation_errors), count(*)
  FROM migration.raw_import_records AS r
 GROUP BY 1, 2, 3, 4, 5;

-- == invariant 3, set-based on INSERT =============================================================

DROP TRIGGER assets_flow_based_wired_on_insert ON migration.assets;
DROP TRIGGER assets_flow_based_wired_on_update ON migration.assets;
DROP TRIGGER assets_note_wired_before_update ON migration.assets;
DROP TRIGGER assets_note_wired_before_delete ON migration.assets;
DROP TRIGGER raw_import_records_note_wired ON migration.raw_import_records;
DROP TRIGGER raw_import_records_keep_asset_wired ON migration.raw_import_records;
DROP FUNCTION migration.assets_check_wired();
DROP FUNCTION migration.raw_import_records_check_wired();
DROP FUNCTION migration.assets_note_wired();
DROP FUNCTION migration.raw_import_records_note_wired();
DROP FUNCTION migration.check_asset_wired(uuid, uuid, boolean);
DROP FUNCTION migration.note_if_wired(migration.assets);
DROP FUNCTION migration.raise_unwired(migration.assets, text);
DROP FUNCTION migration.asset_raw_problem(migration.assets);
DROP FUNCTION migration.asset_flow_problem(migration.assets);

-- What keeps a flow-based asset from being wired, judged from its link
-- columns against the tables as they are now; null when it is wired (or not
-- flow-based).
CREATE FUNCTION migration.wiring_problem(
    p_client_account_id uuid, p_engagement_id uuid, p_asset_id uuid, p_discovery_method text,
    p_discovery_flow_id uuid, p_master_flow_id uuid, p_raw_import_records_id uuid
) RETURNS text
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_flow_master_flow_id uuid;
    v_raw_asset_id uuid;
    v_engagement_id uuid;
BEGIN
    IF p_discovery_method IS DISTINCT FROM 'flow_based' THEN
        RETURN NULL;
    END IF;
    IF p_discovery_flow_id IS NULL THEN
        RETURN 'discovery_flow_id is null';
    END IF;
    -- Each lookup names exactly the primary key and compares the engagement
    -- afterwards: with statistics that do not know the tenant yet, a
    -- condition on (client_account_id, engagement_id) ties with the primary
    -- key and the planner may scan the tenant's listing index instead.
    SELECT f.master_flow_id, f.engagement_id INTO v_flow_master_flow_id, v_engagement_id
      FROM migration.discovery_flows AS f
     WHERE f.client_account_id = p_client_account_id
       AND f.id = p_discovery_flow_id;
    IF NOT FOUND OR v_engagement_id IS DISTINCT FROM p_engagement_id THEN
        RETURN 'discovery_flow_id names no discovery flow of its tenant';
    END IF;
    IF p_master_flow_id IS DISTINCT FROM v_flow_master_flow_id THEN
        RETURN 'master_flow_id differs from its discovery flow''s';
    END IF;
    IF p_raw_import_records_id IS NULL THEN
        RETURN 'raw_import_records_id is null';
    END IF;
    SELECT r.asset_id, r.engagement_id INTO v_raw_asset_id, v_engagement_id
      FROM migration.raw_import_records AS r
     WHERE r.client_account_id = p_client_account_id
       AND r.id = p_raw_import_records_id;
    IF NOT FOUND OR v_engagement_id IS DISTINCT FROM p_engagement_id THEN
        RETURN 'raw_import_records_id names no raw record of its tenant';
    END IF;
    IF v_raw_asset_id IS DISTINCT FROM p_asset_id THEN
        RETURN 'its raw record''s asset_id does not point back to it';
    END IF;
    RETURN NULL;
END
$$;

-- Notes an asset in migration.assets_wired_in_transaction: it must be wired
-- when this transaction commits.
CREATE FUNCTION migration.note_must_be_wired(p_client_account_id uuid, p_asset_id uuid) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO migration.assets_wired_in_transaction (client_account_id, transaction_id, asset_id)
    VALUES (p_client_account_id, pg_catalog.pg_current_xact_id(), p_asset_id)
    ON CONFLICT DO NOTHING;
END
$$;

-- AFTER INSERT, once per statement: the inserted flow-based assets that are
-- not wired at the end of their statement must be by COMMIT. They are noted,
-- and touched, which queues the deferred per-row check for them alone.
CREATE FUNCTION migration.assets_check_inserted() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    WITH unwired AS MATERIALIZED (
        SELECT i.client_account_id, i.id
          FROM inserted AS i
         WHERE i.discovery_method = 'flow_based'
           AND NOT (EXISTS (
                        SELECT FROM migration.discovery_flows AS f
                         WHERE f.client_account_id = i.client_account_id
                           AND f.id = i.discovery_flow_id
                           AND f.engagement_id = i.engagement_id
                           AND f.master_flow_id = i.master_flow_id)
                    AND EXISTS (
                        SELECT FROM migration.raw_import_records AS r
                         WHERE r.client_account_id = i.client_account_id
                           AND r.id = i.raw_import_records_id
                           AND r.engagement_id = i.engagement_id
                           AND r.asset_id = i.id))
    ),
    noted AS (
        INSERT INTO migration.assets_wired_in_transaction (client_account_id, transaction_id, asset_id)
        SELECT u.client_account_id, pg_catalog.pg_current_xact_id(), u.id
          FROM unwired AS u
        ON CONFLICT DO NOTHING
    )
    UPDATE migration.assets AS a
       SET discovery_flow_id = a.discovery_flow_id
      FROM unwired AS u
     WHERE a.client_account_id = u.client_account_id
       AND a.id = u.id;
    RETURN NULL;
END
$$;

-- BEFORE an asset's link columns (or deleted_at) change: a wired asset, and a
-- flow-based asset brought back from a soft delete, must be wired at COMMIT.
CREATE FUNCTION migration.assets_note_wired() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF (OLD.discovery_method = 'flow_based'
        AND migration.wiring_problem(OLD.client_account_id, OLD.engagement_id, OLD.id, OLD.discovery_method,
                                     OLD.discovery_flow_id, OLD.master_flow_id, OLD.raw_import_records_id) IS NULL)
       OR (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL AND NEW.discovery_method = 'flow_based') THEN
        PERFORM migration.note_must_be_wired(OLD.client_account_id, OLD.id);
    END IF;
    RETURN NEW;
END
$$;

-- BEFORE a raw record's back-pointer changes, or the record is deleted: the
-- asset that names it as its origin, when that asset is wired.
CREATE FUNCTION migration.raw_import_records_note_wired() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_asset record;
BEGIN
    SELECT a.client_account_id, a.engagement_id, a.id, a.discovery_method, a.discovery_flow_id,
           a.master_flow_id, a.raw_import_records_id
      INTO v_asset
      FROM migration.assets AS a
     WHERE a.client_account_id = OLD.client_account_id
       AND a.id = OLD.asset_id;
    IF FOUND AND v_asset.engagement_id = OLD.engagement_id AND v_asset.raw_import_records_id = OLD.id
       AND v_asset.discovery_method = 'flow_based'
       AND migration.wiring_problem(v_asset.client_account_id, v_asset.engagement_id, v_asset.id,
                                    v_asset.discovery_method, v_asset.discovery_flow_id, v_asset.master_flow_id,
                                    v_asset.raw_import_records_id) IS NULL THEN
        PERFORM migration.note_must_be_wired(v_asset.client_account_id, v_asset.id);
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

-- Deferred, per changed asset: an asset noted in this transaction must be
-- wired at COMMIT, unless it is gone or soft-deleted; the note is forgotten.
CREATE FUNCTION migration.check_asset_wired(p_client_account_id uuid, p_asset_id uuid) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_asset record;
    v_problem text;
BEGIN
    DELETE FROM migration.assets_wired_in_transaction AS w
     WHERE w.client_account_id = p_client_account_id
       AND w.transaction_id = pg_catalog.pg_current_xact_id()
       AND w.asset_id = p_asset_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT a.client_account_id, a.engagement_id, a.id, a.discovery_method, a.discovery_flow_id,
           a.master_flow_id, a.raw_import_records_id, a.deleted_at
      INTO v_asset
      FROM migration.assets AS a
     WHERE a.client_account_id = p_client_account_id
       AND a.id = p_asset_id;
    IF NOT FOUND OR v_asset.deleted_at IS NOT NULL THEN
        RETURN;  -- deleted or soft-deleted: no unwired live asset is left behind
    END IF;
    IF v_asset.discovery_method IS DISTINCT FROM 'flow_based' THEN
        v_problem := 'a wired flow-based asset cannot stop being flow-based';
    ELSE
        v_problem := migration.wiring_problem(
            v_asset.client_account_id, v_asset.engagement_id, v_asset.id, v_asset.discovery_method,
            v_asset.discovery_flow_id, v_asset.master_flow_id, v_asset.raw_import_records_id);
    END IF;
    IF v_problem IS NOT NULL THEN
        RAISE EXCEPTION 'flow-based asset % is not wired: %', v_asset.id, v_problem
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'assets_flow_based_wired',
                  SCHEMA = 'migration',
                  TABLE = 'assets',
                  DETAIL = format('client_account_id=%s engagement_id=%s asset_id=%s discovery_flow_id=%s '
                                  'master_flow_id=%s raw_import_records_id=%s',
                                  v_asset.client_account_id, v_asset.engagement_id, v_asset.id,
                                  v_asset.discovery_flow_id, v_asset.master_flow_id,
                                  v_asset.raw_import_records_id),
                  HINT = 'Create flow-based assets with discovery.create_assets_from_discovery, or set '
                         'discovery_flow_id, master_flow_id, raw_import_records_id and the raw record''s '
                         'asset_id in the same transaction; repair legacy rows with discovery.repair_wiring.';
    END IF;
END
$$;

CREATE FUNCTION migration.assets_check_wired() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM migration.check_asset_wired(NEW.client_account_id, NEW.id);
    RETURN NULL;
END
$$;

CREATE FUNCTION migration.raw_import_records_check_wired() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM migration.check_asset_wired(OLD.client_account_id, OLD.asset_id);
    RETURN NULL;
END
$$;

CREATE TRIGGER assets_flow_based_wired_after_insert
AFTER INSERT ON migration.assets
REFERENCING NEW TABLE AS inserted
FOR EACH STATEMENT
EXECUTE FUNCTION migration.assets_check_inserted();

CREATE TRIGGER assets_note_wired_before_update
BEFORE UPDATE OF discovery_method, discovery_flow_id, master_flow_id, raw_import_records_id,
client_account_id, engagement_id, id, deleted_at
ON migration.assets
FOR EACH ROW
WHEN (old.discovery_method = 'flow_based' OR new.discovery_method = 'flow_based')
EXECUTE FUNCTION migration.assets_note_wired();

CREATE CONSTRAINT TRIGGER assets_flow_based_wired_on_update
AFTER UPDATE OF discovery_method, discovery_flow_id, master_flow_id, raw_import_records_id,
client_account_id, engagement_id, id, deleted_at
ON migration.assets
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
WHEN (new.discovery_method = 'flow_based' OR old.discovery_method = 'flow_based')
EXECUTE FUNCTION migration.assets_check_wired();

CREATE TRIGGER raw_import_records_note_wired
BEFORE UPDATE OF asset_id, id, client_account_id, engagement_id OR DELETE
ON migration.raw_import_records
FOR EACH ROW
WHEN (old.asset_id IS NOT NULL)
EXECUTE FUNCTION migration.raw_import_records_note_wired();

CREATE CONSTRAINT TRIGGER raw_import_records_keep_asset_wired
AFTER UPDATE OF asset_id, id, client_account_id, engagement_id OR DELETE
ON migration.raw_import_records
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
WHEN (old.asset_id IS NOT NULL)
EXECUTE FUNCTION migration.raw_import_records_check_wired();

-- == ownership ====================================================================================

ALTER TABLE migration.asset_changes OWNER TO discovery_owner;
ALTER TABLE migration.asset_counts OWNER TO discovery_owner;
ALTER TABLE migration.record_counts OWNER TO discovery_owner;
ALTER TABLE migration.tenants_unverified OWNER TO discovery_owner;

DO $owners$
DECLARE
    v_function regprocedure;
BEGIN
    FOR v_function IN
        SELECT p.oid::regprocedure
          FROM pg_catalog.pg_proc AS p
         WHERE p.pronamespace = 'migration'::regnamespace
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO discovery_owner', v_function);
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM public', v_function);
    END LOOP;
END
$owners$;
