#!/usr/bin/env bash
# What an analyst can do, checked as a login role granted only
# discovery_analyst, on the database named by DISCOVERY_DATABASE_URL (a
# superuser), after `discovery-wiring dbt build`:
#   - it reads every mart and history table in discovery_health, and the
#     failing rows dbt stored in discovery_health_audit;
#   - it reads nothing in migration, nor the staging views;
#   - every mart and mart column has a comment (the description);
#   - each analyst question of dbt/analyses/*.sql runs as one query (the
#     names in EXPECT_ROWS, space-separated, must return at least one row).
# The login role it creates is dropped on exit, whatever happens.
# Exits non-zero when any expectation fails.
set -euo pipefail
: "${DISCOVERY_DATABASE_URL:?set DISCOVERY_DATABASE_URL}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
url="$DISCOVERY_DATABASE_URL"
role="dw_check_analyst_$$_${RANDOM}"

cleanup() {
    local rc=$?
    psql -X -q -v ON_ERROR_STOP=1 "$url" -c "DROP ROLE IF EXISTS $role" >/dev/null 2>&1 \
        || echo "WARNING: could not drop role $role" >&2
    exit $rc
}
trap cleanup EXIT

psql -X -q -v ON_ERROR_STOP=1 "$url" -c "CREATE ROLE $role LOGIN" -c "GRANT discovery_analyst TO $role"

as_analyst() { psql -X -q -At -v ON_ERROR_STOP=1 "$url" -c "SET ROLE $role" -c "$1"; }
fail() { echo "FAIL: $*"; exit 1; }

marts=$(psql -X -At "$url" -c "SELECT table_schema || '.' || table_name FROM information_schema.tables
                                WHERE table_schema = 'discovery_health' ORDER BY 1")
[ -n "$marts" ] || fail "no mart in discovery_health"
for mart in $marts; do
    n=$(as_analyst "SELECT count(*) FROM $mart") || fail "analyst cannot read $mart"
    echo "ok: analyst reads $mart ($n rows)"
done
# What psql's \d+ and BI tools show: every mart and every column has its
# description as a comment (persist_docs).
uncommented=$(psql -X -At "$url" -c "
    SELECT string_agg(c.relname || coalesce('.' || a.attname, ''), ' ' ORDER BY c.relname, a.attnum)
      FROM pg_catalog.pg_class AS c
      LEFT JOIN pg_catalog.pg_attribute AS a
        ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       AND pg_catalog.col_description(c.oid, a.attnum) IS NULL
     WHERE c.relnamespace = 'discovery_health'::regnamespace AND c.relkind IN ('r', 'v')
       AND (a.attname IS NOT NULL OR pg_catalog.obj_description(c.oid, 'pg_class') IS NULL)")
[ -z "$uncommented" ] || fail "without a comment in the database: $uncommented"
echo "ok: every mart and every mart column has a comment in the database"
# The stored failing rows, and schema migration, in one session each (one
# SELECT per table).
n=$(as_analyst "DO \$\$
DECLARE t text; n integer := 0;
BEGIN
    FOR t IN SELECT format('%I.%I', schemaname, tablename) FROM pg_catalog.pg_tables
              WHERE schemaname = 'discovery_health_audit'
    LOOP
        EXECUTE 'SELECT count(*) FROM ' || t;
        n := n + 1;
    END LOOP;
    RAISE NOTICE '%', n;
END
\$\$" 2>&1) || fail "analyst cannot read a table of discovery_health_audit: $n"
echo "ok: analyst reads the ${n##*NOTICE:  } tables of failing rows in discovery_health_audit"
readable=$(as_analyst "DO \$\$
DECLARE t text; readable text[] := '{}';
BEGIN
    FOR t IN SELECT format('%I.%I', schemaname, tablename) FROM pg_catalog.pg_tables
              WHERE schemaname = 'migration'
    LOOP
        BEGIN
            EXECUTE 'SELECT 1 FROM ' || t || ' LIMIT 1';
            readable := readable || t;
        EXCEPTION WHEN insufficient_privilege THEN
            NULL;
        END;
    END LOOP;
    RAISE NOTICE '%', array_to_string(readable, ' ');
END
\$\$" 2>&1) || fail "could not check schema migration: $readable"
readable="${readable##*NOTICE:  }"
[ -z "$readable" ] || fail "analyst can read $readable"
echo "ok: analyst can read no table of schema migration"
if as_analyst "SELECT 1 FROM discovery_health_staging.stg_migration__assets LIMIT 1" >/dev/null 2>&1; then
    fail "analyst can read the staging views"
fi
echo "ok: analyst cannot read the staging views"

for question in "$here"/../analyses/*.sql; do
    name="$(basename "$question" .sql)"
    out=$(as_analyst "$(cat "$question")") || fail "the analyst question $name fails"
    rows=$(grep -c . <<<"$out" || true)
    echo "ok: analyst question $name: $rows rows"
    if [[ " ${EXPECT_ROWS:-} " == *" $name "* ]]; then
        [ "$rows" -gt 0 ] || fail "the analyst question $name returns no row"
        sed 's/^/    /' <<<"$out" | head -12
    fi
done
