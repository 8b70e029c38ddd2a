#!/usr/bin/env bash
# Issue 4, acceptance 4: a login role holding only discovery_analyst can select
# every mart in discovery_health, and nothing in migration (nor the staging
# schema). Runs on the database named by DISCOVERY_DATABASE_URL (a superuser),
# after `discovery-wiring dbt build`. Exits non-zero when any expectation fails.
set -euo pipefail
: "${DISCOVERY_DATABASE_URL:?set DISCOVERY_DATABASE_URL}"
url="$DISCOVERY_DATABASE_URL"
role=dw_check_analyst

psql -X -q -v ON_ERROR_STOP=1 "$url" <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '$role') THEN
        CREATE ROLE $role LOGIN;
    END IF;
END
\$\$;
GRANT discovery_analyst TO $role;
SQL

as_analyst() { psql -X -q -At -v ON_ERROR_STOP=1 "$url" -c "SET ROLE $role" -c "$1"; }

marts=$(psql -X -At "$url" -c "SELECT table_name FROM information_schema.tables
                                WHERE table_schema = 'discovery_health' ORDER BY 1")
[ -n "$marts" ] || { echo "FAIL: no mart in discovery_health"; exit 1; }
for mart in $marts; do
    n=$(as_analyst "SELECT count(*) FROM discovery_health.$mart")
    echo "ok: analyst reads discovery_health.$mart ($n rows)"
done
for table in $(psql -X -At "$url" -c "SELECT schemaname || '.' || tablename FROM pg_catalog.pg_tables
                                        WHERE schemaname = 'migration' ORDER BY 1"); do
    if as_analyst "SELECT 1 FROM $table LIMIT 1" >/dev/null 2>&1; then
        echo "FAIL: analyst can read $table"; exit 1
    fi
done
echo "ok: analyst can read no table of schema migration"
if as_analyst "SELECT 1 FROM discovery_health_staging.stg_migration__assets LIMIT 1" >/dev/null 2>&1; then
    echo "FAIL: analyst can read the staging views"; exit 1
fi
echo "ok: analyst cannot read the staging views"
