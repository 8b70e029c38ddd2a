-- Checks create_assets_from_discovery's p_assets: a JSON array of objects
-- (WR005), each with a raw_import_record_id that is a UUID, once (WR005), of a
-- record of the flow's import (WR004) that is neither waiting in a pending
-- conflict nor discarded (WR008).
CREATE FUNCTION discovery._assert_supplied_assets(
    p_client_account_id uuid, p_engagement_id uuid, p_discovery_flow_id uuid, p_data_import_id uuid, p_assets jsonb
) RETURNS void
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    v_bad record;
BEGIN
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
            'WR005', 'a raw record appears twice in p_assets', format('raw_import_record_id=%s', v_bad.id),
            'Send one asset per raw record.');
    END IF;
    -- By primary key alone, from the element's own tenant column, the
    -- engagement and import compared after the join (see cleanse_records).
    SELECT e.value ->> 'raw_import_record_id' AS id, r.processing_status,
           r.id IS NOT NULL AND r.engagement_id = p_engagement_id AND r.data_import_id = p_data_import_id
               AS in_import
      INTO v_bad
      FROM (SELECT p_client_account_id AS tenant, x.value
              FROM jsonb_array_elements(p_assets) AS x (value)
            OFFSET 0) AS e
      LEFT JOIN migration.raw_import_records AS r
        ON r.client_account_id = e.tenant
       AND r.id = (e.value ->> 'raw_import_record_id')::uuid
       AND r.client_account_id OPERATOR(migration.===) p_client_account_id
     WHERE r.id IS NULL OR r.engagement_id <> p_engagement_id OR r.data_import_id <> p_data_import_id
        OR r.processing_status IN ('conflict', 'discarded')
     ORDER BY r.id IS NOT NULL AND r.engagement_id = p_engagement_id AND r.data_import_id = p_data_import_id
     LIMIT 1;
    IF FOUND AND NOT v_bad.in_import THEN
        PERFORM discovery._raise(
            'WR004', 'raw record is not part of this flow''s import',
            format('raw_import_record_id=%s discovery_flow_id=%s data_import_id=%s',
                   v_bad.id, p_discovery_flow_id, p_data_import_id),
            'Send only records of the import the flow was started on: discovery.list_raw_records lists them.');
    ELSIF FOUND THEN
        PERFORM discovery._raise(
            'WR008', format('the raw record is %s', CASE v_bad.processing_status
                                                      WHEN 'conflict' THEN 'waiting in a pending conflict'
                                                      ELSE 'discarded' END),
            format('raw_import_record_id=%s processing_status=%s', v_bad.id, v_bad.processing_status),
            CASE v_bad.processing_status
                WHEN 'conflict' THEN 'Resolve it with discovery.resolve_asset_conflict (discovery.list_conflicts '
                                     'lists the pending conflicts).'
                ELSE 'Its import was undone; import the file again.' END);
    END IF;
END
$$;
