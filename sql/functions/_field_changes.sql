-- What a matched record writes to its existing asset (DESIGN.md,
-- "Reconciliation"): one row per field whose value changes, from the asset as
-- jsonb (to_jsonb of its row) and the record's cleansed fields. refresh writes
-- every non-identity field the record has a value for and the asset holds
-- differently; fill_empty only where the asset has no value; keep nothing.
-- Identity fields (discovery._identity_columns, external IDs per namespace)
-- are filled when empty and never overwritten. field is an asset column,
-- custom_attributes.<key> or external_ids.<namespace>.
-- The function is inlined into its caller: p_asset (usually to_jsonb(a) of
-- the caller's row) is read once, from a fenced subquery, not once per field
-- (converting the whole asset again for every field: 0.5 ms per record).
CREATE FUNCTION discovery._field_changes(p_asset jsonb, p_fields jsonb, p_on_match text)
RETURNS TABLE (field text, old_value jsonb, new_value jsonb)
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT f.field, f.old_value, f.new_value
      FROM (SELECT p_asset AS asset OFFSET 0) AS x
     CROSS JOIN LATERAL (
        SELECT kv.key AS field, nullif(x.asset -> kv.key, 'null'::jsonb) AS old_value, kv.value AS new_value,
               kv.key = ANY (discovery._identity_columns()) AS identity
          FROM jsonb_each(p_fields) AS kv
         WHERE kv.key = ANY (discovery._asset_columns())
        UNION ALL
        SELECT 'custom_attributes.' || kv.key, x.asset -> 'custom_attributes' -> kv.key, kv.value, FALSE
          FROM jsonb_each(p_fields - discovery._asset_columns() - 'external_ids') AS kv
        UNION ALL
        SELECT 'external_ids.' || kv.key, x.asset -> 'external_ids' -> kv.key, kv.value, TRUE
          FROM jsonb_each(CASE WHEN jsonb_typeof(p_fields -> 'external_ids') = 'object'
                               THEN p_fields -> 'external_ids' ELSE '{}' END) AS kv
      ) AS f
     WHERE f.new_value IS NOT NULL
       AND f.new_value <> 'null'::jsonb
       AND f.new_value IS DISTINCT FROM f.old_value
       AND CASE
               WHEN p_on_match = 'keep' THEN FALSE
               WHEN f.identity OR p_on_match = 'fill_empty' THEN f.old_value IS NULL
               ELSE TRUE
           END;
$$;
