-- The repairs of repair_wiring, each one set-based statement, in an order
-- where each can use what the previous ones fixed. Returns {kind: count}.
CREATE FUNCTION discovery._repair_wiring(p_client_account_id uuid, p_engagement_id uuid)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_now timestamptz := now();
    v_repaired jsonb := '{}'::jsonb;
    v_count bigint;
BEGIN
    -- A discovery_flow_id that holds a flow's public flow_id (unique per client).
    WITH fixed AS (
        UPDATE migration.assets AS a
           SET discovery_flow_id = f.id, updated_at = v_now
          FROM migration.discovery_flows AS f
         WHERE a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND a.deleted_at IS NULL
           AND f.client_account_id = p_client_account_id
           AND f.engagement_id = p_engagement_id
           AND f.flow_id = a.discovery_flow_id
           AND NOT EXISTS (
               SELECT FROM migration.discovery_flows AS known
                WHERE known.client_account_id = p_client_account_id
                  AND known.engagement_id = p_engagement_id
                  AND known.id = a.discovery_flow_id)
        RETURNING 1
    )
    SELECT count(*) INTO v_count FROM fixed;
    v_repaired := v_repaired || jsonb_build_object('discovery_flow_id_from_flow_id', v_count);

    -- A null discovery_flow_id, from the legacy flow_id naming exactly one flow.
    WITH candidates AS (
        SELECT a.id, (array_agg(DISTINCT f.id))[1] AS discovery_flow_id
          FROM migration.assets AS a
          JOIN migration.discovery_flows AS f
            ON f.client_account_id = a.client_account_id
           AND f.engagement_id = a.engagement_id
           AND (f.id = a.flow_id OR f.flow_id = a.flow_id)
         WHERE a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND a.deleted_at IS NULL
           AND a.discovery_flow_id IS NULL
           AND a.flow_id IS NOT NULL
         GROUP BY a.id
        HAVING count(DISTINCT f.id) = 1
    ),
    fixed AS (
        UPDATE migration.assets AS a
           SET discovery_flow_id = c.discovery_flow_id, updated_at = v_now
          FROM candidates AS c
         WHERE a.client_account_id = p_client_account_id
           AND a.id = c.id
        RETURNING 1
    )
    SELECT count(*) INTO v_count FROM fixed;
    v_repaired := v_repaired || jsonb_build_object('discovery_flow_id_from_legacy_flow_id', v_count);

    -- A null discovery_flow_id, from the raw record's import having exactly one flow.
    WITH candidates AS (
        SELECT a.id, (array_agg(DISTINCT f.id))[1] AS discovery_flow_id
          FROM migration.assets AS a
          JOIN migration.raw_import_records AS r
            ON r.client_account_id = a.client_account_id
           AND r.engagement_id = a.engagement_id
           AND r.id = a.raw_import_records_id
          JOIN migration.discovery_flows AS f
            ON f.client_account_id = r.client_account_id
           AND f.engagement_id = r.engagement_id
           AND f.data_import_id = r.data_import_id
         WHERE a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND a.deleted_at IS NULL
           AND a.discovery_flow_id IS NULL
         GROUP BY a.id
        HAVING count(DISTINCT f.id) = 1
    ),
    fixed AS (
        UPDATE migration.assets AS a
           SET discovery_flow_id = c.discovery_flow_id, updated_at = v_now
          FROM candidates AS c
         WHERE a.client_account_id = p_client_account_id
           AND a.id = c.id
        RETURNING 1
    )
    SELECT count(*) INTO v_count FROM fixed;
    v_repaired := v_repaired || jsonb_build_object('discovery_flow_id_from_raw_import', v_count);

    -- master_flow_id follows the discovery flow.
    WITH fixed AS (
        UPDATE migration.assets AS a
           SET master_flow_id = f.master_flow_id, updated_at = v_now
          FROM migration.discovery_flows AS f
         WHERE a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND a.deleted_at IS NULL
           AND f.client_account_id = p_client_account_id
           AND f.engagement_id = p_engagement_id
           AND f.id = a.discovery_flow_id
           AND a.master_flow_id IS DISTINCT FROM f.master_flow_id
        RETURNING 1
    )
    SELECT count(*) INTO v_count FROM fixed;
    v_repaired := v_repaired || jsonb_build_object('master_flow_id_from_discovery_flow', v_count);

    -- A flow-based asset with a null or orphan origin, to which exactly one
    -- raw record points, gets that record as its origin. When the asset's
    -- flow is known, only records of that flow's import count (records of
    -- later imports matched to the asset did not create it).
    WITH pointers AS (
        SELECT a.id AS asset_id, (array_agg(r.id))[1] AS raw_id
          FROM migration.assets AS a
          JOIN migration.raw_import_records AS r
            ON r.client_account_id = a.client_account_id
           AND r.engagement_id = a.engagement_id
           AND r.asset_id = a.id
          LEFT JOIN migration.discovery_flows AS f
            ON f.client_account_id = a.client_account_id
           AND f.engagement_id = a.engagement_id
           AND f.id = a.discovery_flow_id
         WHERE a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND (f.data_import_id IS NULL OR r.data_import_id = f.data_import_id)
         GROUP BY a.id
        HAVING count(*) = 1
    ),
    fixed AS (
        UPDATE migration.assets AS a
           SET raw_import_records_id = p.raw_id, updated_at = v_now
          FROM pointers AS p
         WHERE a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND a.id = p.asset_id
           AND a.deleted_at IS NULL
           AND a.discovery_method = 'flow_based'
           AND (a.raw_import_records_id IS NULL OR NOT EXISTS (
               SELECT FROM migration.raw_import_records AS known
                WHERE known.client_account_id = p_client_account_id
                  AND known.engagement_id = p_engagement_id
                  AND known.id = a.raw_import_records_id))
        RETURNING 1
    )
    SELECT count(*) INTO v_count FROM fixed;
    v_repaired := v_repaired || jsonb_build_object('asset_origin_from_back_pointer', v_count);

    -- A raw record that exactly one live asset names as its origin, whose
    -- asset_id is null or finds no asset, gets the back-pointer.
    WITH origins AS (
        SELECT a.raw_import_records_id AS raw_id, (array_agg(a.id))[1] AS asset_id,
               bool_and(a.deleted_at IS NULL) AS live
          FROM migration.assets AS a
         WHERE a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND a.raw_import_records_id IS NOT NULL
         GROUP BY a.raw_import_records_id
        HAVING count(*) = 1
    ),
    fixed AS (
        UPDATE migration.raw_import_records AS r
           SET asset_id = o.asset_id,
               is_processed = true,
               processed_at = coalesce(r.processed_at, v_now),
               processing_status = CASE WHEN r.processing_status IN ('created', 'matched')
                                        THEN r.processing_status ELSE 'created' END,
               processing_notes = 'repaired: back-pointer to the asset that names this record as its origin'
          FROM origins AS o
         WHERE r.client_account_id = p_client_account_id
           AND r.engagement_id = p_engagement_id
           AND r.id = o.raw_id
           AND o.live
           AND (r.asset_id IS NULL OR NOT EXISTS (
               SELECT FROM migration.assets AS known
                WHERE known.client_account_id = p_client_account_id
                  AND known.engagement_id = p_engagement_id
                  AND known.id = r.asset_id))
        RETURNING 1
    )
    SELECT count(*) INTO v_count FROM fixed;
    v_repaired := v_repaired || jsonb_build_object('raw_back_pointer_from_asset_origin', v_count);

    -- Assets made before the linkage existed: a flow-based asset with no raw
    -- record, in a flow whose import holds exactly one unlinked record of the
    -- same identity (hostname, case-insensitive, else name), and that record
    -- fits no other such asset.
    WITH orphans AS (
        SELECT a.id, f.data_import_id,
               CASE WHEN a.hostname IS NOT NULL THEN 'hostname=' || lower(a.hostname)
                    ELSE 'name=' || lower(a.name) END AS identity
          FROM migration.assets AS a
          JOIN migration.discovery_flows AS f
            ON f.client_account_id = a.client_account_id
           AND f.engagement_id = a.engagement_id
           AND f.id = a.discovery_flow_id
         WHERE a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND a.deleted_at IS NULL
           AND a.discovery_method = 'flow_based'
           AND a.raw_import_records_id IS NULL
           AND coalesce(a.hostname, a.name) IS NOT NULL
           AND f.data_import_id IS NOT NULL
           AND NOT EXISTS (
               SELECT FROM migration.raw_import_records AS r
                WHERE r.client_account_id = a.client_account_id
                  AND r.engagement_id = a.engagement_id
                  AND r.asset_id = a.id
                  AND r.data_import_id = f.data_import_id)
    ),
    unlinked AS (
        SELECT r.id, r.data_import_id,
               CASE WHEN x.hostname IS NOT NULL THEN 'hostname=' || lower(x.hostname)
                    ELSE 'name=' || lower(x.name) END AS identity
          FROM migration.raw_import_records AS r
         CROSS JOIN LATERAL (
             SELECT discovery._mapped_field(coalesce(r.cleansed_data, r.raw_data), m.rules, 'hostname') AS hostname,
                    discovery._mapped_field(coalesce(r.cleansed_data, r.raw_data), m.rules, 'name') AS name
               FROM (SELECT CASE WHEN r.cleansed_data IS NULL
                                 THEN discovery._mapping_rules(r.client_account_id, r.data_import_id)
                                 ELSE '{}'::jsonb END AS rules) AS m
         ) AS x
         WHERE r.client_account_id = p_client_account_id
           AND r.engagement_id = p_engagement_id
           AND r.asset_id IS NULL
           AND r.data_import_id IN (SELECT o.data_import_id FROM orphans AS o)
           -- an invalid record links to nothing, and a conflict is for a person to decide
           AND r.processing_status IS DISTINCT FROM 'invalid'
           AND r.processing_status IS DISTINCT FROM 'conflict'
           AND r.processing_status IS DISTINCT FROM 'discarded'
           AND NOT EXISTS (
               SELECT FROM migration.asset_conflict_resolutions AS c
                WHERE c.client_account_id = r.client_account_id
                  AND c.raw_import_record_id = r.id
                  AND c.resolution_status = 'pending')
    ),
    pairs AS (
        SELECT o.id AS asset_id, u.id AS raw_id,
               count(*) OVER (PARTITION BY o.id) AS records_per_asset,
               count(*) OVER (PARTITION BY u.id) AS assets_per_record
          FROM orphans AS o
          JOIN unlinked AS u
            ON u.data_import_id = o.data_import_id
           AND u.identity = o.identity
    ),
    certain AS MATERIALIZED (
        SELECT p.asset_id, p.raw_id
          FROM pairs AS p
         WHERE p.records_per_asset = 1 AND p.assets_per_record = 1
    ),
    linked_assets AS (
        UPDATE migration.assets AS a
           SET raw_import_records_id = c.raw_id, updated_at = v_now
          FROM certain AS c
         WHERE a.client_account_id = p_client_account_id
           AND a.id = c.asset_id
        RETURNING 1
    ),
    linked_records AS (
        UPDATE migration.raw_import_records AS r
           SET asset_id = c.asset_id,
               is_processed = true,
               processed_at = coalesce(r.processed_at, v_now),
               processing_status = 'created',
               processing_notes = 'repaired: linked by identity to an asset made before the linkage existed'
          FROM certain AS c
         WHERE r.client_account_id = p_client_account_id
           AND r.id = c.raw_id
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM linked_assets) INTO v_count
      FROM (SELECT count(*) FROM linked_records) AS done;
    v_repaired := v_repaired || jsonb_build_object('linked_by_identity', v_count);

    RETURN v_repaired;
END
$$;
