-- Whether the tenant has a live asset (from the counters; when it has none,
-- as on a first import, discovery._plan_sql skips the identity lookups).
CREATE FUNCTION discovery._tenant_has_assets(
    p_client_account_id uuid, p_engagement_id uuid
) RETURNS boolean
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    RETURN EXISTS (
        SELECT FROM migration.asset_counts AS c
         WHERE c.client_account_id = p_client_account_id
           AND c.engagement_id = p_engagement_id
           AND c.live > 0)
        OR EXISTS (
        SELECT FROM migration.tenants_unverified AS u
         WHERE u.client_account_id = p_client_account_id
           AND u.engagement_id = p_engagement_id);
END
$$;
