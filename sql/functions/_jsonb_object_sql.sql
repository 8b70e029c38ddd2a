-- SQL text of a jsonb object built from "key, value" pair expressions, in
-- chunks of 50 (jsonb_build_object takes at most 100 arguments); '{}' when
-- there is none.
CREATE FUNCTION discovery._jsonb_object_sql(p_pairs text[]) RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT coalesce(string_agg(format('jsonb_build_object(%s)', c.pairs), ' || ' ORDER BY c.chunk), '''{}''::jsonb')
      FROM (SELECT (p.ordinality - 1) / 50 AS chunk, string_agg(p.pair, ', ' ORDER BY p.ordinality) AS pairs
              FROM unnest(p_pairs) WITH ORDINALITY AS p (pair, ordinality)
             WHERE p.pair IS NOT NULL
             GROUP BY 1) AS c;
$$;
