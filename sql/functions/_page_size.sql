-- The page size a list_* function uses: WR006 for a page or page size below
-- 1 (or null), sizes above 200 capped to 200.
CREATE FUNCTION discovery._page_size(p_page integer, p_page_size integer) RETURNS integer
LANGUAGE plpgsql
IMMUTABLE
AS $$
BEGIN
    IF p_page IS NULL OR p_page < 1 THEN
        PERFORM discovery._raise('WR006', 'page must be 1 or more', format('p_page=%s', p_page),
                                 'Pages are numbered from 1.');
    END IF;
    IF p_page_size IS NULL OR p_page_size < 1 THEN
        PERFORM discovery._raise('WR006', 'page size must be 1 or more', format('p_page_size=%s', p_page_size),
                                 'Pass a page size from 1 to 200.');
    END IF;
    RETURN least(p_page_size, 200);
END
$$;
