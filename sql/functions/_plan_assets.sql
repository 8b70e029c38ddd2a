-- The plan of one create_assets_from_discovery call: one row per record in
-- scope with its outcome and the asset it will be linked to. It writes
-- nothing, so a dry run and a real run share it.
--
-- Scope: with p_assets null, the import's records not yet processed, their
-- fields being cleansed_data when set, else raw_data with the approved
-- mappings applied; with p_assets, the records it names (not processed yet,
-- or already linked), their fields being the caller's.
--
-- Identity (DESIGN.md): a record's keys are those it has of hostname
-- (case-insensitive), fqdn, ip_address and name + asset_type, ranked in that
-- order. It is looked up by every key among the tenant's live assets: no hit
-- → new; all hits on one asset → matched; hits on two or more → conflict,
-- pointing at the asset found by the highest-ranked key. New records are
-- grouped by their highest-ranked key: the first by row_number creates the
-- asset, the others match it.
CREATE FUNCTION discovery._plan_assets(
    p_client_account_id uuid,
    p_engagement_id uuid,
    p_data_import_id uuid,
    p_mappings jsonb,
    p_assets jsonb
) RETURNS TABLE (
    raw_import_record_id uuid,
    row_number integer,
    outcome text,
    asset_id uuid,
    asset_name text,
    fields jsonb,
    notes text,
    existing_asset_id uuid,
    candidate_asset_ids uuid[],
    conflict_key text
)
LANGUAGE sql
VOLATILE
AS $$
    WITH supplied AS (
        SELECT (e.value ->> 'raw_import_record_id')::uuid AS id,
               e.value - 'raw_import_record_id' AS fields
          FROM jsonb_array_elements(p_assets) AS e (value)
         WHERE p_assets IS NOT NULL
    ),
    scope AS (
        SELECT r.id, r.row_number, r.asset_id, r.is_valid, r.validation_errors,
               coalesce(r.cleansed_data, discovery._apply_mappings(r.raw_data, p_mappings)) AS fields
          FROM migration.raw_import_records AS r
         WHERE p_assets IS NULL
           AND r.data_import_id = p_data_import_id
           AND r.client_account_id = p_client_account_id
           AND r.engagement_id = p_engagement_id
           AND NOT r.is_processed
        UNION ALL
        SELECT r.id, r.row_number, r.asset_id, r.is_valid, r.validation_errors,
               discovery._apply_mappings(s.fields, '{}'::jsonb)
          FROM supplied AS s
          JOIN migration.raw_import_records AS r
            ON r.client_account_id = p_client_account_id
           AND r.id = s.id
         WHERE NOT r.is_processed OR r.asset_id IS NOT NULL
    ),
    keyed AS (
        SELECT s.*,
               coalesce(discovery._field(s.fields, 'name'), discovery._field(s.fields, 'hostname'),
                        discovery._field(s.fields, 'fqdn'), discovery._field(s.fields, 'ip_address'))
                   AS asset_name,
               lower(discovery._field(s.fields, 'hostname')) AS k_hostname,
               lower(discovery._field(s.fields, 'fqdn')) AS k_fqdn,
               discovery._field(s.fields, 'ip_address') AS k_ip,
               lower(discovery._field(s.fields, 'name')) AS k_name,
               lower(discovery._field(s.fields, 'asset_type')) AS k_type
          FROM scope AS s
    ),
    candidates AS (
        SELECT k.*,
               CASE
                   WHEN k.k_hostname IS NOT NULL THEN 'hostname=' || k.k_hostname
                   WHEN k.k_fqdn IS NOT NULL THEN 'fqdn=' || k.k_fqdn
                   WHEN k.k_ip IS NOT NULL THEN 'ip_address=' || k.k_ip
                   WHEN k.k_name IS NOT NULL AND k.k_type IS NOT NULL
                       THEN 'name+asset_type=' || k.k_name || '+' || k.k_type
               END AS top_key
          FROM keyed AS k
         WHERE k.asset_id IS NULL
           AND k.is_valid IS DISTINCT FROM false
           AND k.asset_name IS NOT NULL
    ),
    hits AS (
        SELECT c.id, 1 AS rank, 'hostname=' || c.k_hostname AS key, a.id AS asset_id, a.created_at
          FROM candidates AS c
          JOIN migration.assets AS a
            ON lower(a.hostname) = c.k_hostname
           AND a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND a.deleted_at IS NULL
           AND a.hostname IS NOT NULL
        UNION ALL
        SELECT c.id, 2, 'fqdn=' || c.k_fqdn, a.id, a.created_at
          FROM candidates AS c
          JOIN migration.assets AS a
            ON lower(a.fqdn) = c.k_fqdn
           AND a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND a.deleted_at IS NULL
           AND a.fqdn IS NOT NULL
        UNION ALL
        SELECT c.id, 3, 'ip_address=' || c.k_ip, a.id, a.created_at
          FROM candidates AS c
          JOIN migration.assets AS a
            ON a.ip_address = c.k_ip
           AND a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND a.deleted_at IS NULL
           AND a.ip_address IS NOT NULL
        UNION ALL
        SELECT c.id, 4, 'name+asset_type=' || c.k_name || '+' || c.k_type, a.id, a.created_at
          FROM candidates AS c
          JOIN migration.assets AS a
            ON lower(a.name) = c.k_name
           AND lower(a.asset_type) = c.k_type
           AND a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND a.deleted_at IS NULL
           AND a.name IS NOT NULL
           AND a.asset_type IS NOT NULL
    ),
    hit_summary AS (
        SELECT h.id,
               count(DISTINCT h.asset_id) AS n_assets,
               (array_agg(h.asset_id ORDER BY h.rank, h.created_at, h.asset_id))[1] AS best_asset_id,
               (array_agg(h.key ORDER BY h.rank, h.created_at, h.asset_id))[1] AS best_key,
               array_agg(DISTINCT h.asset_id) AS candidate_ids
          FROM hits AS h
         GROUP BY h.id
    ),
    fresh AS (
        SELECT c.id, c.row_number, coalesce(c.top_key, 'record=' || c.id::text) AS group_key
          FROM candidates AS c
         WHERE NOT EXISTS (SELECT FROM hit_summary AS h WHERE h.id = c.id)
    ),
    new_groups AS MATERIALIZED (
        SELECT f.group_key, min(f.row_number) AS first_row, gen_random_uuid() AS new_asset_id
          FROM fresh AS f
         GROUP BY f.group_key
    )
    SELECT k.id,
           k.row_number,
           o.outcome,
           CASE o.outcome
               WHEN 'already_linked' THEN k.asset_id
               WHEN 'created' THEN g.new_asset_id
               WHEN 'matched' THEN coalesce(h.best_asset_id, g.new_asset_id)
           END,
           k.asset_name,
           k.fields,
           CASE o.outcome
               WHEN 'already_linked' THEN format('already linked to asset %s', k.asset_id)
               WHEN 'invalid' THEN
                   CASE WHEN k.is_valid IS NOT DISTINCT FROM false
                        THEN 'invalid: ' || coalesce((
                                 SELECT string_agg(concat_ws(' ', e.value ->> 'field', e.value ->> 'error'), '; ')
                                   FROM jsonb_array_elements(
                                            CASE WHEN jsonb_typeof(k.validation_errors) = 'array'
                                                 THEN k.validation_errors ELSE '[]'::jsonb END) AS e (value)),
                                 'failed validation')
                        ELSE 'invalid: no name and no identity key (hostname, fqdn, ip_address, name + asset_type)'
                   END
               WHEN 'conflict' THEN format('conflict: identity keys match %s assets (highest-ranked key %s); '
                                           'pending resolution', h.n_assets, h.best_key)
               WHEN 'created' THEN coalesce('created (identity ' || k.top_key || ')',
                                            'created (no identity key: cannot be matched later)')
               ELSE coalesce(format('matched existing asset by %s', h.best_key),
                             format('matched the asset created from row %s (same %s)', g.first_row, k.top_key))
           END,
           h.best_asset_id,
           h.candidate_ids,
           h.best_key
      FROM (
        SELECT kk.*, c.top_key
          FROM keyed AS kk
          LEFT JOIN candidates AS c ON c.id = kk.id
      ) AS k
      LEFT JOIN hit_summary AS h ON h.id = k.id
      LEFT JOIN fresh AS f ON f.id = k.id
      LEFT JOIN new_groups AS g ON g.group_key = f.group_key
     CROSS JOIN LATERAL (
        SELECT CASE
                   WHEN k.asset_id IS NOT NULL THEN 'already_linked'
                   WHEN k.is_valid IS NOT DISTINCT FROM false OR k.asset_name IS NULL THEN 'invalid'
                   WHEN h.n_assets >= 2 THEN 'conflict'
                   WHEN h.n_assets = 1 THEN 'matched'
                   WHEN g.first_row = k.row_number THEN 'created'
                   ELSE 'matched'
               END AS outcome
     ) AS o;
$$;
