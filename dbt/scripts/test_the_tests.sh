#!/usr/bin/env bash
# Tests of the tests: shows that every invariant test of the dbt project can
# fail, and that none fires on legitimate states.
#
#   1. creates a scratch database on the server named by DBT_HOST, DBT_PORT,
#      DBT_USER, DBT_PASSWORD (or by DISCOVERY_DATABASE_URL when DBT_HOST is
#      unset), connecting first to DBT_DBNAME (default: postgres);
#   2. applies the schema (`discovery-wiring migrate` when that command is
#      available, which also builds the `discovery` API; else yoyo);
#   3. loads tests_of_tests/legit_fixture.sql and runs `dbt build`: it must pass
#      with no warning and no error;
#      With --vars '{expect_failures: true}' every invariant test must then
#      report fail/warn there (the inversion works);
#   4. loads tests_of_tests/broken_fixture.sql (replica mode), rebuilds the models
#      (the marts are tables) and runs every test
#      tagged `invariant` with --vars '{expect_failures: true}' (error_if/warn_if
#      "<1"): each must find failing rows, i.e. report `pass`;
#   5. when the `discovery` schema exists, checks the wiring_health mart still
#      equals discovery.wiring_health() on the broken data;
#   6. drops the scratch database (KEEP_DB=1 keeps it).
# Exits non-zero when any step fails or any invariant test passed on broken data.
#
# Needs: psql, dbt (dbt-postgres 1.11), and yoyo or discovery-wiring, on PATH
# (or DBT=…, YOYO=…, DISCOVERY_WIRING=… naming them); the user must be a
# superuser (replica mode).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project_dir="$(dirname "$here")"
repo_dir="$(dirname "$project_dir")"
DBT="${DBT:-dbt}"
YOYO="${YOYO:-yoyo}"
DISCOVERY_WIRING="${DISCOVERY_WIRING:-discovery-wiring}"
PYTHON="${PYTHON:-python3}"

# Connection: DBT_* first, else DISCOVERY_DATABASE_URL.
if [[ -z "${DBT_HOST:-}" && -n "${DISCOVERY_DATABASE_URL:-}" ]]; then
    eval "$("$PYTHON" - "$DISCOVERY_DATABASE_URL" <<'PY'
import shlex, sys
from urllib.parse import urlsplit, unquote
u = urlsplit(sys.argv[1])
for key, value in (("DBT_HOST", u.hostname or "127.0.0.1"), ("DBT_PORT", str(u.port or 5432)),
                   ("DBT_USER", unquote(u.username or "postgres")),
                   ("DBT_PASSWORD", unquote(u.password or "")),
                   ("DBT_DBNAME", unquote(u.path.lstrip("/")) or "postgres")):
    print(f"export {key}={shlex.quote(value)}")
PY
)"
fi
export DBT_HOST="${DBT_HOST:-127.0.0.1}" DBT_PORT="${DBT_PORT:-5432}"
export DBT_USER="${DBT_USER:-postgres}" DBT_PASSWORD="${DBT_PASSWORD:-}"
admin_db="${DBT_DBNAME:-postgres}"
scratch_db="dw_tests_of_tests_$$_${RANDOM}"
export PGHOST="$DBT_HOST" PGPORT="$DBT_PORT" PGUSER="$DBT_USER" PGPASSWORD="$DBT_PASSWORD"

work="$(mktemp -d)"
cleanup() {
    local rc=$?
    if [[ "${KEEP_DB:-0}" == 1 ]]; then
        echo "kept database $scratch_db"
    else
        psql -X -q -d "$admin_db" -c "DROP DATABASE IF EXISTS \"$scratch_db\" WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
    exit $rc
}
trap cleanup EXIT

say() { printf '\n== %s\n' "$*"; }

say "scratch database $scratch_db on $DBT_HOST:$DBT_PORT"
psql -X -q -v ON_ERROR_STOP=1 -d "$admin_db" -c "CREATE DATABASE \"$scratch_db\""
scratch_url="$("$PYTHON" - "$scratch_db" <<'PY'
import os, sys
from urllib.parse import quote
e = os.environ
auth = quote(e["DBT_USER"], safe="")
if e["DBT_PASSWORD"]:
    auth += ":" + quote(e["DBT_PASSWORD"], safe="")
