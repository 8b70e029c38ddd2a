-- Serialises every writer of a tenant's assets (create, resolve, repair,
-- undo) for the rest of the caller's transaction: a row lock on the tenant's
-- engagement row, which only these definer functions take.
--
-- Why a lock per tenant: identity matching reads the tenant's assets and then
-- writes new ones, so two callers whose records share an identity (on one
-- flow or on two flows) must not both see "no asset". With the lock held,
-- each caller's statements (READ COMMITTED: a new snapshot per statement) see
-- everything committed by the previous holder, so N concurrent callers end
-- exactly as N serial callers: one asset per identity, every record linked
-- once, and nobody sees a unique violation or a deadlock (the lock is taken
-- before any other row lock of these tables). Tenants never wait for each
-- other. Why a row lock and not an advisory lock: any role may take any
-- advisory lock, so a read-only session could block every import of a tenant;
-- locking a row needs UPDATE on its table, which only the owner has. FOR NO
-- KEY UPDATE does not conflict with the key-share locks of foreign-key checks.
CREATE FUNCTION discovery._lock_tenant_assets(
    p_client_account_id uuid, p_engagement_id uuid
) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM
       FROM migration.engagements AS e
      WHERE e.client_account_id = p_client_account_id
        AND e.id = p_engagement_id
        FOR NO KEY UPDATE;
END
$$;
