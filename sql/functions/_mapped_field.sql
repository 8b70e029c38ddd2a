-- One field of a record as text, for repairs that identify legacy records: the
-- value of the key that p_rules (discovery._mapping_rules) maps to p_field,
-- else of the key named like p_field in any case; null when empty.
CREATE FUNCTION discovery._mapped_field(p_data jsonb, p_rules jsonb, p_field text) RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT discovery._json_text(kv.value)
      FROM jsonb_each(CASE WHEN jsonb_typeof(p_data) = 'object' THEN p_data ELSE '{}' END) AS kv
     WHERE coalesce(discovery._field_name(p_rules -> lower(discovery._trim(kv.key)) ->> 'target'),
                    discovery._field_name(kv.key)) = p_field
       AND discovery._json_text(kv.value) IS NOT NULL
     ORDER BY p_rules ? lower(discovery._trim(kv.key)) DESC, kv.key
     LIMIT 1;
$$;
