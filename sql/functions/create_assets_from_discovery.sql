-- Creates the flow's assets and links them to their raw records, in the
-- caller's transaction (DESIGN.md, "create_assets_from_discovery"). One
-- set-based statement writes the new assets, the records' outcomes and
-- back-pointers, and the pending conflicts; then the run row and the flow's
-- phase. A call with nothing to handle writes nothing. p_dry_run returns the
-- counts and writes nothing.
CREATE FUNCTION discovery.create_assets_from_discovery(
    p_client_account_id uuid,
    p_engagement_id uuid,
    p_discovery_flow_id uuid,
    p_assets jsonb DEFAULT NULL,
    p_dry_run boolean DEFAULT FALSE
) RETURNS TABLE (
    run_id uuid,
    created integer,
    matched integer,
    conflicts integer,
    invalid integer,
    already_linked integer
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    v_started timestamptz := clock_timestamp();
    v_flow migration.discovery_flows;
    v_import migration.data_imports;
    v_mappings jsonb;
    v_bad record;
    v_pending bigint;
    v_loaded_at timestamptz;
    v_run_id uuid;
    v_created integer;
    v_matched integer;
    v_conflicts integer;
    v_invalid integer;
    v_already_linked integer;
    v_handled integer;
BEGIN
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    v_flow := discovery._discovery_flow(p_client_account_id, p_engagement_id, p_discovery_flow_id);
    v_import := discovery._data_import(p_client_account_id, p_engagement_id, v_flow.data_import_id);

    IF p_assets IS NOT NULL THEN
        PERFORM discovery._assert_payload(p_assets, 'p_assets');
        SELECT e.ordinality, e.value INTO v_bad
          FROM jsonb_array_elements(p_assets) WITH ORDINALITY AS e (value, ordinality)
         WHERE jsonb_typeof(e.value -> 'raw_import_record_id') IS DISTINCT FROM 'string'
            OR NOT discovery._is_uuid(e.value ->> 'raw_import_record_id')
         ORDER BY e.ordinality
         LIMIT 1;
        IF FOUND THEN
            PERFORM discovery._raise(
                'WR005', 'asset without a valid raw_import_record_id',
                format('element %s of p_assets: %s', v_bad.ordinality, left(v_bad.value::text, 500)),
                'Each element of p_assets carries "raw_import_record_id" (a UUID) and the asset''s fields.');
        END IF;
        SELECT (e.value ->> 'raw_import_record_id')::uuid AS id INTO v_bad
          FROM jsonb_array_elements(p_assets) AS e (value)
         GROUP BY (e.value ->> 'raw_import_record_id')::uuid
        HAVING count(*) > 1
         LIMIT 1;
        IF FOUND THEN
            PERFORM discovery._raise(
                'WR005', 'a raw record appears twice in p_assets',
                format('raw_import_record_id=%s', v_bad.id),
                'Send one asset per raw record.');
        END IF;
        SELECT e.value ->> 'raw_import_record_id' AS id INTO v_bad
          FROM jsonb_array_elements(p_assets) AS e (value)
         WHERE NOT EXISTS (
             SELECT FROM migration.raw_import_records AS r
              WHERE r.client_account_id = p_client_account_id
                AND r.engagement_id = p_engagement_id
                AND r.id = (e.value ->> 'raw_import_record_id')::uuid
                AND r.data_import_id = v_flow.data_import_id)
         LIMIT 1;
        IF FOUND THEN
            PERFORM discovery._raise(
                'WR004', 'raw record is not part of this flow''s import',
                format('raw_import_record_id=%s discovery_flow_id=%s data_import_id=%s',
                       v_bad.id, v_flow.id, v_flow.data_import_id),
                'Send only records of the import the flow was started on.');
        END IF;
    ELSE
        v_mappings := discovery._approved_mappings(p_client_account_id, v_flow.data_import_id);
    END IF;

    IF p_dry_run THEN
        RETURN QUERY
        SELECT NULL::uuid,
               (count(*) FILTER (WHERE p.outcome = 'created'))::integer,
               (count(*) FILTER (WHERE p.outcome = 'matched'))::integer,
               (count(*) FILTER (WHERE p.outcome = 'conflict'))::integer,
               (count(*) FILTER (WHERE p.outcome = 'invalid'))::integer,
               (count(*) FILTER (WHERE p.outcome = 'already_linked'))::integer
          FROM discovery._plan_assets(p_client_account_id, p_engagement_id, v_flow.data_import_id,
                                      v_mappings, p_assets,
                                      discovery._tenant_has_assets(p_client_account_id, p_engagement_id)) AS p;
        RETURN;
    END IF;

    -- Every writer of the tenant's assets queues here (see _lock_tenant_assets).
    PERFORM discovery._lock_tenant_assets(p_client_account_id, p_engagement_id);

    -- A freshly loaded import leaves the planner with stale statistics; the
    -- statement below joins the whole batch, so refresh them first, unless
    -- the table was analyzed after these records were written.
    IF p_assets IS NULL THEN
        SELECT count(*), max(r.created_at) INTO v_pending, v_loaded_at
          FROM migration.raw_import_records AS r
         WHERE r.data_import_id = v_flow.data_import_id
           AND r.client_account_id = p_client_account_id
           AND NOT r.is_processed;
        IF v_pending = 0 THEN
            RETURN QUERY SELECT NULL::uuid, 0, 0, 0, 0, 0;  -- nothing to handle: write nothing
            RETURN;
        END IF;
        IF v_pending >= 10000
           AND v_pending > (SELECT c.reltuples FROM pg_catalog.pg_class AS c
                             WHERE c.oid = 'migration.raw_import_records'::regclass) / 2
           AND v_loaded_at >= coalesce(
                   greatest(pg_stat_get_last_analyze_time('migration.raw_import_records'::regclass),
                            pg_stat_get_last_autoanalyze_time('migration.raw_import_records'::regclass)),
                   '-infinity') THEN
            PERFORM discovery._refresh_statistics('migration.raw_import_records');
        END IF;
    END IF;

    WITH plan AS MATERIALIZED (
        SELECT p.*
          FROM discovery._plan_assets(
                   p_client_account_id, p_engagement_id, v_flow.data_import_id, v_mappings, p_assets,
                   discovery._tenant_has_assets(p_client_account_id, p_engagement_id)) AS p
    ),
    new_assets AS (
        INSERT INTO migration.assets (
            client_account_id, engagement_id, id, name, asset_name, asset_type, hostname, fqdn,
            ip_address, mac_address, operating_system, os_version, cpu_cores, memory_gb, storage_gb,
            environment, location, datacenter, application_name, business_owner, technical_owner,
            department, criticality, status, custom_attributes, discovery_flow_id, master_flow_id,
            raw_import_records_id, field_mappings_used, discovery_method, discovery_source
        )
        SELECT p_client_account_id, p_engagement_id, p.asset_id, p.asset_name,
               discovery._field(p.fields, 'asset_name'),
               discovery._field(p.fields, 'asset_type'),
               discovery._field(p.fields, 'hostname'),
               discovery._field(p.fields, 'fqdn'),
               discovery._field(p.fields, 'ip_address'),
               discovery._field(p.fields, 'mac_address'),
               discovery._field(p.fields, 'operating_system'),
               discovery._field(p.fields, 'os_version'),
               round(discovery._to_numeric(discovery._field(p.fields, 'cpu_cores')))::integer,
               discovery._to_numeric(discovery._field(p.fields, 'memory_gb')),
               discovery._to_numeric(discovery._field(p.fields, 'storage_gb')),
               discovery._field(p.fields, 'environment'),
               discovery._field(p.fields, 'location'),
               discovery._field(p.fields, 'datacenter'),
               discovery._field(p.fields, 'application_name'),
               discovery._field(p.fields, 'business_owner'),
               discovery._field(p.fields, 'technical_owner'),
               discovery._field(p.fields, 'department'),
               discovery._field(p.fields, 'criticality'),
               coalesce(discovery._field(p.fields, 'status'), 'active'),
               jsonb_strip_nulls(p.fields - discovery._asset_columns()),
               v_flow.id,
               v_flow.master_flow_id,
               p.raw_import_record_id,
               v_mappings,
               'flow_based',
               coalesce(discovery._field(p.fields, 'discovery_source'), v_import.source_system,
                        v_import.import_type)
          FROM plan AS p
         WHERE p.outcome = 'created'
        RETURNING 1
    ),
    handled AS (
        UPDATE migration.raw_import_records AS r
           SET asset_id = CASE WHEN p.outcome IN ('created', 'matched') THEN p.asset_id ELSE r.asset_id END,
               is_processed = true,
               processed_at = now(),
               processing_status = CASE WHEN p.outcome = 'already_linked'
                                        THEN coalesce(r.processing_status, 'matched')
                                        ELSE p.outcome END,
               processing_notes = p.notes
          FROM plan AS p
         WHERE r.client_account_id = p_client_account_id
           AND r.id = p.raw_import_record_id
           AND (p.outcome <> 'already_linked' OR NOT r.is_processed)
        RETURNING 1
    ),
    new_conflicts AS (
        INSERT INTO migration.asset_conflict_resolutions (
            client_account_id, engagement_id, discovery_flow_id, raw_import_record_id,
            existing_asset_id, candidate_asset_ids, conflict_type, conflict_key, new_asset_data
        )
        SELECT p_client_account_id, p_engagement_id, v_flow.id, p.raw_import_record_id,
               p.existing_asset_id, p.candidate_asset_ids, 'ambiguous_identity', p.conflict_key,
               jsonb_strip_nulls(p.fields)
          FROM plan AS p
         WHERE p.outcome = 'conflict'
        ON CONFLICT (raw_import_record_id, client_account_id) WHERE resolution_status = 'pending'
        DO NOTHING
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM new_assets),
           (count(*) FILTER (WHERE p.outcome = 'matched')),
           (count(*) FILTER (WHERE p.outcome = 'conflict')),
           (count(*) FILTER (WHERE p.outcome = 'invalid')),
           (count(*) FILTER (WHERE p.outcome = 'already_linked')),
           (SELECT count(*) FROM handled)
      INTO v_created, v_matched, v_conflicts, v_invalid, v_already_linked, v_handled
      FROM plan AS p;

    -- Same for the assets just written: a planner that still believes the
    -- table empty would pick nested loops over it in every later query of
    -- this tenant (wiring_health, list_assets) until autovacuum came by.
    IF v_created >= 1000 AND v_created > (
        SELECT c.reltuples FROM pg_catalog.pg_class AS c WHERE c.oid = 'migration.assets'::regclass) / 2 THEN
        PERFORM discovery._refresh_statistics('migration.assets');
    END IF;

    IF v_handled > 0 THEN
        v_run_id := gen_random_uuid();
        INSERT INTO migration.asset_inventory_runs (
            client_account_id, engagement_id, id, discovery_flow_id, mode, started_at, finished_at,
            records_handled, created, matched, conflicts, invalid, already_linked
        )
        VALUES (
            p_client_account_id, p_engagement_id, v_run_id, v_flow.id,
            CASE WHEN p_assets IS NULL THEN 'derived' ELSE 'supplied' END,
            v_started, clock_timestamp(), v_handled, v_created, v_matched, v_conflicts, v_invalid,
            v_already_linked
        );
        PERFORM discovery._refresh_flow_progress(p_client_account_id, p_engagement_id, v_flow.id);
    END IF;

    RETURN QUERY SELECT v_run_id, v_created, v_matched, v_conflicts, v_invalid, v_already_linked;
END
$$;
