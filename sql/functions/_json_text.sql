-- A JSON value as the text a column holds: strings trimmed, numbers and
-- booleans as written, a nested object as its p_value_key member or else the
-- first of display, name, label, address, model, value; an array as its
-- elements' texts joined by ", " (an array inside it as its JSON text: no
-- recursion, so a value nested thousands deep costs no stack). Null for JSON
-- null and empty results.
CREATE FUNCTION discovery._json_text(p_value jsonb, p_value_key text DEFAULT NULL) RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT nullif(discovery._trim(CASE jsonb_typeof(p_value)
        WHEN 'string' THEN p_value #>> '{}'
        WHEN 'number' THEN p_value #>> '{}'
        WHEN 'boolean' THEN p_value #>> '{}'
        WHEN 'object' THEN coalesce(p_value ->> p_value_key, p_value ->> 'display', p_value ->> 'name',
                                    p_value ->> 'label', p_value ->> 'address', p_value ->> 'model',
                                    p_value ->> 'value')
        WHEN 'array' THEN (SELECT string_agg(CASE WHEN jsonb_typeof(e.value) = 'array' THEN e.value::text
                                                  ELSE discovery._json_text(e.value, p_value_key) END,
                                             ', ' ORDER BY e.ordinality)
                             FROM jsonb_array_elements(p_value) WITH ORDINALITY AS e (value, ordinality))
    END), '');
$$;
