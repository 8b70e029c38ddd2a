-- Identity text drops the invisible characters that exports leave inside a
-- name (soft hyphen U+00AD, zero-width space, non-joiner and joiner U+200B-D,
-- word joiner U+2060, byte order mark U+FEFF): web01 and web<U+200B>01 are
-- one identity (DESIGN.md, "Identity"). The indexes built on it are rebuilt.
-- depends: 0003_identity_reconciliation_counters

CREATE OR REPLACE FUNCTION migration.identity_text(p_value text) RETURNS text
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
RETURN nullif(left(lower(btrim(
    CASE
        WHEN octet_length(p_value) = length(p_value) THEN p_value
        ELSE normalize(translate(p_value, E'\u00ad\u200b\u200c\u200d\u2060\ufeff', ''), nfkc)
    END,
    E' \t\n\r\u000b\f\u0085\u00a0\u1680\u180e\u2000\u2001\u2002\u2003\u2004\u2005\u2006'
    || E'\u2007\u2008\u2009\u200a\u200b\u200c\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff'
)),
500), '');

REINDEX INDEX migration.assets_identity_short_name_idx;
REINDEX INDEX migration.assets_identity_fqdn_idx;
REINDEX INDEX migration.assets_identity_name_idx;
