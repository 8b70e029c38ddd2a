-- The field a key or mapping target names: an asset column or
-- external_ids.<namespace> in lower case (whatever case the file used), any
-- other name as written (a custom attribute), trimmed.
CREATE FUNCTION discovery._field_name(p_name text) RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT CASE
               WHEN n.norm = ANY (discovery._asset_columns()) THEN n.norm
               WHEN n.norm LIKE 'external\_ids._%' THEN n.norm
               ELSE discovery._trim(p_name)
           END
      FROM (SELECT lower(discovery._trim(p_name)) AS norm) AS n;
$$;
