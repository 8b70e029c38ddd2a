-- The cleansing of a batch, as SQL built once per call (DESIGN.md, "Field
-- mapping", "Source profiles", "Outcomes"). p_input is a query whose rows
-- carry a jsonb column "data" (a record's fields as given); the result is a
-- query returning every column of p_input plus "fields" (jsonb) and
-- "problems" (a jsonb array), and helper columns named dw_*. It is built from
-- the mapping rules (discovery._mapping_rules), the keys the batch's records
-- carry and the import's field defaults, as one pipeline of projections over
-- the batch: a record costs a few expressions per key and no function call or
-- subquery of its own (a per-record function over jsonb_each cost
-- milliseconds a record).
--
--   fields    a key named by an approved mapping fills its target; an
--             unmapped key equal to an asset column (any case, any padding)
--             fills that column; external_ids.<namespace> keys and an
--             "external_ids" object give external IDs; any other key is a
--             custom attribute under its own name (or the mapping's); a blank
--             key is the custom attribute unnamed_column; the defaults fill
--             what no key filled (a profile's constants);
--   values    of asset columns and external IDs: every kind of whitespace
--             trimmed; placeholders (N/A, -, …) are null; a nested object is
--             its value_key member, else its display, name, label, address,
--             model or value; ip_address keeps the primary address (the first
--             IPv4, else the first IPv6) and, when there are several, all of
--             them in the custom attribute ip_addresses; cpu_cores is a whole
--             number from 0 to 100,000; memory_gb and storage_gb are in GB (the
--             unit from the value or the mapping; 1 GB = 1024 MB), from 0 to
--             1e9; identity text (name, asset_name, asset_type, hostname,
--             fqdn, external IDs) is at most 255 characters, other text
--             10,000; a dotted hostname that is no IP address is also the fqdn
--             when there is none. Custom attributes: strings are trimmed and
--             placeholders dropped like the rest; numbers, booleans, objects
--             and arrays keep their JSON; empty ones are left out;
--   wide      a batch whose records carry hundreds of keys: a custom
--             attribute past the 250th (unmapped, the only key of its name)
--             is not a column of the pipeline (a query holds at most 1,664)
--             but is read from each record's jsonb in one subquery, with the
--             same value rules;
--   winners   several keys of one field: the lowest priority number wins,
--             then a mapped key, then the key's name; the others' values are
--             kept as custom attributes (under their own name, or
--             "source: <key>" when that names a field);
--   problems  a value set to null, and a second source of equal priority, is
--             a warning {field, error, value, severity: "warning", source}
--             (so is an entry an "external_ids" object leaves out);
--             a record with no name and no identity key has an error
--             (severity "error"), which makes it invalid.
CREATE FUNCTION discovery._cleansing_sql(
    p_rules jsonb, p_keys text[], p_defaults jsonb, p_input text
) RETURNS text
LANGUAGE plpgsql
IMMUTABLE
AS $$
DECLARE
    v_raw text;
    v_texts text;
    v_flags text;
    v_values text;
    v_fields text;
    v_spares text;
    v_external text;
    v_problems text;
    v_wide text;
    v_external_key text;
    v_object text;
BEGIN
    WITH source AS (
        -- one row per key of the batch, and per default, with its target
        SELECT k.key, k.ordinality AS n, r.rule IS NOT NULL AS mapped,
               coalesce((r.rule ->> 'priority')::integer, 1) AS priority,
               r.rule ->> 'unit' AS unit, r.rule ->> 'value_key' AS value_key,
               CASE
                   WHEN r.rule IS NOT NULL THEN discovery._field_name(r.rule ->> 'target')
                   WHEN x.norm = '' THEN 'unnamed_column'
                   ELSE discovery._field_name(k.key)
               END AS target,
               NULL::jsonb AS constant
          FROM unnest(p_keys) WITH ORDINALITY AS k (key, ordinality)
         CROSS JOIN LATERAL (SELECT lower(discovery._trim(k.key)) AS norm) AS x
         CROSS JOIN LATERAL (SELECT p_rules -> x.norm AS rule) AS r
         WHERE x.norm <> 'external_ids'
        UNION ALL
        SELECT NULL, 100000 + d.ordinality, FALSE, 1000, NULL, NULL, discovery._field_name(d.key), d.value
          FROM jsonb_each(CASE WHEN jsonb_typeof(p_defaults) = 'object' THEN p_defaults ELSE '{}' END)
               WITH ORDINALITY AS d (key, value, ordinality)
    ),
    typed AS (
        SELECT s.*,
               CASE
                   WHEN s.target = 'ip_address' THEN 'ip'
                   WHEN s.target = 'cpu_cores' THEN 'cores'
                   WHEN s.target IN ('memory_gb', 'storage_gb') THEN 'gb'
                   WHEN s.target = ANY (discovery._identity_columns()) OR s.target = 'asset_type' THEN 'identity'
                   WHEN s.target = ANY (discovery._asset_columns()) THEN 'text'
                   WHEN s.target LIKE 'external\_ids._%' THEN 'external_id'
                   ELSE 'custom'
               END AS kind,
               row_number() OVER (PARTITION BY s.target ORDER BY s.priority, s.mapped DESC, s.key) AS rank,
               min(s.priority) OVER (PARTITION BY s.target) AS best_priority,
               count(*) OVER (PARTITION BY s.target) AS sharing
          FROM source AS s
    ),
    placed AS (
        -- a plain custom attribute (unmapped, the only source of its name)
        -- past the first 250 goes through the wide path (see "wide" below)
        SELECT y.*,
               y.kind = 'custom' AND y.constant IS NULL AND NOT y.mapped AND y.sharing = 1
                   AND y.target <> 'unnamed_column' AND row_number() OVER (
                       PARTITION BY y.kind = 'custom' AND y.constant IS NULL AND NOT y.mapped AND y.sharing = 1
                                    AND y.target <> 'unnamed_column'
                       ORDER BY y.n) > 250 AS wide
          FROM typed AS y
    ),
    sources AS (
        SELECT y.*,
               format('dw_r%s', y.n) AS r, format('dw_t%s', y.n) AS t, format('dw_p%s', y.n) AS p,
               format('dw_v%s', y.n) AS v,
               -- the value as the field stores it (jsonb), null when empty or unusable
               CASE
                   WHEN y.constant IS NOT NULL THEN quote_literal(y.constant) || '::jsonb'
                   WHEN y.kind = 'custom' THEN format(
                       'CASE WHEN (left(f.dw_r%1$s, 1) IN (''{'', ''['', ''t'', ''f'', ''-'') OR f.dw_r%1$s ~ ''^[0-9]'') '
                       'AND jsonb_typeof(f.data -> %2$L) IN (''object'', ''array'', ''number'', ''boolean'') '
                       'THEN f.data -> %2$L WHEN f.dw_p%1$s THEN NULL ELSE to_jsonb(f.dw_t%1$s) END', y.n, y.key)
                   WHEN y.kind = 'ip' THEN format('nullif(f.dw_v%s -> ''primary'', ''null''::jsonb)', y.n)
                   ELSE format('f.dw_v%s', y.n)
               END AS value_sql,
               CASE y.kind
                   WHEN 'cores' THEN 'not a whole number from 0 to 100000'
                   WHEN 'gb' THEN 'not an amount from 0 to 1e9 GB'
                   WHEN 'identity' THEN 'longer than 255 characters'
                   WHEN 'external_id' THEN 'longer than 255 characters'
                   ELSE 'longer than 10000 characters'
               END AS failure
          FROM placed AS y
         WHERE NOT y.wide
    ),
    converted AS (
        -- layer d: each non-custom key's value, from its text (c.dw_t) and placeholder flag (c.dw_p)
        -- (an address with no colon is IPv4 and its own key: migration.ip_key, which checks it again,
        -- only for IPv6, which may be IPv4-mapped)
        SELECT s.n, format(CASE s.kind
                   WHEN 'external_id' THEN
                       'CASE WHEN NOT c.%2$s AND length(c.%1$s) <= 255 THEN to_jsonb(migration.identity_text(c.%1$s)) END'
                   WHEN 'ip' THEN
                       'CASE WHEN c.%1$s IS NULL OR c.%2$s THEN NULL WHEN migration.is_ip_address(c.%1$s) '
                       'THEN jsonb_build_object(''primary'', host(CASE WHEN strpos(c.%1$s, '':'') = 0 THEN c.%1$s::inet '
                       'ELSE migration.ip_key(c.%1$s) END), ''addresses'', '
                       '''[]''::jsonb, ''bad'', ''[]''::jsonb) ELSE discovery._ip_addresses(c.data -> %3$L, %4$L) END'
                   WHEN 'cores' THEN
                       'CASE WHEN NOT c.%2$s AND c.%1$s ~ ''^[0-9]{1,6}(\.0*)?$'' AND c.%1$s::numeric <= 100000 '
                       'THEN to_jsonb(c.%1$s::numeric::integer) END'
                   WHEN 'gb' THEN
                       'CASE WHEN c.%2$s THEN NULL WHEN c.%1$s ~ ''^[0-9]{1,12}(\.[0-9]+)?$'' '
                       'AND c.%1$s::numeric * %5$s <= 1e9 THEN to_jsonb(trim_scale(round(c.%1$s::numeric * %5$s, 3))) '
                       'WHEN discovery._to_gb(c.%1$s, %6$L) <= 1e9 THEN to_jsonb(discovery._to_gb(c.%1$s, %6$L)) END'
                   ELSE
                       'CASE WHEN NOT c.%2$s AND length(c.%1$s) <= %7$s THEN to_jsonb(c.%1$s) END'
               END,
               s.t, s.p, s.key, s.value_key,
               CASE upper(coalesce(s.unit, 'GB'))
                   WHEN 'B' THEN '(1.0 / 1073741824)' WHEN 'KB' THEN '(1.0 / 1048576)' WHEN 'KIB' THEN '(1.0 / 1048576)'
                   WHEN 'MB' THEN '(1.0 / 1024)' WHEN 'MIB' THEN '(1.0 / 1024)'
                   WHEN 'TB' THEN '1024' WHEN 'TIB' THEN '1024' ELSE '1' END,
               s.unit,
               CASE s.kind WHEN 'identity' THEN 255 ELSE 10000 END) || ' AS ' || s.v AS expr
          FROM sources AS s
         WHERE s.constant IS NULL AND s.kind <> 'custom'
    ),
    spares AS (
        -- a value of a field that another source filled: kept as a custom attribute
        SELECT s.*,
               CASE WHEN lower(discovery._trim(s.key)) = ANY (discovery._asset_columns())
                         OR lower(discovery._trim(s.key)) LIKE 'external\_ids._%'
                         OR discovery._field_name(s.key) = s.target
                    THEN 'source: ' || discovery._trim(s.key)
                    ELSE discovery._trim(s.key) END AS spare_name,
               (SELECT string_agg(w.value_sql, ', ' ORDER BY w.rank)
                  FROM sources AS w
                 WHERE w.target = s.target AND w.rank < s.rank) AS earlier_sql
          FROM sources AS s
         WHERE s.rank > 1 AND s.constant IS NULL
    ),
    problem_sql AS (
        -- each problem a record can have: when it is reported (cond) and
        -- the report; a record with no cond true builds no array (below)
        SELECT s.n, format('f.%s', s.p) AS cond, format(
                   'jsonb_build_object(''field'', %1$L, ''error'', ''placeholder value, treated as empty'', '
                   '''value'', left(f.%2$s, 200), ''severity'', ''warning'', ''source'', %3$L)',
                   s.target, s.t, s.key) AS report
          FROM sources AS s
         WHERE s.constant IS NULL AND s.kind <> 'custom'
        UNION ALL
        SELECT s.n, format('f.%1$s IS NOT NULL AND NOT f.%2$s AND f.%3$s IS NULL', s.t, s.p, s.v), format(
                   'jsonb_build_object(''field'', %1$L, ''error'', %2$L, ''value'', left(f.%3$s, 200), '
                   '''severity'', ''warning'', ''source'', %4$L)', s.target, s.failure, s.t, s.key)
          FROM sources AS s
         WHERE s.constant IS NULL AND s.kind NOT IN ('custom', 'ip')
        UNION ALL
        SELECT s.n, format('jsonb_array_length(f.%s -> ''bad'') > 0', s.v), format(
                   'jsonb_build_object(''field'', %2$L, ''error'', ''not an IPv4 or IPv6 address: '' || '
                   '(SELECT string_agg(x, '', '') FROM jsonb_array_elements_text(f.%1$s -> ''bad'') AS x), '
                   '''value'', left(f.%3$s, 200), ''severity'', ''warning'', ''source'', %4$L)',
                   s.v, s.target, s.t, s.key)
          FROM sources AS s
         WHERE s.constant IS NULL AND s.kind = 'ip'
        UNION ALL
        SELECT s.n, format('%s IS NOT NULL AND coalesce(%s) IS NOT NULL', s.value_sql, s.earlier_sql), format(
                   'jsonb_build_object(''field'', %1$L, ''error'', %2$L, ''value'', left(%3$s #>> ''{}'', 200), '
                   '''severity'', ''warning'', ''source'', %4$L)',
                   s.target,
                   format('also filled by another column; this value is kept in custom_attributes.%s', s.spare_name),
                   s.value_sql, s.key)
          FROM spares AS s
         WHERE s.priority = s.best_priority
        UNION ALL
        SELECT s.n, format('%s IS NOT NULL', s.value_sql), format(
                   'jsonb_build_object(''field'', %1$L, ''error'', '
                   '''a column without a name: its value is kept in custom_attributes.unnamed_column'', '
                   '''value'', left(%2$s #>> ''{}'', 200), ''severity'', ''warning'', ''source'', %3$L)',
                   s.target, s.value_sql, s.key)
          FROM sources AS s
         WHERE s.target = 'unnamed_column' AND s.rank = 1
    ),
    field_pairs AS (
        SELECT format('%L, coalesce(%s)', t.target, string_agg(t.value_sql, ', ' ORDER BY t.rank)) AS pair
          FROM sources AS t
         WHERE t.kind <> 'external_id'
         GROUP BY t.target
        UNION ALL
        SELECT format('''ip_addresses'', coalesce(%s)',
                      string_agg(format('nullif(f.%s -> ''addresses'', ''[]''::jsonb)', t.v), ', ' ORDER BY t.rank))
          FROM sources AS t
         WHERE t.kind = 'ip' AND t.constant IS NULL
        HAVING count(*) > 0
    ),
    external_pairs AS (
        SELECT format('%L, coalesce(%s)', substr(t.target, 14), string_agg(t.value_sql, ', ' ORDER BY t.rank)) AS pair
          FROM sources AS t
         WHERE t.kind = 'external_id'
         GROUP BY t.target
    )
    SELECT
        (SELECT string_agg(format(', s.data ->> %L AS %s', s.key, s.r), '' ORDER BY s.n)
           FROM sources AS s WHERE s.constant IS NULL),
        (SELECT string_agg(format(
                    ', CASE WHEN left(a.%1$s, 1) IN (''{'', ''['') AND jsonb_typeof(a.data -> %3$L) IN '
                    '(''object'', ''array'') THEN discovery._json_text(a.data -> %3$L, %4$L) '
                    'ELSE nullif(discovery._trim(a.%1$s), '''') END AS %2$s', s.r, s.t, s.key, s.value_key),
                    '' ORDER BY s.n)
           FROM sources AS s WHERE s.constant IS NULL),
        (SELECT string_agg(format(', coalesce(discovery._is_placeholder(b.%s), false) AS %s', s.t, s.p), ''
                           ORDER BY s.n)
           FROM sources AS s WHERE s.constant IS NULL),
        (SELECT string_agg(', ' || c.expr, '' ORDER BY c.n) FROM converted AS c),
        (SELECT discovery._jsonb_object_sql(array_agg(g.pair)) FROM field_pairs AS g),
        (SELECT discovery._jsonb_object_sql(array_agg(format('%L, CASE WHEN coalesce(%s) IS NOT NULL THEN %s END',
                                                             s.spare_name, s.earlier_sql, s.value_sql)))
           FROM spares AS s),
        (SELECT discovery._jsonb_object_sql(array_agg(e.pair)) FROM external_pairs AS e),
        (SELECT format('CASE WHEN (%s) THEN to_jsonb(array_remove(ARRAY[%s]::jsonb[], NULL)) ELSE ''[]''::jsonb END',
                       string_agg(p.cond, ') OR (' ORDER BY p.n),
                       string_agg(format('CASE WHEN %s THEN %s END', p.cond, p.report), ', ' ORDER BY p.n))
           FROM problem_sql AS p
         HAVING count(*) > 0),
        (SELECT format(
                    'coalesce((SELECT jsonb_object_agg(discovery._field_name(e.key), CASE WHEN jsonb_typeof(e.value) IN '
                    '(''object'', ''array'', ''number'', ''boolean'') THEN e.value ELSE to_jsonb(x.t) END) '
                    'FROM jsonb_each(f.data) AS e CROSS JOIN LATERAL (SELECT nullif(discovery._trim(e.value #>> '
                    '''{}''), '''') AS t) AS x WHERE e.key = ANY (%L::text[]) AND (jsonb_typeof(e.value) IN '
                    '(''object'', ''array'', ''number'', ''boolean'') OR (jsonb_typeof(e.value) = ''string'' '
                    'AND x.t IS NOT NULL AND NOT coalesce(discovery._is_placeholder(x.t), FALSE)))), ''{}''::jsonb)',
                    array_agg(w.key ORDER BY w.n))
           FROM placed AS w
          WHERE w.wide
         HAVING count(*) > 0)
      INTO v_raw, v_texts, v_flags, v_values, v_fields, v_spares, v_external, v_problems, v_wide;

    -- A record's fields: the asset columns and custom attributes, the spare
    -- values, the wide attributes and the external IDs, each part only when
    -- the batch has it (a part that is always '{}' still cost a rebuild of
    -- every record's object).
    v_external_key := (SELECT k FROM unnest(p_keys) AS k WHERE lower(discovery._trim(k)) = 'external_ids' LIMIT 1);
    SELECT coalesce(string_agg(o.part, ' || ' ORDER BY o.n), '''{}''::jsonb') INTO v_object
      FROM unnest(ARRAY[
               v_fields, v_spares, coalesce(v_wide, '''{}''::jsonb'),
               CASE WHEN v_external <> '''{}''::jsonb' OR v_external_key IS NOT NULL THEN format(
                   'jsonb_build_object(''external_ids'', nullif(jsonb_strip_nulls(%s) || %s, ''{}''::jsonb))',
                   v_external, CASE WHEN v_external_key IS NULL THEN '''{}''::jsonb'
                                    ELSE format('coalesce(discovery._external_ids(f.data -> %L), ''{}''::jsonb)',
                                                v_external_key) END) END
           ]) WITH ORDINALITY AS o (part, n)
     WHERE o.part IS NOT NULL AND o.part <> '''{}''::jsonb';

    -- The pipeline: raw texts (a), trimmed texts (b), placeholder flags (c),
    -- values (d), the fields and their problems (f), the FQDN from a dotted
    -- hostname (g), and the error of a record with no identity (the result).
    RETURN format(
        'SELECT g.*, g.dw_problems || %8$s || CASE WHEN g.fields ?| ARRAY[''name'', ''asset_name'', ''hostname'', '
        '''fqdn'', ''ip_address'', ''external_ids''] THEN ''[]''::jsonb ELSE ''[{"field": "name", "error": '
        '"no name and no identity key (name, hostname, fqdn, ip_address, external ID)", "value": null, '
        '"severity": "error"}]''::jsonb END AS problems '
        'FROM (SELECT f.*, CASE WHEN f.dw_fields ? ''hostname'' AND NOT f.dw_fields ? ''fqdn'' '
        'AND strpos(f.dw_fields ->> ''hostname'', ''.'') > 0 '
        'AND NOT migration.is_ip_address(f.dw_fields ->> ''hostname'') '
        'THEN f.dw_fields || jsonb_build_object(''fqdn'', f.dw_fields ->> ''hostname'') '
        'ELSE f.dw_fields END AS fields '
        'FROM (SELECT f.*, jsonb_strip_nulls(%1$s) AS dw_fields, %2$s AS dw_problems '
        'FROM (SELECT c.*%3$s FROM (SELECT b.*%4$s FROM (SELECT a.*%5$s FROM (SELECT s.*%6$s '
        'FROM (%7$s) AS s OFFSET 0) AS a OFFSET 0) AS b OFFSET 0) AS c OFFSET 0) AS f OFFSET 0) AS f '
        'OFFSET 0) AS g',
        v_object, coalesce(v_problems, '''[]''::jsonb'),
        coalesce(v_values, ''), coalesce(v_flags, ''), coalesce(v_texts, ''), coalesce(v_raw, ''),
        p_input,
        CASE WHEN v_external_key IS NULL THEN '''[]''::jsonb'
             ELSE format('discovery._external_id_problems(g.data -> %L)', v_external_key) END);
END
$$;
