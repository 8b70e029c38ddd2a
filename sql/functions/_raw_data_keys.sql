-- The keys of the raw_data objects of an import's unprocessed records, each
-- once and sorted (the columns of discovery._cleansing_sql), for
-- cleanse_records (every unprocessed record) and _plan_sql (only those not
-- cleansed yet: p_uncleansed_only). The records come from the partial index
-- of unprocessed records, the tenant pinned (migration.===, never an index
-- condition: with the tenant as one, the import's processed records were
-- walked too).
--
-- Shape (one statement, the scope written once): the keys of one record in
-- scope, then one pass that removes those keys from every record
-- (jsonb - text[]) and lists only what is left. The
-- records of a file share their keys, so the pass lists nothing per record
-- and its cost is linear whatever the statistics say. Listing every key of
-- every record (20 per record) and removing the duplicates was a sort of 20
-- million keys at 1,000,000 records whenever the planner believed the import
-- small (its statistics do not know a new import): 18.8 s (9.6 s hashed),
-- against 2.5 s now; 100,000 records: 1.1-1.7 s against 0.25-0.28 s.
CREATE FUNCTION discovery._raw_data_keys(
    p_client_account_id uuid, p_data_import_id uuid, p_uncleansed_only boolean
) RETURNS text[]
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    v_keys text[];
BEGIN
    WITH scope AS NOT MATERIALIZED (
        SELECT r.raw_data
          FROM migration.raw_import_records AS r
         WHERE r.data_import_id = p_data_import_id
           AND NOT r.is_processed
           AND r.client_account_id OPERATOR(migration.===) p_client_account_id
           AND (NOT p_uncleansed_only OR r.cleansed_data IS NULL)
           AND jsonb_typeof(r.raw_data) = 'object'
    ),
    seed AS MATERIALIZED (
        SELECT coalesce(array_agg(k.key), '{}') AS keys
          FROM (SELECT s.raw_data FROM scope AS s LIMIT 1) AS s
         CROSS JOIN LATERAL jsonb_object_keys(s.raw_data) AS k (key)
    )
    SELECT array_agg(d.key ORDER BY d.key) INTO v_keys
      FROM (SELECT u.key FROM seed CROSS JOIN LATERAL unnest(seed.keys) AS u (key)
            UNION
            SELECT k.key
              FROM (SELECT s.raw_data - seed.keys AS rest FROM scope AS s CROSS JOIN seed OFFSET 0) AS x
             CROSS JOIN LATERAL jsonb_object_keys(x.rest) AS k (key)
             WHERE x.rest <> '{}'::jsonb) AS d;
    RETURN v_keys;
END
$$;
