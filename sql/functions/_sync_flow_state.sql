-- The flow lifecycle (DESIGN.md, "Flow lifecycle"), decided in one place
-- from the state of the data and written to the discovery flow, its master
-- flow and its import, consistently:
--   undone     the import was taken back (undo_import): all three 'undone';
--   completed  its inventory ran, no record is unhandled and no conflict is
--              pending: all three 'completed', asset_inventory_completed;
--   active     otherwise (records added since, conflicts pending): the flow
--              and master flow 'active', the import 'processing' once its
--              inventory ran; phase_state.conflict_resolution_pending says
--              whether conflicts wait for a person.
-- The import's counters come from migration.record_counts. Returns the state.
CREATE FUNCTION discovery._sync_flow_state(
    p_client_account_id uuid, p_engagement_id uuid, p_discovery_flow_id uuid
) RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    v_now timestamptz := now();
    v_flow migration.discovery_flows;
    v_import_status text;
    v_unhandled boolean;
    v_conflicts boolean;
    v_state text;
    v_processed bigint;
    v_failed bigint;
BEGIN
    SELECT f.* INTO v_flow
      FROM migration.discovery_flows AS f
     WHERE f.client_account_id = p_client_account_id
       AND f.engagement_id = p_engagement_id
       AND f.id = p_discovery_flow_id;
    IF NOT FOUND OR v_flow.data_import_id IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT i.status INTO v_import_status
      FROM migration.data_imports AS i
     WHERE i.client_account_id = p_client_account_id
       AND i.id = v_flow.data_import_id;
    v_unhandled := EXISTS (
        -- the partial index of unprocessed records answers this; the tenant is
        -- pinned (migration.===, which no index takes), or a planner whose statistics do
        -- not know the import walks all its processed records (each chunk
        -- added to a completed import calls this)
        SELECT FROM migration.raw_import_records AS r
         WHERE r.data_import_id = v_flow.data_import_id
           AND NOT r.is_processed
           AND r.client_account_id OPERATOR(migration.===) p_client_account_id);
    v_conflicts := EXISTS (
        SELECT FROM migration.asset_conflict_resolutions AS c
         WHERE c.discovery_flow_id = v_flow.id
           AND c.client_account_id = p_client_account_id
           AND c.resolution_status = 'pending');
    SELECT coalesce(sum(c.records) FILTER (WHERE c.outcome <> 'pending'), 0),
           coalesce(sum(c.records) FILTER (WHERE c.outcome = 'invalid'), 0)
      INTO v_processed, v_failed
      FROM migration.record_counts AS c
     WHERE c.client_account_id = p_client_account_id
       AND c.engagement_id = p_engagement_id
       AND c.data_import_id = v_flow.data_import_id;

    v_state := CASE
        WHEN v_import_status = 'undone' THEN 'undone'
        WHEN v_flow.inventory_watermark IS NOT NULL AND NOT v_unhandled AND NOT v_conflicts THEN 'completed'
        ELSE 'active'
    END;

    UPDATE migration.discovery_flows AS f
       SET status = v_state,
           asset_inventory_completed = (v_state = 'completed'),
           current_phase = CASE
                               WHEN v_state IN ('completed', 'undone') THEN v_state
                               WHEN f.inventory_watermark IS NOT NULL THEN 'asset_inventory'
                               ELSE f.current_phase
                           END,
           phase_state = f.phase_state || jsonb_build_object('conflict_resolution_pending', v_conflicts,
                                                             'records_unhandled', v_unhandled),
           updated_at = v_now
     WHERE f.client_account_id = p_client_account_id
       AND f.id = v_flow.id
       AND (f.status, f.asset_inventory_completed, f.phase_state -> 'conflict_resolution_pending',
            f.phase_state -> 'records_unhandled')
           IS DISTINCT FROM (v_state, v_state = 'completed', to_jsonb(v_conflicts), to_jsonb(v_unhandled));

    UPDATE migration.crewai_flow_state_extensions AS m
       SET flow_status = v_state,
           updated_at = v_now
     WHERE m.client_account_id = p_client_account_id
       AND m.engagement_id = p_engagement_id
       AND m.flow_id = v_flow.master_flow_id
       AND m.flow_status IS DISTINCT FROM v_state;

    UPDATE migration.data_imports AS i
       SET status = CASE
                        WHEN v_state = 'undone' THEN 'undone'
                        WHEN v_state = 'completed' THEN 'completed'
                        WHEN v_flow.inventory_watermark IS NOT NULL THEN 'processing'
                        ELSE i.status
                    END,
           processed_records = v_processed,
           failed_records = v_failed,
           updated_at = v_now
     WHERE i.client_account_id = p_client_account_id
       AND i.id = v_flow.data_import_id;
    RETURN v_state;
END
$$;