print("postgresql://%s@%s:%s/%s" % (auth, e["DBT_HOST"], e["DBT_PORT"], sys.argv[1]))
PY
)"

if command -v "$DISCOVERY_WIRING" >/dev/null 2>&1; then
    say "schema: $DISCOVERY_WIRING migrate"
    DISCOVERY_DATABASE_URL="$scratch_url" "$DISCOVERY_WIRING" migrate
else
    say "schema: yoyo apply (no $DISCOVERY_WIRING on PATH: the discovery API is not built)"
    "$YOYO" apply --batch --no-config-file \
        -d "${scratch_url/postgresql:/postgresql+psycopg:}" "$repo_dir/migrations"
fi

export DBT_DBNAME="$scratch_db"
dbt_run() {
    "$DBT" --no-use-colors "$@" --project-dir "$project_dir" --profiles-dir "$project_dir" \
        --target-path "$work/target" --log-path "$work/logs"
}
# check_results <label> <accepted statuses…>: every result of the last run
# must have one of the statuses; prints the others.
check_results() {
    "$PYTHON" - "$work/target/run_results.json" "$@" <<'PY'
import json, sys
path, label, *accepted = sys.argv[1:]
# The project's hooks, analyses and exposures are results too: not tests.
results = [r for r in json.load(open(path))["results"]
           if not r["unique_id"].startswith(("operation.", "analysis.", "exposure."))]
bad = [r for r in results if r["status"] not in accepted]
for r in bad:
    name = r["unique_id"].split(".")[2]
    print(f"  unexpected {r['status']}: {name} ({(r.get('message') or '').strip()})")
print(f"{label}: {len(results) - len(bad)} of {len(results)} as expected")
sys.exit(1 if bad or not results else 0)
PY
}

has_api="$(psql -X -At -d "$scratch_db" -c "select count(*) from pg_namespace where nspname = 'discovery'")"
exclude=()
if [[ "$has_api" != 1 ]]; then
    exclude=(--exclude assert_wiring_health_matches_api)
fi

say "phase 1: legitimate states, dbt build must pass with no warning"
psql -X -q -v ON_ERROR_STOP=1 -d "$scratch_db" -f "$project_dir/tests_of_tests/legit_fixture.sql"
status=0
dbt_run build "${exclude[@]}" || status=$?
check_results "legit fixture, nodes built or passed" success pass || status=1
if [[ $status != 0 ]]; then
    echo "FAIL: a test fired on legitimate data (see above)"
    exit 1
fi

say "phase 1b: the harness itself: with expect_failures, no invariant test may pass on legitimate data"
dbt_run test --select tag:invariant --vars '{expect_failures: true}' >"$work/phase1b.log" 2>&1 || true
if ! check_results "legit fixture, inverted invariant tests that reported no break" fail warn; then
    echo "FAIL: expect_failures does not invert the tests listed above"
    exit 1
fi

say "phase 2: broken fixture, every invariant test must fail"
psql -X -q -v ON_ERROR_STOP=1 -d "$scratch_db" -f "$project_dir/tests_of_tests/broken_fixture.sql"
# The marts are tables: build them from the broken data first.
dbt_run run >"$work/phase2-run.log" 2>&1 || { tail -20 "$work/phase2-run.log"; echo "FAIL: dbt run on broken data"; exit 1; }
dbt_run test --select tag:invariant --vars '{expect_failures: true}' || true
if ! check_results "broken fixture, invariant tests that caught their break" pass; then
    echo "FAIL: the invariant tests listed above did not fire on broken data"
    exit 1
fi

if [[ "$has_api" == 1 ]]; then
    say "phase 3: the mart still equals discovery.wiring_health() on broken data"
    dbt_run test --select assert_wiring_health_matches_api
    check_results "mart equals API" pass
else
    say "phase 3 skipped: no discovery schema in the scratch database"
fi

say "OK: every invariant test fires on broken data and none on legitimate data"
