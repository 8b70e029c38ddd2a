-- The plan of one create_assets_from_discovery call, as the text of a query
-- that the call's statement runs as its CTE "plan" (built here, so that its
-- rows are not stored once more as a function's result): one row per record
-- in scope with its cleansed fields, its outcome and the asset it is linked
-- to. It writes nothing, so that a dry run and a real run share it. The query
-- takes the statement's parameters $1 (client account), $2 (engagement), $4
-- (the import) and $5 (p_assets).
--
-- Scope: with p_assets null, the import's records not processed yet, their
-- fields being cleansed_data when set, else raw_data cleansed with the
-- import's approved mappings and field defaults (discovery._cleansing_sql);
-- with p_assets, the records it names that are not processed yet, already
-- linked, or invalid (the caller may supply what they lacked), their fields
-- being the caller's, cleansed by the same value rules.
--
-- Identity (DESIGN.md, "Identity"): a record's keys are, strongest first, its
-- external IDs (per namespace), fqdn, short host name, IP address (inet),
-- name + asset_type and name. An existing live asset is compared with the
-- record on the highest-ranked key both have: equal there, it is a candidate;
-- different, it is not the same asset, whatever a lower key says. A candidate
-- found on a weak key (IP, name + type, name) whose name differs from the
-- record's, when both have a name of their own (not just an IP address), is
-- kept apart and named in the note. No candidate: new; one: matched; more: conflict, pointing at the
-- candidate of the highest-ranked key.
--
-- New records are grouped by their strongest key; a record whose strongest
-- key is its short host name joins the group of the one FQDN of the batch with
-- that short name, one known only by its IP the one named group of that IP,
-- one with a name but no type the one typed group of that name. The first of
-- a group by row_number creates the asset, the others match it.
--
-- Shape: one pass over the records (the cleansing pipeline), then per
-- candidate record an indexed lookup of each key, stored once (topped); window
-- functions over its keys alone for the grouping (grouped), and one sort of
-- the records and their groups together, by record, to bring each group to
-- its record (zipped). Nothing is joined to a CTE, so no estimate can make it
-- quadratic, and the whole records (their fields) are sorted once, not once
-- per key: at 1,000,000 records each such sort wrote 0.7 GB to disk. The
-- lookups take the tenant from the batch's columns
-- (dw_client_account_id, dw_engagement_id), not from the constants: given the
-- constants, a planner whose statistics do not know the tenant yet may walk
-- the tenant's listing index once per record instead of the key's index. The
-- constant tenant only pins the lookups for Citus (`OPERATOR(migration.===)`,
-- never an index condition nor an estimate: migration 0006).
-- p_tenant_has_assets false (no live asset yet, as on a first import) leaves
-- the lookups out of the query.
CREATE FUNCTION discovery._plan_sql(
    p_client_account_id uuid,
    p_engagement_id uuid,
    p_data_import_id uuid,
    p_assets jsonb,
    p_tenant_has_assets boolean
) RETURNS text
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    v_rules jsonb := '{}';
    v_defaults jsonb := '{}';
    v_keys text[];
    v_input text;
    v_lookups text;
