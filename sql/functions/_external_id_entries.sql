-- The entries of an "external_ids" object of a record, each with its
-- namespace (lower case), its text, and why it is left out, if it is: a
-- blank namespace, no text value, a placeholder, more than 255 characters (a
-- JSON null is no value and no warning). The one rule behind
-- discovery._external_ids (the entries kept) and
-- discovery._external_id_problems (the warnings for the others).
CREATE FUNCTION discovery._external_id_entries(p_value jsonb)
RETURNS TABLE (key text, namespace text, value jsonb, text text, error text)
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT e.key, lower(discovery._trim(e.key)), e.value, t.text,
           CASE
               WHEN discovery._trim(e.key) = '' THEN 'an external ID without a namespace'
               WHEN jsonb_typeof(e.value) = 'null' THEN NULL
               WHEN t.text IS NULL THEN 'no text value'
               WHEN discovery._is_placeholder(t.text) THEN 'placeholder value, treated as empty'
               WHEN length(t.text) > 255 THEN 'longer than 255 characters'
           END
      FROM jsonb_each(CASE WHEN jsonb_typeof(p_value) = 'object' THEN p_value ELSE '{}' END) AS e
     CROSS JOIN LATERAL (SELECT discovery._json_text(e.value) AS text) AS t;
$$;
