-- One field of a record as text: trimmed, and an empty value is null.
CREATE FUNCTION discovery._field(p_fields jsonb, p_key text) RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
RETURN nullif(btrim(p_fields ->> p_key), '');
