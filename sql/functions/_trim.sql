-- Text with every kind of whitespace (tabs, line breaks, no-break and
-- zero-width spaces, the byte order mark) trimmed at both ends.
CREATE FUNCTION discovery._trim(p_value text) RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
STRICT
RETURN btrim(
    p_value, E' \t\n\r\u000b\f\u0085\u00a0\u1680\u180e\u2000\u2001\u2002\u2003\u2004\u2005\u2006'
    || E'\u2007\u2008\u2009\u200a\u200b\u200c\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff'
);
