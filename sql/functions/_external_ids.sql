-- An "external_ids" object of a record: {namespace: value}, namespaces in
-- lower case, values as identity compares them (discovery._cleansing_sql);
-- the entries discovery._external_id_entries leaves out are not in it.
CREATE FUNCTION discovery._external_ids(p_value jsonb) RETURNS jsonb
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT jsonb_object_agg(x.namespace, migration.identity_text(x.text))
      FROM discovery._external_id_entries(p_value) AS x
     WHERE x.error IS NULL
       AND x.text IS NOT NULL;
$$;
