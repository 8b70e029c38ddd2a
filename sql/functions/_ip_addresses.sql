-- The addresses in an IP field: a list in one string ("a;b", "a, b", "a b"),
-- a JSON array, or objects with an address ("10.0.0.1/24" as NetBox writes
-- it: the prefix length is checked and dropped). Returns
-- {"addresses": [valid ones, canonical, in order, each once], "primary":
-- the first IPv4 else the first IPv6, "bad": [entries that are not one]}.
CREATE FUNCTION discovery._ip_addresses(p_value jsonb, p_value_key text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    WITH entries AS (
        SELECT e.ordinality AS position, discovery._json_text(e.value, p_value_key) AS entry
          FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p_value) = 'array' THEN p_value
                                         ELSE jsonb_build_array(p_value) END) WITH ORDINALITY AS e (value, ordinality)
    ),
    tokens AS (
        SELECT e.position * 1000 + t.ordinality AS position, t.token
          FROM entries AS e
         CROSS JOIN LATERAL regexp_split_to_table(e.entry, '[;,|[:space:]]+') WITH ORDINALITY AS t (token, ordinality)
         WHERE t.token <> '' AND NOT discovery._is_placeholder(t.token)
    ),
    parsed AS (
        SELECT t.position, t.token,
               CASE
                   WHEN m[2] IS NULL AND migration.is_ip_address(m[1]) THEN host(migration.ip_key(m[1]))
                   WHEN migration.is_ip_address(m[1])
                        AND m[2]::integer <= CASE WHEN strpos(m[1], ':') > 0 THEN 128 ELSE 32 END
                       THEN host(migration.ip_key(m[1]))
               END AS address
          FROM tokens AS t
         CROSS JOIN LATERAL regexp_match(btrim(t.token, '[]'), '^([^/]+)(?:/([0-9]{1,3}))?$') AS m
    )
    SELECT jsonb_build_object(
        'addresses', coalesce(jsonb_agg(p.address ORDER BY p.position)
                                  FILTER (WHERE p.address IS NOT NULL AND p.first_of_address), '[]'::jsonb),
        'primary', coalesce((array_agg(p.address ORDER BY p.position) FILTER (WHERE strpos(p.address, ':') = 0))[1],
                            (array_agg(p.address ORDER BY p.position) FILTER (WHERE p.address IS NOT NULL))[1]),
        'bad', coalesce(jsonb_agg(p.token ORDER BY p.position) FILTER (WHERE p.address IS NULL), '[]'::jsonb))
      FROM (SELECT x.*, row_number() OVER (PARTITION BY x.address ORDER BY x.position) = 1 AS first_of_address
              FROM parsed AS x) AS p;
$$;
