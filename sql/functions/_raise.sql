-- Raises an API error: a WR SQLSTATE, a message, a DETAIL naming the
-- offending value and a HINT (DESIGN.md, "Errors"). Volatile: an immutable
-- call with constant arguments would be evaluated when it is planned, not
-- when it runs.
CREATE FUNCTION discovery._raise(
    p_sqlstate text, p_message text, p_detail text, p_hint text
) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = p_sqlstate,
        MESSAGE = p_message,
        DETAIL = p_detail,
        HINT = p_hint;
END
$$;
