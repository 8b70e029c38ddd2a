-- Whether the tenant's counters and the guarantees of its foreign keys and
-- wiring triggers hold: false once a row of the tenant was written in replica
-- mode (a restore), until repair_wiring verifies it again.
CREATE FUNCTION discovery._tenant_verified(p_client_account_id uuid, p_engagement_id uuid) RETURNS boolean
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    RETURN NOT EXISTS (
        SELECT FROM migration.tenants_unverified AS u
         WHERE u.client_account_id = p_client_account_id
           AND u.engagement_id = p_engagement_id);
END
$$;
