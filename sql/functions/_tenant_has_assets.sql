-- Whether the tenant has a live asset (when it has none, as on a first
-- import, _plan_assets skips the identity lookups).
CREATE FUNCTION discovery._tenant_has_assets(
    p_client_account_id uuid, p_engagement_id uuid
) RETURNS boolean
LANGUAGE sql
STABLE
AS $$
    SELECT EXISTS (
        SELECT FROM migration.assets AS a
         WHERE a.client_account_id = p_client_account_id
           AND a.engagement_id = p_engagement_id
           AND a.deleted_at IS NULL);
$$;
