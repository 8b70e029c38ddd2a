-- A field's text as a number, or null when it is not one (uncleansed data may
-- hold anything; a bad number must not fail the whole batch).
CREATE FUNCTION discovery._to_numeric(p_value text) RETURNS numeric
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
RETURN CASE WHEN p_value ~ '^\s*[0-9]{1,12}(\.[0-9]+)?\s*$' THEN p_value::numeric END;
