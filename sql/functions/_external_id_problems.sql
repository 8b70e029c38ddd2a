-- The warnings of an "external_ids" object of a record (DESIGN.md,
-- "Outcomes"): what discovery._external_ids leaves out is not dropped without
-- a word. Not an object, a blank namespace, a placeholder, a value longer
-- than 255 characters or with no text: one warning each, {field, error,
-- value, severity: "warning", source: "external_ids"}.
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
                              'field', 'external_ids.' || lower(discovery._trim(e.key)), 'error', x.error,
                              'value', left(coalesce(x.text, e.value::text), 200), 'severity', 'warning',
                              'source', 'external_ids') ORDER BY e.key), '[]'::jsonb)
                     FROM jsonb_each(p_value) AS e
                    CROSS JOIN LATERAL (SELECT discovery._json_text(e.value) AS text) AS t
                    CROSS JOIN LATERAL (
                        SELECT t.text,
                               CASE
                                   WHEN discovery._trim(e.key) = '' THEN 'an external ID without a namespace'
                                   WHEN jsonb_typeof(e.value) = 'null' THEN NULL
                                   WHEN t.text IS NULL THEN 'no text value'
                                   WHEN discovery._is_placeholder(t.text) THEN 'placeholder value, treated as empty'
                                   WHEN length(t.text) > 255 THEN 'longer than 255 characters'
                               END AS error
                    ) AS x
                    WHERE x.error IS NOT NULL)
           END;
$$;
