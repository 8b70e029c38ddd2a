-- The "pagination" and "metadata" members of a list_* result (DESIGN.md,
-- "list_assets"), for page p_page of p_page_size (the size used) out of
-- p_total rows, p_requested_size being the size the caller asked for.
CREATE FUNCTION discovery._pagination(
    p_page integer, p_page_size integer, p_total bigint, p_requested_size integer
) RETURNS jsonb
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
RETURN jsonb_build_object(
    'pagination', jsonb_build_object(
        'page', p_page,
        'page_size', p_page_size,
        'total_count', p_total,
        'total_pages', ceil(p_total::numeric / p_page_size)::bigint,
        'has_next', p_page::bigint * p_page_size < p_total,
        'has_prev', p_page > 1
    ),
    'metadata', jsonb_build_object(
        'page_size_capped', p_requested_size > 200,
        'max_page_size', 200
    )
);
