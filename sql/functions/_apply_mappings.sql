-- A record's fields (DESIGN.md, "Field mapping"): each key of p_data renamed
-- by the approved mappings (p_mappings: {source_field: target_field}); a key
-- no mapping names that equals an asset column, case-insensitively, becomes
-- that column. Other keys are kept as they are (they go to custom_attributes).
-- When two keys land on one name, a non-empty value wins over an empty one.
CREATE FUNCTION discovery._apply_mappings(p_data jsonb, p_mappings jsonb)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT coalesce(jsonb_object_agg(m.field, m.value ORDER BY m.has_value, m.source_key), '{}'::jsonb)
      FROM (
        SELECT CASE
                   WHEN lower(coalesce(p_mappings ->> kv.key, kv.key)) = ANY (discovery._asset_columns())
                       THEN lower(coalesce(p_mappings ->> kv.key, kv.key))
                   ELSE coalesce(p_mappings ->> kv.key, kv.key)
               END AS field,
               kv.value,
               kv.key AS source_key,
               (kv.value NOT IN ('null'::jsonb, '""'::jsonb)) AS has_value
          FROM jsonb_each(p_data) AS kv
      ) AS m
$$;
