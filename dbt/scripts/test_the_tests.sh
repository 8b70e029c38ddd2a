#!/usr/bin/env bash
# Tests of the tests: shows that every invariant test of the dbt project can
# fail, and that none fires on legitimate states.
#
#   1. creates a scratch database (a unique name) on the server of
#      DISCOVERY_DATABASE_URL;
#   2. applies the schema and builds the `discovery` API (`discovery-wiring migrate`);
#   3. loads tests_of_tests/legit_fixture.sql and runs `dbt build`: it must pass
#      with no warning and no error;
#      With --vars '{expect_failures: true}' every invariant test must then
#      report fail/warn there (the inversion works);
#   4. loads tests_of_tests/broken_fixture.sql (replica mode), rebuilds the models
#      (the marts are tables) and runs every test
#      tagged `invariant` with --vars '{expect_failures: true}' (error_if/warn_if
#      "<1"): each must find failing rows, i.e. report `pass`;
#   5. checks the wiring_health mart still equals discovery.wiring_health() on
#      the broken data;
#   6. drops the scratch database on exit, whatever happens (KEEP_DB=1 keeps it).
# Exits non-zero when any step fails or any invariant test passed on broken data.
#
# dbt runs through `discovery-wiring dbt` (the one place that turns a database
# URL into dbt's settings). Needs psql and discovery-wiring with dbt, on PATH
# (or DISCOVERY_WIRING=…, PYTHON=… naming them); the user must be a superuser
# (replica mode).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project_dir="$(dirname "$here")"
DISCOVERY_WIRING="${DISCOVERY_WIRING:-discovery-wiring}"
PYTHON="${PYTHON:-python3}"
: "${DISCOVERY_DATABASE_URL:?set DISCOVERY_DATABASE_URL (a superuser on the server to use)}"
admin_url="$DISCOVERY_DATABASE_URL"
scratch_db="dw_tests_of_tests_$$_${RANDOM}"
scratch_url="$("$PYTHON" -c 'import sys; from discovery_wiring.db import url_with_database as u; print(u(*sys.argv[1:]))' \
               "$admin_url" "$scratch_db")"

work="$(mktemp -d)"
cleanup() {
    local rc=$?
    if [[ "${KEEP_DB:-0}" == 1 ]]; then
        echo "kept database $scratch_db"
    else
        psql -X -q "$admin_url" -c "DROP DATABASE IF EXISTS \"$scratch_db\" WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
    exit $rc
}
trap cleanup EXIT

say() { printf '\n== %s\n' "$*"; }

say "scratch database $scratch_db"
psql -X -q -v ON_ERROR_STOP=1 "$admin_url" -c "CREATE DATABASE \"$scratch_db\""
say "schema: $DISCOVERY_WIRING migrate"
DISCOVERY_DATABASE_URL="$scratch_url" "$DISCOVERY_WIRING" migrate

dbt_run() {
    DISCOVERY_DATABASE_URL="$scratch_url" DBT_TARGET_PATH="$work/target" DBT_LOG_PATH="$work/logs" \
        "$DISCOVERY_WIRING" dbt --no-use-colors "$@"
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

say "phase 1: legitimate states, dbt build must pass with no warning"
psql -X -q -v ON_ERROR_STOP=1 "$scratch_url" -f "$project_dir/tests_of_tests/legit_fixture.sql"
status=0
dbt_run build || status=$?
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
psql -X -q -v ON_ERROR_STOP=1 "$scratch_url" -f "$project_dir/tests_of_tests/broken_fixture.sql"
# The marts are tables: build them from the broken data first.
dbt_run run >"$work/phase2-run.log" 2>&1 || { tail -20 "$work/phase2-run.log"; echo "FAIL: dbt run on broken data"; exit 1; }
dbt_run test --select tag:invariant --vars '{expect_failures: true}' || true
if ! check_results "broken fixture, invariant tests that caught their break" pass; then
    echo "FAIL: the invariant tests listed above did not fire on broken data"
    exit 1
fi

say "phase 3: the mart still equals discovery.wiring_health() on broken data"
dbt_run test --select assert_wiring_health_matches_api
check_results "mart equals API" pass

say "OK: every invariant test fires on broken data and none on legitimate data"
