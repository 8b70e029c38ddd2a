-- A memory or storage amount in GB (binary units: 1 GB = 1024 MB), from text
-- such as "4096", "16 GB", "1.5TB" or "4,096"; p_unit is the column's unit
-- when the value carries none. Null when it is not a number of 0 or more.
CREATE FUNCTION discovery._to_gb(p_value text, p_unit text DEFAULT NULL) RETURNS numeric
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
RETURN (
    SELECT
        trim_scale(round(
            replace(m[1], ',', '')::numeric
            * CASE upper(coalesce(nullif(m[3], ''), p_unit, 'GB'))
                WHEN 'B' THEN 1.0 / 1073741824
                WHEN 'KB' THEN 1.0 / 1048576 WHEN 'KIB' THEN 1.0 / 1048576
                WHEN 'MB' THEN 1.0 / 1024 WHEN 'MIB' THEN 1.0 / 1024
                WHEN 'GB' THEN 1 WHEN 'GIB' THEN 1
                WHEN 'TB' THEN 1024 WHEN 'TIB' THEN 1024
                WHEN 'PB' THEN 1048576 WHEN 'PIB' THEN 1048576
            END, 3
        ))
    FROM
        regexp_match(p_value, '^\s*([0-9]{1,15}(,[0-9]{3})*(?:\.[0-9]+)?|[0-9]*\.[0-9]+)\s*([KMGTP]i?B|B)?\s*$', 'i')
            AS m
);
