-- Undoes 0004: identity text as 0003 defined it, and the indexes built on it.
CREATE OR REPLACE FUNCTION migration.identity_text(p_value text) RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
RETURN nullif(left(lower(btrim(
    CASE WHEN octet_length(p_value) = length(p_value) THEN p_value ELSE normalize(p_value, nfkc) END,
    E' \t\n\r\u000b\f\u0085\u00a0\u1680\u180e\u2000\u2001\u2002\u2003\u2004\u2005\u2006'
    || E'\u2007\u2008\u2009\u200a\u200b\u200c\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff'
)),
500), '');

REINDEX INDEX migration.assets_identity_short_name_idx;
REINDEX INDEX migration.assets_identity_fqdn_idx;
REINDEX INDEX migration.assets_identity_name_idx;
