-- Whether a (trimmed) value is a placeholder that exports write for "no
-- value": N/A, -, unknown, none, null, TBD, … in any case.
CREATE FUNCTION discovery._is_placeholder(p_value text) RETURNS boolean
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
RETURN octet_length(p_value) <= 16
AND lower(p_value) IN (
    'n/a', 'na', 'n.a.', 'n.a', '#n/a', '-', '--', '---', '?', 'unknown', 'none', 'null',
    'nil', 'tbd', 'tba', 'not available', 'not applicable', '(none)', '(null)', '<none>'
);