BEGIN
    IF p_assets IS NULL THEN
        v_rules := discovery._mapping_rules(p_client_account_id, p_data_import_id);
        SELECT i.field_defaults INTO v_defaults
          FROM migration.data_imports AS i
         WHERE i.client_account_id = p_client_account_id
           AND i.id = p_data_import_id;
        v_keys := discovery._raw_data_keys(p_client_account_id, p_data_import_id, TRUE);
        v_input := 'SELECT r.id, r.row_number, r.asset_id, r.is_processed, r.is_valid, r.cleansed_data, r.validation_errors, '
                   'CASE WHEN r.cleansed_data IS NULL AND jsonb_typeof(r.raw_data) = ''object'' THEN r.raw_data '
                   'ELSE ''{}''::jsonb END AS data '
                   'FROM migration.raw_import_records AS r '
                   'WHERE r.data_import_id = $4 AND NOT r.is_processed '
                   'AND r.client_account_id OPERATOR(migration.===) $1 AND r.engagement_id IS NOT DISTINCT FROM $2';
    ELSE
        -- the keys once each (a hash of them; array_agg(DISTINCT) sorted every key of every record)
        SELECT array_agg(d.key ORDER BY d.key) INTO v_keys
          FROM (SELECT DISTINCT k.key
              FROM jsonb_array_elements(p_assets) AS e (value)
             CROSS JOIN LATERAL jsonb_object_keys(e.value - 'raw_import_record_id') AS k (key)) AS d;
        v_input := 'SELECT r.id, r.row_number, r.asset_id, r.is_processed, NULL::boolean AS is_valid, NULL::jsonb AS cleansed_data, '
                   'NULL::jsonb AS validation_errors, e.value - ''raw_import_record_id'' AS data '
                   'FROM (SELECT $1::uuid AS tenant, x.value FROM jsonb_array_elements($5) AS x (value) '
                   'OFFSET 0) AS e '
                   'JOIN migration.raw_import_records AS r '
                   'ON r.client_account_id = e.tenant AND r.id = (e.value ->> ''raw_import_record_id'')::uuid '
                   'AND r.client_account_id OPERATOR(migration.===) $1 '
                   'WHERE NOT r.is_processed OR r.asset_id IS NOT NULL OR r.processing_status = ''invalid''';
    END IF;

    -- Each candidate record's candidates, by an indexed lookup of each of its
    -- keys; with no live asset in the tenant (a first import) there is none to
    -- find, and the records take constants instead (a lateral subquery per
    -- record, even one whose branches are all false, cost 3 s a million).
    IF p_tenant_has_assets THEN
        v_lookups := $lookups$
             CROSS JOIN LATERAL (
                -- The best key is the key of the lowest rank (a key's text depends
                -- on its rank only), its rank one digit before it. An aggregate's
                -- argument is computed only for the rows its filter keeps.
                SELECT count(*) FILTER (WHERE d.verdict = 'same') AS n_same,
                       jsonb_agg(jsonb_build_array(d.rank, d.created_at, d.id)) FILTER (WHERE d.verdict = 'same')
                           AS same,
                       substr(min(d.rank::text || d.key COLLATE "C") FILTER (WHERE d.verdict = 'same'), 2) AS best_key,
                       jsonb_agg(jsonb_build_array(d.created_at, d.id, d.key)) FILTER (WHERE d.verdict = 'apart')
                           AS apart
                  FROM (
                    SELECT a.id, a.created_at, v.rank, v.key,
                           CASE WHEN NOT v.equal THEN 'different'
                                WHEN v.rank >= 4 AND k.named AND ak.a_named
                                     AND ak.a_name IS DISTINCT FROM k.k_name THEN 'apart'
                                ELSE 'same' END AS verdict
                      FROM (
                        -- UNION ALL, the branches numbered: UNION built a hash table
                        -- for every record, sized by the planner's estimate (about
                        -- 200 kB zeroed per record in a big tenant). An asset that
                        -- an earlier branch finds too is dropped below, once its
                        -- keys are known.
                        SELECT 1 AS branch, a.id, a.created_at, a.name, a.asset_type, a.hostname, a.fqdn,
                               a.ip_address, a.external_ids
                          FROM migration.assets AS a
                         WHERE migration.short_name_key(a.hostname, a.fqdn) = k.k_short
                           AND a.client_account_id = k.dw_client_account_id AND a.engagement_id = k.dw_engagement_id
                           AND a.client_account_id OPERATOR(migration.===) $1
                           AND a.deleted_at IS NULL AND (a.hostname IS NOT NULL OR a.fqdn IS NOT NULL)
                           AND k.asset_id IS NULL AND k.valid
                        UNION ALL
                        SELECT 2, a.id, a.created_at, a.name, a.asset_type, a.hostname, a.fqdn, a.ip_address,
                               a.external_ids
                          FROM migration.assets AS a
                         WHERE migration.ip_key(a.ip_address) = k.k_ip
                           AND a.client_account_id = k.dw_client_account_id AND a.engagement_id = k.dw_engagement_id
                           AND a.client_account_id OPERATOR(migration.===) $1
                           AND a.deleted_at IS NULL AND a.ip_address IS NOT NULL
                           AND k.asset_id IS NULL AND k.valid
                        UNION ALL
                        SELECT 3, a.id, a.created_at, a.name, a.asset_type, a.hostname, a.fqdn, a.ip_address,
                               a.external_ids
                          FROM migration.assets AS a
                         WHERE migration.identity_text(a.name) = k.k_name
                           AND a.client_account_id = k.dw_client_account_id AND a.engagement_id = k.dw_engagement_id
                           AND a.client_account_id OPERATOR(migration.===) $1
                           AND a.deleted_at IS NULL AND a.name IS NOT NULL
                           AND k.asset_id IS NULL AND k.valid
                        UNION ALL
                        SELECT 4, a.id, a.created_at, a.name, a.asset_type, a.hostname, a.fqdn, a.ip_address,
                               a.external_ids
                          FROM jsonb_each(k.k_ext) AS e
                          JOIN migration.assets AS a
                            ON a.external_ids @> jsonb_build_object(e.key, e.value)
                           AND a.client_account_id = k.dw_client_account_id AND a.engagement_id = k.dw_engagement_id
                           AND a.client_account_id OPERATOR(migration.===) $1
                           AND a.deleted_at IS NULL AND a.external_ids <> '{}'::jsonb
                           AND k.asset_id IS NULL AND k.valid
                         -- an asset sharing several of the record's external IDs: once,
                         -- through the first of them
                         WHERE NOT EXISTS (SELECT FROM jsonb_each(k.k_ext) AS f
                                            WHERE f.key < e.key
                                              AND a.external_ids @> jsonb_build_object(f.key, f.value))
                      ) AS a
                     CROSS JOIN LATERAL (
                        -- the candidate's keys, each only when the record has it (a
                        -- key the record lacks is never compared), and none that the
                        -- branch's index condition found equal to the record's
                        SELECT CASE WHEN k.k_fqdn IS NOT NULL THEN migration.fqdn_key(a.fqdn) END AS a_fqdn,
                               CASE WHEN a.branch = 1 THEN k.k_short
                                    WHEN k.k_short IS NOT NULL THEN migration.short_name_key(a.hostname, a.fqdn)
                               END AS a_short,
                               CASE WHEN a.branch = 2 THEN k.k_ip
                                    WHEN k.k_ip IS NOT NULL THEN migration.ip_key(a.ip_address)
                               END AS a_ip,
                               CASE WHEN a.branch = 3 THEN k.k_name ELSE migration.identity_text(a.name) END AS a_name,
                               a.name IS DISTINCT FROM a.ip_address AS a_named,
                               migration.identity_text(a.asset_type) AS a_type,
                               CASE WHEN k.k_ext IS NOT NULL THEN (
                                   SELECT bool_or(a.external_ids ? e.key) FROM jsonb_each(k.k_ext) AS e)
                               END AS ext_shared,
                               CASE WHEN k.k_ext IS NOT NULL THEN (
                                   SELECT bool_or(a.external_ids ? e.key AND a.external_ids -> e.key <> e.value)
                                     FROM jsonb_each(k.k_ext) AS e)
                               END AS ext_differs
                         OFFSET 0  -- once per candidate (pulled up, each use below would call them again)
                     ) AS ak
                     CROSS JOIN LATERAL (
                        -- the highest-ranked key both have (none: not a candidate)
                        SELECT CASE
                                   WHEN ak.ext_shared THEN 1
                                   WHEN k.k_fqdn IS NOT NULL AND ak.a_fqdn IS NOT NULL THEN 2
                                   WHEN k.k_short IS NOT NULL AND ak.a_short IS NOT NULL THEN 3
                                   WHEN k.k_ip IS NOT NULL AND ak.a_ip IS NOT NULL THEN 4
                                   WHEN k.k_type IS NOT NULL AND ak.a_type IS NOT NULL AND k.k_name IS NOT NULL
                                        AND ak.a_name IS NOT NULL THEN 5
                                   WHEN k.k_name IS NOT NULL AND ak.a_name IS NOT NULL THEN 6
                               END AS rank
                     ) AS rk
                     CROSS JOIN LATERAL (
                        -- that key, and whether the two are equal on it
                        SELECT rk.rank,
                               CASE rk.rank
                                   WHEN 1 THEN 'external_id'
                                   WHEN 2 THEN 'fqdn=' || k.k_fqdn
                                   WHEN 3 THEN 'hostname=' || k.k_short
                                   WHEN 4 THEN 'ip_address=' || host(k.k_ip)
                                   WHEN 5 THEN 'name+asset_type=' || k.k_name || '+' || k.k_type
                                   ELSE 'name=' || k.k_name
                               END AS key,
                               CASE rk.rank
                                   WHEN 1 THEN NOT ak.ext_differs
                                   WHEN 2 THEN k.k_fqdn = ak.a_fqdn
                                   WHEN 3 THEN k.k_short = ak.a_short
                                   WHEN 4 THEN k.k_ip = ak.a_ip
                                   WHEN 5 THEN k.k_name = ak.a_name AND k.k_type = ak.a_type
                                   ELSE k.k_name = ak.a_name
                               END AS equal
                         WHERE rk.rank IS NOT NULL
                     ) AS v
                    -- each asset once: from the first branch that finds it
                    WHERE (a.branch = 1 OR (ak.a_short = k.k_short) IS NOT TRUE)
                      AND (a.branch <= 2 OR (ak.a_ip = k.k_ip) IS NOT TRUE)
                      AND (a.branch <= 3 OR (ak.a_name = k.k_name) IS NOT TRUE)
                  ) AS d
             ) AS h
