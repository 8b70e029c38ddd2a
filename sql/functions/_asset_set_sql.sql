-- SQL text of an UPDATE's SET list that writes every field column of an
-- asset from the row expression p_row (a migration.assets row, e.g.
-- jsonb_populate_record(a, patch)): "name = (p_row).name, …", from
-- discovery._asset_columns.
CREATE FUNCTION discovery._asset_set_sql(p_row text) RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT string_agg(format('%1$I = (%2$s).%1$I', c.column_name, p_row), ', ' ORDER BY c.ordinality)
      FROM unnest(discovery._asset_columns()) WITH ORDINALITY AS c (column_name, ordinality);
$$;
