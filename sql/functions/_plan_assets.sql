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
--
-- Only candidates (not linked yet, not invalid, with a name) are looked up;
-- p_tenant_has_assets false (the tenant has no live asset yet, as on a first
-- import) skips the lookups altogether, as they could only find nothing.
--
-- Shape: one materialized pass over the records, then per record an indexed
-- LATERAL lookup of each identity key, then window functions for the
-- grouping. No CTE is joined to another CTE: the planner has no statistics on
-- CTEs, and such a join once became a nested loop quadratic in the batch.
CREATE FUNCTION discovery._plan_assets(
    p_client_account_id uuid,
    p_engagement_id uuid,
    p_data_import_id uuid,
    p_mappings jsonb,
    p_assets jsonb,
    p_tenant_has_assets boolean DEFAULT TRUE
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
    keyed AS MATERIALIZED (
        SELECT k.*,
               (k.asset_id IS NULL AND k.is_valid IS DISTINCT FROM false AND k.asset_name IS NOT NULL)
                   AS is_candidate,
               CASE
                   WHEN k.k_hostname IS NOT NULL THEN 'hostname=' || k.k_hostname
                   WHEN k.k_fqdn IS NOT NULL THEN 'fqdn=' || k.k_fqdn
                   WHEN k.k_ip IS NOT NULL THEN 'ip_address=' || k.k_ip
                   WHEN k.k_name IS NOT NULL AND k.k_type IS NOT NULL
                       THEN 'name+asset_type=' || k.k_name || '+' || k.k_type
               END AS top_key
          FROM (
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
          ) AS k
    ),
    matched AS (
        SELECT k.*, h.n_assets, h.best_asset_id, h.best_key, h.candidate_ids,
               CASE WHEN h.n_assets = 0 THEN coalesce(k.top_key, 'record=' || k.id::text) END AS group_key
          FROM keyed AS k
         CROSS JOIN LATERAL (
            SELECT count(DISTINCT x.asset_id) AS n_assets,
                   (array_agg(x.asset_id ORDER BY x.rank, x.created_at, x.asset_id))[1] AS best_asset_id,
                   (array_agg(x.key ORDER BY x.rank, x.created_at, x.asset_id))[1] AS best_key,
                   array_agg(DISTINCT x.asset_id) AS candidate_ids
              FROM (
                SELECT 1 AS rank, 'hostname=' || k.k_hostname AS key, a.id AS asset_id, a.created_at
                  FROM migration.assets AS a
                 WHERE lower(a.hostname) = k.k_hostname
                   AND a.client_account_id = p_client_account_id
                   AND a.engagement_id = p_engagement_id
                   AND a.deleted_at IS NULL
                   AND a.hostname IS NOT NULL
                UNION ALL
                SELECT 2, 'fqdn=' || k.k_fqdn, a.id, a.created_at
                  FROM migration.assets AS a
                 WHERE lower(a.fqdn) = k.k_fqdn
                   AND a.client_account_id = p_client_account_id
                   AND a.engagement_id = p_engagement_id
                   AND a.deleted_at IS NULL
                   AND a.fqdn IS NOT NULL
                UNION ALL
                SELECT 3, 'ip_address=' || k.k_ip, a.id, a.created_at
                  FROM migration.assets AS a
                 WHERE a.ip_address = k.k_ip
                   AND a.client_account_id = p_client_account_id
                   AND a.engagement_id = p_engagement_id
                   AND a.deleted_at IS NULL
                   AND a.ip_address IS NOT NULL
                UNION ALL
                SELECT 4, 'name+asset_type=' || k.k_name || '+' || k.k_type, a.id, a.created_at
                  FROM migration.assets AS a
                 WHERE lower(a.name) = k.k_name
                   AND lower(a.asset_type) = k.k_type
                   AND a.client_account_id = p_client_account_id
                   AND a.engagement_id = p_engagement_id
                   AND a.deleted_at IS NULL
                   AND a.name IS NOT NULL
                   AND a.asset_type IS NOT NULL
              ) AS x
         ) AS h
         WHERE k.is_candidate
           AND p_tenant_has_assets
        UNION ALL
        SELECT k.*, 0, NULL, NULL, NULL,
               CASE WHEN k.is_candidate THEN coalesce(k.top_key, 'record=' || k.id::text) END
          FROM keyed AS k
         WHERE NOT (k.is_candidate AND p_tenant_has_assets)
    ),
    grouped AS (
        SELECT m.*,
               first_value(m.row_number) OVER new_group AS first_row,
               first_value(m.new_id) OVER new_group AS group_asset_id
          FROM (SELECT mm.*, gen_random_uuid() AS new_id FROM matched AS mm) AS m
        WINDOW new_group AS (PARTITION BY m.group_key ORDER BY m.row_number, m.id)
    )
    SELECT g.id,
           g.row_number,
           o.outcome,
           CASE o.outcome
               WHEN 'already_linked' THEN g.asset_id
               WHEN 'created' THEN g.group_asset_id
               WHEN 'matched' THEN coalesce(g.best_asset_id, g.group_asset_id)
           END,
           g.asset_name,
           g.fields,
           CASE o.outcome
               WHEN 'already_linked' THEN format('already linked to asset %s', g.asset_id)
               WHEN 'invalid' THEN
                   CASE WHEN g.is_valid IS NOT DISTINCT FROM false
                        THEN 'invalid: ' || coalesce((
                                 SELECT string_agg(concat_ws(' ', e.value ->> 'field', e.value ->> 'error'), '; ')
                                   FROM jsonb_array_elements(
                                            CASE WHEN jsonb_typeof(g.validation_errors) = 'array'
                                                 THEN g.validation_errors ELSE '[]'::jsonb END) AS e (value)),
                                 'failed validation')
                        ELSE 'invalid: no name and no identity key (hostname, fqdn, ip_address, name + asset_type)'
                   END
               WHEN 'conflict' THEN format('conflict: identity keys match %s assets (highest-ranked key %s); '
                                           'pending resolution', g.n_assets, g.best_key)
               WHEN 'created' THEN coalesce('created (identity ' || g.top_key || ')',
                                            'created (no identity key: cannot be matched later)')
               ELSE coalesce(format('matched existing asset by %s', g.best_key),
                             format('matched the asset created from row %s (same %s)', g.first_row, g.top_key))
           END,
           g.best_asset_id,
           g.candidate_ids,
           g.best_key
      FROM grouped AS g
     CROSS JOIN LATERAL (
        SELECT CASE
                   WHEN g.asset_id IS NOT NULL THEN 'already_linked'
                   WHEN NOT g.is_candidate THEN 'invalid'
                   WHEN g.n_assets >= 2 THEN 'conflict'
                   WHEN g.n_assets = 1 THEN 'matched'
                   WHEN g.first_row = g.row_number THEN 'created'
                   ELSE 'matched'
               END AS outcome
     ) AS o;
$$;
