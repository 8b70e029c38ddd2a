-- SQL text of the column list and the values of a new asset, the one place
-- where "an asset from a record's fields" is spelled out for an INSERT:
-- "(col, …) SELECT expr, …" where each field column of discovery._asset_columns
-- is read from the jsonb expression p_fields and cast to the column's type
-- (a value that is not of that type is null: the cleansing already made
-- every value fit, and a field stored by other means must not fail a batch),
-- name falls back to asset_name, hostname, fqdn, ip_address; status defaults
-- to active; custom_attributes are the fields that are no column; and the
-- columns of p_fixed ({column: SQL expression}: tenant, ID, flow links,
-- discovery method, times) are taken from it. p_from is the FROM clause.
CREATE FUNCTION discovery._asset_values_sql(p_fields text, p_fixed jsonb, p_from text) RETURNS text
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    v_columns text;
    v_values text;
BEGIN
    SELECT string_agg(format('%I', c.column_name), ', ' ORDER BY c.position),
           string_agg(c.expression, ', ' ORDER BY c.position)
      INTO v_columns, v_values
      FROM (
        SELECT a.attnum AS position, a.attname AS column_name,
               CASE
                   WHEN p_fixed ? a.attname THEN p_fixed ->> a.attname
                   WHEN a.attname = 'name'
                       THEN format('coalesce(%1$s ->> ''name'', %1$s ->> ''asset_name'', %1$s ->> ''hostname'', '
                                   '%1$s ->> ''fqdn'', %1$s ->> ''ip_address'')', p_fields)
                   WHEN a.attname = 'status' THEN format('coalesce(%s ->> ''status'', ''active'')', p_fields)
                   WHEN a.attname = 'custom_attributes'
                       THEN format('%s - %L::text[] - ''external_ids''', p_fields, discovery._asset_columns())
                   WHEN a.attname = 'external_ids'
                       THEN format('CASE WHEN jsonb_typeof(%1$s -> ''external_ids'') = ''object'' '
                                   'THEN %1$s -> ''external_ids'' ELSE ''{}''::jsonb END', p_fields)
                   WHEN a.atttypid = 'integer'::regtype
                       THEN format('CASE WHEN (%1$s ->> %2$L) ~ ''^[0-9]{1,9}$'' THEN (%1$s ->> %2$L)::integer END',
                                   p_fields, a.attname)
                   WHEN a.atttypid = 'numeric'::regtype
                       THEN format('CASE WHEN jsonb_typeof(%1$s -> %2$L) = ''number'' '
                                   'THEN (%1$s ->> %2$L)::numeric END', p_fields, a.attname)
                   ELSE format('%s ->> %L', p_fields, a.attname)
               END AS expression
          FROM pg_catalog.pg_attribute AS a
         WHERE a.attrelid = 'migration.assets'::regclass
           AND a.attnum > 0
           AND NOT a.attisdropped
           AND (a.attname = ANY (discovery._asset_columns() || ARRAY['custom_attributes', 'external_ids'])
                OR p_fixed ? a.attname)
      ) AS c;
    RETURN format('(%s) SELECT %s FROM %s', v_columns, v_values, p_from);
END
$$;
