-- Whether a (trimmed) value is a placeholder that exports write for "no
-- value": N/A, -, unknown, none, null, TBD, … in any case. The first
-- character is tested first: a placeholder starts with one of # ( - < ? n t u
-- (or N T U), and most values do not, so they never pay for lower() (called
-- for every value of every record, it was a tenth of the cleansing).
CREATE FUNCTION discovery._is_placeholder(p_value text) RETURNS boolean
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
RETURN octet_length(p_value) <= 16
AND ascii(p_value) IN (35, 40, 45, 60, 63, 78, 84, 85, 110, 116, 117)
AND lower(p_value) IN (
    'n/a', 'na', 'n.a.', 'n.a', '#n/a', '-', '--', '---', '?', 'unknown', 'none', 'null',
    'nil', 'tbd', 'tba', 'not available', 'not applicable', '(none)', '(null)', '<none>'
);
