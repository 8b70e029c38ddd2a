-- WR006 unless a boolean argument is true or false: a null p_dry_run must
-- never mean a real run.
CREATE FUNCTION discovery._assert_flag(p_value boolean, p_argument text) RETURNS void
LANGUAGE plpgsql
IMMUTABLE
AS $$
BEGIN
    IF p_value IS NULL THEN
        PERFORM discovery._raise(
            'WR006', format('%s must be true or false', p_argument), format('%s is null', p_argument),
            format('Pass %s => true or false (or leave it out for its default).', p_argument));
    END IF;
END
$$;
