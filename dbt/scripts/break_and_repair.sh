#!/usr/bin/env bash
# Issue 4, acceptance 2, end to end on a database prepared by
# `discovery-wiring run` (DISCOVERY_DATABASE_URL names it; a superuser):
#   1. a raw record's asset_id pointed at another tenant's asset (a restore in
#      replica mode): `discovery-wiring dbt test` must fail and name the
#      broken invariant; after `discovery-wiring repair --all --apply` it passes;
#   2. the same with an asset's raw_import_records_id cleared.
# Exits non-zero when any expectation fails.
set -euo pipefail
: "${DISCOVERY_DATABASE_URL:?set DISCOVERY_DATABASE_URL}"
DW="${DISCOVERY_WIRING:-discovery-wiring}"
url="$DISCOVERY_DATABASE_URL"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

# A second tenant, whose assets a broken link can point at.
"$DW" run --client-id 00000000-0000-4000-8000-0000000000c2 \
          --engagement-id 00000000-0000-4000-8000-0000000000e2 >/dev/null

expect_dbt_test_to_fail_naming() {
    if "$DW" dbt test >"$log" 2>&1; then
        echo "FAIL: dbt test passed on broken data ($1)"; tail -20 "$log"; exit 1
    fi
    if ! grep -E "^.*(FAIL|ERROR|WARN).*$2" "$log" >/dev/null; then
        echo "FAIL: dbt test failed but did not name $2"; grep -E "FAIL|ERROR" "$log" | head -20; exit 1
    fi
    echo "ok: dbt test fails on $1, naming:"
    grep -E "Failure in test|FAIL [0-9]" "$log" | sed 's/^/    /' | head -12
}

expect_dbt_test_to_pass() {
    if ! "$DW" dbt test >"$log" 2>&1; then
        echo "FAIL: dbt test still fails after $1"; grep -E "FAIL|ERROR" "$log" | head -20; exit 1
    fi
    echo "ok: dbt test passes after $1"
}

"$DW" dbt run >/dev/null
expect_dbt_test_to_pass "the runs (clean data)"

# 1. cross-tenant back-pointer: an asset's origin record now points at the
#    other tenant's asset.
psql -X -q -v ON_ERROR_STOP=1 "$url" <<'SQL'
SET session_replication_role = replica;
UPDATE migration.raw_import_records AS r
   SET asset_id = (SELECT a.id FROM migration.assets AS a
                    WHERE a.client_account_id = '00000000-0000-4000-8000-0000000000c2'
                    ORDER BY a.id LIMIT 1)
 WHERE r.id = (SELECT a.raw_import_records_id FROM migration.assets AS a
                WHERE a.client_account_id = '5d1a7c3e-0000-4000-8000-000000000001'
                ORDER BY a.id LIMIT 1);
SQL
expect_dbt_test_to_fail_naming "a cross-tenant raw_import_records.asset_id" "raw_records_asset_same_tenant"
"$DW" repair --all --apply >/dev/null
expect_dbt_test_to_pass "repair_wiring"

# 2. an asset's raw_import_records_id cleared.
psql -X -q -v ON_ERROR_STOP=1 "$url" <<'SQL'
SET session_replication_role = replica;
UPDATE migration.assets AS a
   SET raw_import_records_id = NULL
 WHERE a.id = (SELECT a2.id FROM migration.assets AS a2
                WHERE a2.client_account_id = '5d1a7c3e-0000-4000-8000-000000000001'
                  AND a2.discovery_method = 'flow_based'
                ORDER BY a2.id LIMIT 1);
SQL
expect_dbt_test_to_fail_naming "an asset whose raw_import_records_id is cleared" "assets_flow_based_fully_wired"
"$DW" repair --all --apply >/dev/null
expect_dbt_test_to_pass "repair_wiring"
