-- WR001 unless the client account and engagement are registered together.
CREATE FUNCTION discovery._assert_tenant(
    p_client_account_id uuid, p_engagement_id uuid
) RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_client_account_id IS NULL OR p_engagement_id IS NULL OR NOT EXISTS (
        SELECT FROM migration.engagements AS e
         WHERE e.client_account_id = p_client_account_id
           AND e.id = p_engagement_id
    ) THEN
        PERFORM discovery._raise(
            'WR001', 'unknown tenant',
            format('client_account_id=%s engagement_id=%s', p_client_account_id, p_engagement_id),
            'Register the client account and engagement together with discovery.register_tenant.');
    END IF;
END
$$;
