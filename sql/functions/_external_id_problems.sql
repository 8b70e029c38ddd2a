-- The warnings of an "external_ids" object of a record (DESIGN.md,
-- "Outcomes"): what discovery._external_ids leaves out is not dropped without
-- a word. Not an object, or an entry discovery._external_id_entries leaves
-- out: one warning each, {field, error, value, severity: "warning", source:
-- "external_ids"}.
CREATE FUNCTION discovery._external_id_problems(p_value jsonb) RETURNS jsonb
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT CASE
               WHEN p_value IS NULL OR jsonb_typeof(p_value) = 'null' THEN '[]'::jsonb
               WHEN jsonb_typeof(p_value) <> 'object' THEN jsonb_build_array(jsonb_build_object(
                   'field', 'external_ids', 'error', 'not an object of namespace: value',
                   'value', left(p_value::text, 200), 'severity', 'warning', 'source', 'external_ids'))
               ELSE (
                   SELECT coalesce(jsonb_agg(jsonb_build_object(
                              'field', 'external_ids.' || x.namespace, 'error', x.error,
                              'value', left(coalesce(x.text, x.value::text), 200), 'severity', 'warning',
                              'source', 'external_ids') ORDER BY x.key), '[]'::jsonb)
                     FROM discovery._external_id_entries(p_value) AS x
                    WHERE x.error IS NOT NULL)
           END;
$$;
