-- Creates the client account and engagement. Idempotent: registering a tenant
-- again keeps its rows (and names) as they are.
CREATE FUNCTION discovery.register_tenant(
    p_client_account_id uuid,
    p_engagement_id uuid,
    p_client_name text,
    p_engagement_name text
) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
    IF p_client_account_id IS NULL OR p_engagement_id IS NULL THEN
        PERFORM discovery._raise(
            'WR006', 'client account and engagement IDs are required',
            format('client_account_id=%s engagement_id=%s', p_client_account_id, p_engagement_id),
            'Pass both UUIDs.');
    END IF;
    IF nullif(btrim(p_client_name), '') IS NULL OR nullif(btrim(p_engagement_name), '') IS NULL THEN
        PERFORM discovery._raise(
            'WR006', 'client and engagement names are required',
            format('client_name=%L engagement_name=%L', p_client_name, p_engagement_name),
            'Pass a non-empty name for both.');
    END IF;
    INSERT INTO migration.client_accounts (id, name)
    VALUES (p_client_account_id, btrim(p_client_name))
    ON CONFLICT (id) DO NOTHING;
    INSERT INTO migration.engagements (client_account_id, id, name)
    VALUES (p_client_account_id, p_engagement_id, btrim(p_engagement_name))
    ON CONFLICT (client_account_id, id) DO NOTHING;
END
$$;
