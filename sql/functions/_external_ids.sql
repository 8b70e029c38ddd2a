-- An "external_ids" object of a record: {namespace: value}, namespaces in
-- lower case, values as identity compares them (discovery._cleansing_sql);
-- values longer than 255 characters and placeholders are left out.
CREATE FUNCTION discovery._external_ids(p_value jsonb) RETURNS jsonb
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT jsonb_object_agg(lower(discovery._trim(e.key)), migration.identity_text(discovery._json_text(e.value)))
      FROM jsonb_each(CASE WHEN jsonb_typeof(p_value) = 'object' THEN p_value ELSE '{}' END) AS e
     WHERE discovery._trim(e.key) <> ''
       AND length(discovery._json_text(e.value)) <= 255
       AND NOT discovery._is_placeholder(discovery._json_text(e.value));
$$;
