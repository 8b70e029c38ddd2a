-- Serialises every writer of a tenant's assets (create, resolve, repair) for
-- the rest of the caller's transaction.
--
-- Why a transaction-scoped advisory lock per tenant: identity matching reads
-- the tenant's assets and then writes new ones, so two callers whose records
-- share an identity (on one flow or on two flows) must not both see "no
-- asset". With the lock held, each caller's statements (READ COMMITTED: a new
-- snapshot per statement) see everything committed by the previous holder, so
-- N concurrent callers end exactly as N serial callers: one asset per
-- identity, every record linked once, and nobody sees a unique violation or a
-- deadlock (the lock is taken before any row lock of these tables). Tenants
-- never wait for each other. Row claims with SKIP LOCKED would let two callers
-- of one flow proceed in parallel, but could not stop two flows from creating
-- the same identity twice.
CREATE FUNCTION discovery._lock_tenant_assets(
    p_client_account_id uuid, p_engagement_id uuid
) RETURNS void
LANGUAGE sql
AS $$
    SELECT pg_catalog.pg_advisory_xact_lock(
        pg_catalog.hashtextextended(
            'discovery_wiring.assets:' || p_client_account_id::text || ':' || p_engagement_id::text, 0));
$$;
