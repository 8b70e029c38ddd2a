-- The writes of undo_import, each one set-based statement, in order: revert
-- the import's asset changes, re-home or soft-delete the assets it created,
-- discard its records, close its conflicts, mark it undone. Returns the counts.
-- Its statements are planned with the arrays' values on every call
-- (plan_cache_mode): in a generic plan, which PL/pgSQL may use from a
-- session's sixth call on, an array is a parameter and a filter on it walks
-- the whole array for each row (migration 0012).
CREATE FUNCTION discovery._undo_import(
    p_client_account_id uuid, p_engagement_id uuid, p_data_import_id uuid
) RETURNS jsonb
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    v_now timestamptz := now();
    v_flow_id uuid;
    v_reverted bigint;
    v_kept bigint;
    v_deleted bigint;
    v_discarded bigint;
    v_closed bigint;
    v_records uuid[];
    v_created uuid[];
BEGIN
    -- Every statement below is driven from these two arrays through indexes
    -- (never a join of the import back to its tables, which stale statistics
    -- turn into a nested loop over the tenant).
    v_records := ARRAY(
        SELECT r.id
          FROM migration.raw_import_records AS r
         WHERE r.client_account_id = p_client_account_id
           AND r.engagement_id = p_engagement_id
           AND r.data_import_id = p_data_import_id
    );
    v_created := ARRAY(
        SELECT a.id
          FROM migration.assets AS a
         WHERE a.raw_import_records_id = ANY (v_records)
           AND a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND a.deleted_at IS NULL
    );

    -- Changes: per asset and field, this import's changes since its first
    -- one; revertible when the field still holds the newest one's value and
    -- no other change of it came in between. A change reverted by an earlier
    -- undo and the entry logging that revert (no run, conflict or record:
    -- only this function writes such entries) cancel out: neither counts as
    -- a change in between, so imports undone newest first restore the values
    -- before the oldest.
    EXECUTE format($revert$
        WITH mine AS (
            SELECT c.*
              FROM migration.asset_changes AS c
             WHERE c.raw_import_record_id = ANY ($3)
               AND c.client_account_id = $1
               AND c.engagement_id = $2
               AND c.reverted_at IS NULL
        ),
        per_field AS (
            SELECT m.asset_id, $1::uuid AS dw_client_account_id, m.field,
                   (array_agg(m.old_value ORDER BY m.changed_at, m.id))[1] AS first_old,
                   (array_agg(m.new_value ORDER BY m.changed_at DESC, m.id DESC))[1] AS last_new,
                   min(m.changed_at) AS first_at,
                   array_agg(m.id) AS change_ids
              FROM mine AS m
             GROUP BY m.asset_id, m.field
        ),
        judged AS (
            SELECT p.*,
                   d.current IS NOT DISTINCT FROM p.last_new
                   AND NOT EXISTS (
                       SELECT FROM migration.asset_changes AS o
                        WHERE o.asset_id = p.asset_id
                          AND o.client_account_id OPERATOR(migration.===) $1
                          AND o.field = p.field
                          AND o.changed_at >= p.first_at
                          AND o.id <> ALL (p.change_ids)
                          AND o.reverted_at IS NULL
                          AND num_nonnulls(o.run_id, o.conflict_id, o.raw_import_record_id) > 0) AS revertible
              FROM per_field AS p
              JOIN migration.assets AS a
                ON a.client_account_id = p.dw_client_account_id
               AND a.id = p.asset_id
               AND a.client_account_id OPERATOR(migration.===) $1
             CROSS JOIN LATERAL (
                SELECT CASE
                           WHEN p.field LIKE 'custom\_attributes.%%' THEN a.custom_attributes -> substr(p.field, 19)
                           WHEN p.field LIKE 'external\_ids.%%' THEN a.external_ids -> substr(p.field, 14)
                           ELSE nullif(CASE p.field %s END, 'null'::jsonb)
                       END AS current
             ) AS d
        ),
        changes AS (
            SELECT j.asset_id, j.field, j.last_new AS old_value, coalesce(j.first_old, 'null'::jsonb) AS new_value,
                   NULL::uuid AS raw_import_record_id
              FROM judged AS j
             WHERE j.revertible
        ),
        %s,
        marked AS (
            UPDATE migration.asset_changes AS c
               SET reverted_at = $4
              FROM (SELECT j.dw_client_account_id, u.id
                      FROM judged AS j
                     CROSS JOIN LATERAL unnest(j.change_ids) AS u (id)
                     WHERE j.revertible
                    OFFSET 0) AS x
             WHERE c.client_account_id = x.dw_client_account_id
               AND c.id = x.id
               AND c.client_account_id OPERATOR(migration.===) $1
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM marked),
               (SELECT coalesce(sum(cardinality(j.change_ids)), 0) FROM judged AS j WHERE NOT j.revertible)
          FROM (SELECT count(*) FROM logged) AS written
    $revert$,
        -- the field's column alone (to_jsonb(a) converted the whole asset for each field)
        (SELECT string_agg(format('WHEN %L THEN to_jsonb(a.%I)', c.name, c.name), ' ')
           FROM unnest(discovery._asset_columns()) AS c (name)),
        discovery._apply_changes_sql('$1', '$2', '$4', 'NULL::uuid', 'NULL::uuid'))
    INTO v_reverted, v_kept
    USING p_client_account_id, p_engagement_id, v_records, v_now;

    -- Assets it created that another import's record links: the first such
    -- record becomes their origin.
    WITH rehomed AS (
        SELECT DISTINCT ON (o.asset_id) o.asset_id AS id, o.id AS record_id, f.id AS discovery_flow_id,
               f.master_flow_id
          FROM migration.raw_import_records AS o
          JOIN migration.discovery_flows AS f
            ON f.client_account_id = p_client_account_id
           AND f.data_import_id = o.data_import_id
           AND f.engagement_id = o.engagement_id
         WHERE o.asset_id = ANY (v_created)
           AND o.client_account_id = p_client_account_id
           AND o.data_import_id <> p_data_import_id
         ORDER BY o.asset_id, o.processed_at, o.id
    )
    UPDATE migration.assets AS a
       SET raw_import_records_id = r.record_id,
           discovery_flow_id = r.discovery_flow_id,
           master_flow_id = r.master_flow_id,
           updated_at = v_now
      FROM rehomed AS r
     WHERE a.client_account_id = p_client_account_id
       AND a.id = r.id;

    -- The other assets it created: soft-deleted.
    WITH deleted AS (
        UPDATE migration.assets AS a
           SET deleted_at = v_now,
               updated_at = v_now
         WHERE a.client_account_id = p_client_account_id
           AND a.id = ANY (v_created)
           AND a.raw_import_records_id = ANY (v_records)
        RETURNING 1
    )
    SELECT count(*) INTO v_deleted FROM deleted;

    WITH discarded AS (
        UPDATE migration.raw_import_records AS r
           SET processing_notes = 'discarded by undo_import'
                                  || CASE WHEN r.processing_status IS NULL THEN ''
                                          ELSE ' (was ' || r.processing_status
                                               || CASE WHEN r.asset_id IS NULL THEN ''
                                                       ELSE ', asset ' || r.asset_id::text END
                                               || ')' END,
               asset_id = NULL,
               is_processed = TRUE,
               processed_at = v_now,
               processing_status = 'discarded'
         WHERE r.data_import_id = p_data_import_id
           AND r.client_account_id = p_client_account_id
        RETURNING 1
    )
    SELECT count(*) INTO v_discarded FROM discarded;

    SELECT f.id INTO v_flow_id
      FROM migration.discovery_flows AS f
     WHERE f.client_account_id = p_client_account_id
       AND f.engagement_id = p_engagement_id
       AND f.data_import_id = p_data_import_id;
    WITH closed AS (
        UPDATE migration.asset_conflict_resolutions AS c
           SET resolution_status = 'resolved',
               resolution_note = 'closed by undo_import',
               resolved_at = v_now
         WHERE c.client_account_id = p_client_account_id
           AND c.discovery_flow_id = v_flow_id
           AND c.resolution_status = 'pending'
        RETURNING 1
    )
    SELECT count(*) INTO v_closed FROM closed;

    UPDATE migration.data_imports AS i
       SET status = 'undone',
           updated_at = v_now
     WHERE i.client_account_id = p_client_account_id
       AND i.id = p_data_import_id;
    IF v_flow_id IS NOT NULL THEN
        PERFORM discovery._sync_flow_state(p_client_account_id, p_engagement_id, v_flow_id);
    END IF;

    RETURN jsonb_build_object('assets_deleted', v_deleted, 'changes_reverted', v_reverted, 'changes_kept', v_kept,
                              'records_discarded', v_discarded, 'conflicts_closed', v_closed);
END
$$;