$lookups$;
    ELSE
        v_lookups := 'CROSS JOIN LATERAL (SELECT 0::bigint AS n_same, NULL::jsonb AS same, NULL::text AS best_key, '
                     'NULL::jsonb AS apart) AS h';
    END IF;

    RETURN format($plan$
        WITH looked_up AS (
            -- The candidates in order (by rank, then age), and the oldest asset
            -- kept apart: sorted here, and only when there are two or more. An
            -- ordered aggregate would start a sort for every record, even one
            -- with no candidate.
            SELECT k.*, h.n_same, h.best_key,
                   CASE WHEN h.n_same = 1 THEN ARRAY[(h.same -> 0 ->> 2)::uuid]
                        WHEN h.n_same > 1 THEN (
                            SELECT array_agg((e.value ->> 2)::uuid ORDER BY (e.value ->> 0)::integer,
                                             (e.value ->> 1)::timestamptz, (e.value ->> 2)::uuid)
                              FROM jsonb_array_elements(h.same) AS e (value))
                   END AS candidate_ids,
                   CASE WHEN jsonb_array_length(h.apart) > 1 THEN (
                            SELECT e.value
                              FROM jsonb_array_elements(h.apart) AS e (value)
                             ORDER BY (e.value ->> 0)::timestamptz, (e.value ->> 1)::uuid
                             LIMIT 1)
                        ELSE h.apart -> 0
                   END AS apart
              FROM (
                -- each record's identity keys, computed once (OFFSET 0: pulled
                -- up, every use of a key below would compute it again)
                SELECT x.*, $1::uuid AS dw_client_account_id, $2::uuid AS dw_engagement_id,
                       CASE WHEN x.cleansed_now THEN NOT x.problems @> '[{"severity": "error"}]'
                            ELSE x.is_valid IS DISTINCT FROM FALSE END AS valid,
                       nullif(x.fields -> 'external_ids', '{}'::jsonb) AS k_ext,
                       migration.fqdn_key(x.fields ->> 'fqdn') AS k_fqdn,
                       migration.short_name_key(x.fields ->> 'hostname', x.fields ->> 'fqdn') AS k_short,
                       migration.ip_key(x.fields ->> 'ip_address') AS k_ip,
                       migration.identity_text(coalesce(x.fields ->> 'name', x.fields ->> 'asset_name',
                                                        x.fields ->> 'hostname', x.fields ->> 'fqdn',
                                                        x.fields ->> 'ip_address')) AS k_name,
                       coalesce(x.fields ->> 'name', x.fields ->> 'asset_name', x.fields ->> 'hostname',
                                x.fields ->> 'fqdn') IS NOT NULL AS named,
                       migration.identity_text(x.fields ->> 'asset_type') AS k_type
                  FROM (
                    -- each record's fields: its cleansed data when it has some, else
                    -- the cleansing pipeline's (OFFSET 0: computed once)
                    SELECT c.id, c.row_number, c.asset_id, c.is_processed, c.is_valid,
                           c.cleansed_data IS NULL AS cleansed_now,
                           coalesce(c.cleansed_data, c.fields) AS fields,
                           CASE WHEN c.cleansed_data IS NULL THEN c.problems
                                WHEN jsonb_typeof(c.validation_errors) = 'array' THEN c.validation_errors
                                ELSE '[]'::jsonb END AS problems
                      FROM (%1$s) AS c
                    OFFSET 0
                  ) AS x
                OFFSET 0
              ) AS k
             %2$s
        ),
        topped AS MATERIALIZED (
            -- each record's strongest key, and the ID its asset gets if it creates
            -- one (drawn here, in the order the records are read). Stored once: the grouping
            -- reads its keys, the records' order the whole rows.
            SELECT l.*, l.candidate_ids[1] AS best_id, (l.apart ->> 1)::uuid AS apart_id,
                   l.apart ->> 2 AS apart_key,
                   migration.uuid_v7() AS new_id,
                   (l.asset_id IS NULL AND l.valid AND l.n_same = 0) AS is_new,
                   CASE
                       WHEN l.k_ext IS NOT NULL
                           THEN 'external_id ' || (SELECT min(e.key || '=' || (e.value #>> '{}'))
                                                     FROM jsonb_each(l.k_ext) AS e)
                       WHEN l.k_fqdn IS NOT NULL THEN 'fqdn=' || l.k_fqdn
                       WHEN l.k_short IS NOT NULL THEN 'hostname=' || l.k_short
                       WHEN l.k_ip IS NOT NULL
                           THEN 'ip_address=' || host(l.k_ip) || CASE WHEN l.named THEN ' name=' || l.k_name ELSE '' END
                       WHEN l.k_type IS NOT NULL AND l.k_name IS NOT NULL
                           THEN 'name+asset_type=' || l.k_name || '+' || l.k_type
                       WHEN l.k_name IS NOT NULL THEN 'name=' || l.k_name
                       ELSE 'record=' || l.id
                   END AS top_key
              FROM looked_up AS l
        ),
        grouped AS (
            -- the groups of new records, on the keys alone: each sort by a key
            -- handles a few short columns, not the whole record with its fields
            SELECT a.row_number, a.id, a.group_key,
                   first_value(a.row_number) OVER new_group AS first_row,
                   first_value(a.new_id) OVER new_group AS group_asset_id
              FROM (
                SELECT w.row_number, w.id, w.new_id,
                       CASE
                           WHEN NOT w.is_new THEN NULL
                           WHEN w.top_key LIKE 'hostname=%%' AND w.fqdn_low = w.fqdn_high THEN 'fqdn=' || w.fqdn_low
                           WHEN w.top_key LIKE 'ip_address=%%' AND NOT w.named AND w.ip_low = w.ip_high THEN w.ip_low
                           WHEN w.top_key LIKE 'name=%%' AND w.typed_low = w.typed_high THEN w.typed_low
                           ELSE w.top_key
                       END AS group_key
                  FROM (
                    SELECT t.row_number, t.id, t.new_id, t.is_new, t.named, t.top_key,
                           min(t.k_fqdn) FILTER (WHERE t.is_new AND t.k_ext IS NULL) OVER (PARTITION BY t.k_short)
                               AS fqdn_low,
                           max(t.k_fqdn) FILTER (WHERE t.is_new AND t.k_ext IS NULL) OVER (PARTITION BY t.k_short)
                               AS fqdn_high,
                           min(t.top_key) FILTER (WHERE t.is_new AND t.named AND t.top_key LIKE 'ip_address=%%')
                               OVER (PARTITION BY t.k_ip) AS ip_low,
                           max(t.top_key) FILTER (WHERE t.is_new AND t.named AND t.top_key LIKE 'ip_address=%%')
                               OVER (PARTITION BY t.k_ip) AS ip_high,
                           min(t.top_key) FILTER (WHERE t.is_new AND t.top_key LIKE 'name+asset_type=%%')
                               OVER (PARTITION BY t.k_name) AS typed_low,
                           max(t.top_key) FILTER (WHERE t.is_new AND t.top_key LIKE 'name+asset_type=%%')
                               OVER (PARTITION BY t.k_name) AS typed_high
                      FROM topped AS t
                  ) AS w
              ) AS a
            WINDOW new_group AS (PARTITION BY a.group_key ORDER BY a.row_number, a.id)
        ),
        zipped AS (
            -- each record with its group, without a join: the two sorted together
            -- by record, the group's row first, which first_value() then reads
            SELECT z.*,
                   first_value(z.g_key) OVER one_record AS group_key,
                   first_value(z.g_first_row) OVER one_record AS first_row,
                   first_value(z.g_asset_id) OVER one_record AS group_asset_id
              FROM (
                SELECT g.row_number, g.id, 0 AS part, g.group_key AS g_key, g.first_row AS g_first_row,
                       g.group_asset_id AS g_asset_id, NULL::uuid AS asset_id, NULL::boolean AS is_processed,
                       NULL::jsonb AS fields, NULL::jsonb AS problems, NULL::boolean AS valid,
                       NULL::boolean AS cleansed_now, NULL::bigint AS n_same, NULL::text AS best_key,
                       NULL::uuid AS best_id, NULL::uuid[] AS candidate_ids, NULL::uuid AS apart_id,
                       NULL::text AS apart_key
                  FROM grouped AS g
                UNION ALL
                SELECT t.row_number, t.id, 1, NULL, NULL, NULL, t.asset_id, t.is_processed, t.fields, t.problems,
                       t.valid, t.cleansed_now, t.n_same, t.best_key, t.best_id, t.candidate_ids, t.apart_id,
                       t.apart_key
                  FROM topped AS t
              ) AS z
            WINDOW one_record AS (PARTITION BY z.row_number, z.id ORDER BY z.part)
        )
        SELECT g.id AS raw_import_record_id,
               g.row_number,
               o.outcome,
               NOT (o.outcome = 'already_linked' AND g.is_processed) AS handles,
               CASE o.outcome
                   WHEN 'already_linked' THEN g.asset_id
                   WHEN 'created' THEN g.group_asset_id
                   WHEN 'matched' THEN coalesce(g.best_id, g.group_asset_id)
               END AS asset_id,
               o.outcome = 'matched' AND g.best_id IS NOT NULL AS matched_existing,
               g.fields,
               g.problems,
               g.valid,
               g.cleansed_now,
               CASE o.outcome
                   WHEN 'already_linked' THEN format('already linked to asset %%s', g.asset_id)
                   WHEN 'invalid' THEN 'invalid: ' || coalesce((
                            SELECT string_agg(concat_ws(': ', p.value ->> 'field', p.value ->> 'error'), '; ')
                              FROM jsonb_array_elements(g.problems) AS p (value)
                             WHERE p.value ->> 'severity' IS DISTINCT FROM 'warning'), 'failed validation')
                   WHEN 'conflict' THEN format('conflict: identity matches %%s assets (highest-ranked key %%s); '
                                               'pending resolution', g.n_same, g.best_key)
                   WHEN 'created' THEN 'created (identity ' || g.group_key || ')'
                   ELSE coalesce('matched existing asset by ' || g.best_key,
                                 format('matched the asset created from row %%s (same %%s)', g.first_row, g.group_key))
               END
               || CASE WHEN g.apart_id IS NOT NULL AND o.outcome IN ('created', 'matched')
                       THEN format('; asset %%s shares %%s but has another name: kept apart', g.apart_id, g.apart_key)
                       ELSE '' END AS notes,
               g.best_id AS existing_asset_id,
               g.candidate_ids AS candidate_asset_ids,
               g.best_key AS conflict_key
          FROM zipped AS g
         CROSS JOIN LATERAL (
            SELECT CASE
                       WHEN g.asset_id IS NOT NULL THEN 'already_linked'
                       WHEN NOT g.valid THEN 'invalid'
                       WHEN g.n_same >= 2 THEN 'conflict'
                       WHEN g.n_same = 1 THEN 'matched'
                       WHEN g.first_row = g.row_number THEN 'created'
                       ELSE 'matched'
                   END AS outcome
         ) AS o
         WHERE g.part = 1
         -- in the records' order (zipped's sort already gives it): the new
         -- assets are inserted, and the records updated, in about the order of
         -- their IDs (version 7: drawn in this order), so each index led by an
         -- ID is written at one end of the batch's range instead of all over it
         -- (migration 0016)
         ORDER BY g.row_number
    $plan$, discovery._cleansing_sql(v_rules, coalesce(v_keys, '{}'), coalesce(v_defaults, '{}'), v_input),
        v_lookups);
END
$$;
