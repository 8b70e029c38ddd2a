-- Creates the flow's assets and links them to their raw records, in the
-- caller's transaction (DESIGN.md, "create_assets_from_discovery"):
--
--   validate   tenant, flow, arguments and the p_assets payload;
--   plan       discovery._plan_sql: each record's cleansed fields, its
--              outcome and its asset (identity, grouping), as the first
--              CTE of the statement;
--   write      one statement: the new assets, each handled record's one
--              write (cleansed data, outcome, link), the pending conflicts,
--              the changes matched records make to existing assets
--              (p_on_match) with one migration.asset_changes row per value;
--   record     the run row, and the flow's lifecycle (discovery._sync_flow_state).
--
-- A call with nothing to handle writes nothing. p_dry_run returns the counts
-- a real run would return and writes nothing.
CREATE FUNCTION discovery.create_assets_from_discovery(
    p_client_account_id uuid,
    p_engagement_id uuid,
    p_discovery_flow_id uuid,
    p_assets jsonb DEFAULT NULL,
    p_dry_run boolean DEFAULT FALSE,
    p_on_match text DEFAULT 'refresh'
) RETURNS TABLE (
    run_id uuid,
    created integer,
    matched integer,
    conflicts integer,
    invalid integer,
    already_linked integer,
    updated integer
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    v_started timestamptz := clock_timestamp();
    v_now timestamptz := now();
    v_flow migration.discovery_flows;
    v_import migration.data_imports;
    v_run_id uuid;
    v_created integer;
    v_matched integer;
    v_conflicts integer;
    v_invalid integer;
    v_already_linked integer;
    v_updated integer;
    v_finished timestamptz;
    v_plan_sql text;
BEGIN
    -- validate
    PERFORM discovery._assert_tenant(p_client_account_id, p_engagement_id);
    v_flow := discovery._discovery_flow(p_client_account_id, p_engagement_id, p_discovery_flow_id);
    v_import := discovery._data_import(p_client_account_id, p_engagement_id, v_flow.data_import_id);
    PERFORM discovery._assert_flag(p_dry_run, 'p_dry_run');
    IF p_on_match IS NULL OR p_on_match NOT IN ('refresh', 'fill_empty', 'keep') THEN
        PERFORM discovery._raise(
            'WR006', 'unknown reconciliation policy', format('p_on_match=%L', p_on_match),
            'Use refresh (the default: write every newer value), fill_empty (only empty fields) or keep.');
    END IF;
    IF v_import.status = 'undone' THEN
        PERFORM discovery._raise(
            'WR008', 'the import was undone', format('data_import_id=%s discovery_flow_id=%s', v_import.id, v_flow.id),
            'An undone import stays undone; import the file again (a new import and flow).');
    END IF;
    IF p_assets IS NOT NULL THEN
        PERFORM discovery._assert_supplied_assets(p_client_account_id, p_engagement_id, v_flow.id, v_flow.data_import_id,
                                                  p_assets);
    END IF;

    IF NOT p_dry_run THEN
        -- Every writer of the tenant's assets queues here (see _lock_tenant_assets).
        PERFORM discovery._lock_tenant_assets(p_client_account_id, p_engagement_id);
    END IF;
    IF p_assets IS NULL AND NOT EXISTS (
        SELECT FROM migration.raw_import_records AS r  -- by the unprocessed index (see _sync_flow_state)
         WHERE r.data_import_id = v_flow.data_import_id
           AND NOT r.is_processed
           AND r.client_account_id OPERATOR(migration.===) p_client_account_id) THEN
        RETURN QUERY SELECT NULL::uuid, 0, 0, 0, 0, 0, 0;  -- nothing to handle: write nothing
        RETURN;
    END IF;

    v_plan_sql := discovery._plan_and_changes_sql(discovery._plan_sql(
        p_client_account_id, p_engagement_id, v_flow.data_import_id, p_assets,
        discovery._tenant_has_assets(p_client_account_id, p_engagement_id)));

    IF p_dry_run THEN
        EXECUTE format($dry$%s
            SELECT NULL::uuid AS run_id,
                   (count(*) FILTER (WHERE p.outcome = 'created'))::integer AS created,
                   (count(*) FILTER (WHERE p.outcome = 'matched'))::integer AS matched,
                   (count(*) FILTER (WHERE p.outcome = 'conflict'))::integer AS conflicts,
                   (count(*) FILTER (WHERE p.outcome = 'invalid'))::integer AS invalid,
                   (count(*) FILTER (WHERE p.outcome = 'already_linked'))::integer AS already_linked,
                   (SELECT count(DISTINCT c.asset_id) FROM changes AS c)::integer AS updated
              FROM plan AS p
        $dry$, v_plan_sql)
        INTO v_run_id, v_created, v_matched, v_conflicts, v_invalid, v_already_linked, v_updated
        USING p_client_account_id, p_engagement_id, v_flow.id, v_flow.data_import_id, p_assets, p_on_match;
        RETURN QUERY SELECT v_run_id, v_created, v_matched, v_conflicts, v_invalid, v_already_linked, v_updated;
        RETURN;
    END IF;

    -- plan, write and record, in one statement (the run first: on Citus the
    -- planner runs each writing CTE as a statement of its own, in this order,
    -- and the changes logged name the run)
    EXECUTE format($write$%s,
        run AS (
            INSERT INTO migration.asset_inventory_runs (
                client_account_id, engagement_id, id, discovery_flow_id, mode, on_match, started_at, finished_at,
                records_handled, created, matched, conflicts, invalid, already_linked, updated
            )
            SELECT $1, $2, $11, $3, CASE WHEN $5 IS NULL THEN 'derived' ELSE 'supplied' END, $6, $12, $12,
                   count(*) FILTER (WHERE p.handles),
                   count(*) FILTER (WHERE p.outcome = 'created'),
                   count(*) FILTER (WHERE p.outcome = 'matched'),
                   count(*) FILTER (WHERE p.outcome = 'conflict'),
                   count(*) FILTER (WHERE p.outcome = 'invalid'),
                   count(*) FILTER (WHERE p.outcome = 'already_linked'),
                   (SELECT count(DISTINCT c.asset_id) FROM changes AS c)
              FROM plan AS p
            HAVING count(*) FILTER (WHERE p.handles) > 0
            RETURNING id
        ),
%2$s,
        new_assets AS (
            INSERT INTO migration.assets %3$s
            RETURNING 1
        ),
        handled AS (
            UPDATE migration.raw_import_records AS r
               SET asset_id = CASE WHEN p.outcome IN ('created', 'matched') THEN p.asset_id ELSE r.asset_id END,
                   cleansed_data = CASE WHEN p.cleansed_now THEN p.fields ELSE r.cleansed_data END,
                   validation_errors = CASE WHEN p.cleansed_now THEN p.problems ELSE r.validation_errors END,
                   is_valid = p.valid,
                   is_processed = TRUE,
                   processed_at = $7,
                   processing_status = CASE WHEN p.outcome = 'already_linked'
                                            THEN coalesce(r.processing_status, 'matched') ELSE p.outcome END,
                   processing_notes = p.notes,
                   master_flow_id = $8
              FROM plan AS p
             WHERE r.client_account_id = p.dw_client_account_id
               AND r.id = p.raw_import_record_id
               AND r.client_account_id OPERATOR(migration.===) $1
               AND p.handles
            RETURNING 1
        ),
        new_conflicts AS (
            INSERT INTO migration.asset_conflict_resolutions (
                client_account_id, engagement_id, discovery_flow_id, raw_import_record_id,
                existing_asset_id, candidate_asset_ids, conflict_type, conflict_key, new_asset_data, created_at
            )
            SELECT $1, $2, $3, p.raw_import_record_id, p.existing_asset_id, p.candidate_asset_ids,
                   'ambiguous_identity', p.conflict_key, p.fields, $7
              FROM plan AS p
             WHERE p.outcome = 'conflict'
            ON CONFLICT (raw_import_record_id, client_account_id) WHERE resolution_status = 'pending'
            DO NOTHING
            RETURNING 1
        )
        SELECT (SELECT r.id FROM run AS r) AS run_id,
               (count(*) FILTER (WHERE p.outcome = 'created'))::integer AS created,
               (count(*) FILTER (WHERE p.outcome = 'matched'))::integer AS matched,
               (count(*) FILTER (WHERE p.outcome = 'conflict'))::integer AS conflicts,
               (count(*) FILTER (WHERE p.outcome = 'invalid'))::integer AS invalid,
               (count(*) FILTER (WHERE p.outcome = 'already_linked'))::integer AS already_linked,
               (SELECT count(DISTINCT c.asset_id) FROM changes AS c)::integer AS updated
          FROM plan AS p
    $write$, v_plan_sql, discovery._apply_changes_sql('$1', '$2', '$7', '$11', 'NULL::uuid'),
        discovery._asset_values_sql('p.fields', jsonb_build_object(
            'client_account_id', '$1', 'engagement_id', '$2', 'id', 'p.asset_id', 'discovery_flow_id', '$3',
            'master_flow_id', '$8', 'raw_import_records_id', 'p.raw_import_record_id', 'field_mappings_used', '$9',
            'discovery_method', '''flow_based''', 'discovery_source', 'coalesce(p.fields ->> ''discovery_source'', $10)',
            'created_at', '$7', 'updated_at', '$7'), 'plan AS p WHERE p.outcome = ''created'''))
    INTO v_run_id, v_created, v_matched, v_conflicts, v_invalid, v_already_linked, v_updated
    USING p_client_account_id, p_engagement_id, v_flow.id, v_flow.data_import_id, p_assets, p_on_match, v_now,
          v_flow.master_flow_id, discovery._approved_mappings(p_client_account_id, v_flow.data_import_id),
          coalesce(v_import.source_system, v_import.import_type), gen_random_uuid(), v_started;

    -- A planner that still believes the assets table nearly empty would pick
    -- nested loops over it in later queries of this tenant (health marts,
    -- analysts' queries) until autovacuum came by: refresh its statistics
    -- after a big write (discovery._refresh_statistics never waits for
    -- another caller's ANALYZE).
    IF v_created >= 1000 AND v_created > (
        SELECT c.reltuples FROM pg_catalog.pg_class AS c WHERE c.oid = 'migration.assets'::regclass) / 2 THEN
        PERFORM discovery._refresh_statistics('migration.assets');
    END IF;

    IF v_run_id IS NOT NULL THEN
        v_finished := clock_timestamp();
        UPDATE migration.asset_inventory_runs AS r
           SET finished_at = v_finished
         WHERE r.client_account_id = p_client_account_id
           AND r.id = v_run_id;
        UPDATE migration.discovery_flows AS f
           SET inventory_watermark = greatest(f.inventory_watermark, (
                   SELECT max(r.row_number)
                     FROM migration.raw_import_records AS r
                    WHERE r.data_import_id = v_flow.data_import_id
                      AND r.client_account_id = p_client_account_id))
         WHERE f.client_account_id = p_client_account_id
           AND f.id = v_flow.id;
        PERFORM discovery._sync_flow_state(p_client_account_id, p_engagement_id, v_flow.id);
    END IF;
    -- On Citus the wiring noted by the assets' statement and wired by the raw
    -- records' is checked now rather than at COMMIT (migration 0010).
    PERFORM migration.check_settled_wiring(p_client_account_id);

    RETURN QUERY SELECT v_run_id, v_created, v_matched, v_conflicts, v_invalid, v_already_linked, v_updated;
END
$$;
