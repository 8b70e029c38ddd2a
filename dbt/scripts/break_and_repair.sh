#!/usr/bin/env bash
# A build on broken data, end to end, on a database prepared by
# `discovery-wiring run` (DISCOVERY_DATABASE_URL names it; a superuser):
#   1. `discovery-wiring dbt build` passes on the clean data;
#   2. the data is broken in every way repair_wiring can mend (replica mode,
#      as a restore would), and the dbt relations are dropped (a first build
#      on legacy data);
#   3. `dbt build` must exit non-zero, name each broken invariant, and leave
#      every mart and history table present, showing the breakage (tenant by
#      name, the kind of broken reference, the import that lost links);
#   4. after `discovery-wiring repair --all --apply`, `dbt build` passes, and
#      the history shows the tenant unhealthy, then healthy, and the gaps the
#      repair fixed;
#   5. after each of the two builds on broken and on repaired data, the
#      analyst questions (dbt/analyses/) answer as a discovery_analyst login.
# Exits non-zero when any expectation fails.
set -euo pipefail
: "${DISCOVERY_DATABASE_URL:?set DISCOVERY_DATABASE_URL}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DW="${DISCOVERY_WIRING:-discovery-wiring}"
PYTHON="${PYTHON:-python3}"
url="$DISCOVERY_DATABASE_URL"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export DBT_TARGET_PATH="$work/target" DBT_LOG_PATH="$work/logs"
log="$work/build.log"
tenant_a=5d1a7c3e-0000-4000-8000-000000000001
client_b=00000000-0000-4000-8000-0000000000c2

sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$url" -c "$1"; }
fail() { echo "FAIL: $*"; exit 1; }

# A second tenant, whose rows a broken reference can point at.
"$DW" run --client-id "$client_b" --engagement-id 00000000-0000-4000-8000-0000000000e2 >/dev/null

"$DW" dbt build >"$log" 2>&1 || { grep -E "FAIL|ERROR" "$log" | head -20; fail "dbt build fails on clean data"; }
echo "ok: dbt build passes on clean data"

# One flow-based asset of tenant A per break, the nth by id.
nth_asset="(SELECT a.id FROM migration.assets AS a
             WHERE a.client_account_id = '$tenant_a' AND a.discovery_method = 'flow_based'
               AND a.deleted_at IS NULL ORDER BY a.id OFFSET %s LIMIT 1)"
psql -X -q -v ON_ERROR_STOP=1 "$url" <<SQL
SET client_min_messages = warning;
BEGIN;
SET LOCAL session_replication_role = replica;
-- a raw record pointing at another tenant's asset: raw_with_orphan_asset_ref
-- (cross_tenant) and links_disagree.
UPDATE migration.raw_import_records
   SET asset_id = (SELECT a.id FROM migration.assets AS a
                    WHERE a.client_account_id = '$client_b' ORDER BY a.id LIMIT 1)
 WHERE id = (SELECT raw_import_records_id FROM migration.assets WHERE id = $(printf "$nth_asset" 0));
-- an asset whose raw_import_records_id is cleared: assets_missing_raw_import_id.
UPDATE migration.assets SET raw_import_records_id = NULL WHERE id = $(printf "$nth_asset" 1);
-- discovery_flow_id holding the public flow_id: assets_with_unknown_discovery_flow_id (flow_id_mixup).
UPDATE migration.assets AS a SET discovery_flow_id = f.flow_id
  FROM migration.discovery_flows AS f
 WHERE a.id = $(printf "$nth_asset" 2)
   AND f.client_account_id = a.client_account_id AND f.id = a.discovery_flow_id;
-- master_flow_id lost: assets_with_mismatched_master_flow_id.
UPDATE migration.assets SET master_flow_id = NULL WHERE id = $(printf "$nth_asset" 3);
-- a legacy row: flow_id only, no discovery_flow_id: assets_missing_discovery_flow_id,
-- assets_with_legacy_flow_id_only.
UPDATE migration.assets AS a SET flow_id = f.flow_id, discovery_flow_id = NULL
  FROM migration.discovery_flows AS f
 WHERE a.id = $(printf "$nth_asset" 4)
   AND f.client_account_id = a.client_account_id AND f.id = a.discovery_flow_id;
-- an origin naming no raw record: assets_with_orphan_raw_ref (orphan), links_disagree.
UPDATE migration.assets SET raw_import_records_id = '00000000-0000-4000-8000-00000000dead'
 WHERE id = $(printf "$nth_asset" 5);
-- a processed record that lost its asset: processed_records_missing_asset_id.
UPDATE migration.raw_import_records SET asset_id = NULL
 WHERE id = (SELECT raw_import_records_id FROM migration.assets WHERE id = $(printf "$nth_asset" 6));
COMMIT;
-- A first build on legacy data: no dbt relation exists yet.
DROP SCHEMA IF EXISTS discovery_health_staging CASCADE;
DROP SCHEMA IF EXISTS discovery_health_audit CASCADE;
DO \$\$
DECLARE r record;
BEGIN
    FOR r IN SELECT c.relname, c.relkind FROM pg_catalog.pg_class AS c
              WHERE c.relnamespace = 'discovery_health'::regnamespace AND c.relkind IN ('r', 'v')
    LOOP
        EXECUTE format('DROP %s IF EXISTS discovery_health.%I CASCADE',
                       CASE r.relkind WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END, r.relname);
    END LOOP;
END
\$\$;
SQL
echo "ok: data broken in seven ways, dbt relations dropped"

if "$DW" dbt build >"$log" 2>&1; then
    tail -20 "$log"; fail "dbt build passed on broken data"
fi
# Every invariant the breaks violate, by test name: it must have failed (or
# warned, for the warn tier) and be named in dbt's output.
expected=(
    raw_records_asset_same_tenant raw_records_linked_when_processed
    assets_flow_based_fully_wired assets_discovery_flow_id_is_not_a_flow_id
    assets_discovery_flow_same_tenant assets_master_flow_agrees_with_discovery_flow
    assets_raw_record_same_tenant assets_raw_record_points_back assets_no_legacy_flow_id
    wiring_health_every_tenant_healthy asset_lineage_no_broken_asset
    wiring_health_assets_missing_discovery_flow_id_is_zero
    wiring_health_assets_with_unknown_discovery_flow_id_is_zero
    wiring_health_assets_with_mismatched_master_flow_id_is_zero
    wiring_health_assets_missing_raw_import_id_is_zero
    wiring_health_assets_with_orphan_raw_ref_is_zero
    wiring_health_links_disagree_is_zero
    wiring_health_processed_records_missing_asset_id_is_zero
    wiring_health_raw_with_orphan_asset_ref_is_zero
    wiring_health_assets_with_legacy_flow_id_only_is_zero
)
"$PYTHON" - "$DBT_TARGET_PATH/run_results.json" "$log" "${expected[@]}" <<'PY'
import json, re, sys
path, log, *expected = sys.argv[1:]
results = json.load(open(path))["results"]
status = {r["unique_id"].split(".")[2]: r["status"] for r in results}
text = open(log).read()
bad = [r["unique_id"] for r in results if r["unique_id"].startswith(("model.", "operation."))
       and r["status"] not in ("success",)]
if bad:
    sys.exit(f"FAIL: models not built on broken data: {bad}")
missing = [n for n in expected if status.get(n) not in ("fail", "warn")
           or not re.search(r"(FAIL|WARN)[^\n]*\b" + re.escape(n) + r"\b", text)]
if missing:
    sys.exit(f"FAIL: not reported as broken: {missing}")
print(f"ok: dbt build fails on broken data, every model built, and names all {len(expected)} broken invariants:")
for n in expected:
    print(f"    {status[n]:4} {n}")
PY

for mart in wiring_health wiring_gaps asset_lineage import_outcomes asset_change_history \
            wiring_health_history wiring_gaps_history wiring_builds; do
    [ "$(sql "SELECT to_regclass('discovery_health.$mart') IS NOT NULL")" = t ] \
        || fail "discovery_health.$mart does not exist after the build on broken data"
done
echo "ok: every mart and history table exists after the build on broken data"

# The breakage, as the marts show it.
checks=$(sql "SELECT unhealthy_because FROM discovery_health.wiring_health
               WHERE client_account_id = '$tenant_a' AND health_status = 'unhealthy'")
[ -n "$checks" ] || fail "wiring_health does not show tenant A unhealthy"
for check in assets_missing_discovery_flow_id assets_with_unknown_discovery_flow_id \
             assets_with_mismatched_master_flow_id assets_missing_raw_import_id assets_with_orphan_raw_ref \
             links_disagree processed_records_missing_asset_id raw_with_orphan_asset_ref \
             assets_with_legacy_flow_id_only; do
    [[ "$checks" == *"$check: "* ]] || fail "wiring_health does not name $check ($checks)"
done
echo "ok: wiring_health shows the tenant unhealthy because: $checks"
kinds=$(sql "SELECT string_agg(DISTINCT reference_kind, ',' ORDER BY reference_kind)
               FROM discovery_health.wiring_gaps WHERE client_account_id = '$tenant_a'")
for kind in cross_tenant orphan flow_id_mixup missing mismatch legacy_only not_pointing_back; do
    [[ ",$kinds," == *",$kind,"* ]] || fail "wiring_gaps shows no $kind gap ($kinds)"
done
echo "ok: wiring_gaps tells the kinds of broken reference apart: $kinds"
[ "$(sql "SELECT count(*) FROM discovery_health.wiring_gaps
           WHERE client_account_name IS NULL OR measured_at IS NULL")" = 0 ] \
    || fail "wiring_gaps rows without a tenant name or measured_at"
[ "$(sql "SELECT count(*) FROM discovery_health.asset_lineage
           WHERE client_account_id = '$tenant_a' AND wiring_status = 'broken'")" -ge 7 ] \
    || fail "asset_lineage does not show the broken assets"
lost=$(sql "SELECT coalesce(sum(records_link_broken + assets_link_broken), 0)
              FROM discovery_health.import_outcomes WHERE client_account_id = '$tenant_a'")
[ "$lost" -gt 0 ] || fail "import_outcomes shows no import that lost links"
echo "ok: asset_lineage shows the broken assets, import_outcomes $lost broken links"
EXPECT_ROWS="unhealthy_tenants imports_that_lost_links health_changes_since_last_build" \
    bash "$here/check_analyst_access.sh"

"$DW" repair --all --apply >/dev/null
"$DW" dbt build >"$log" 2>&1 || { grep -E "FAIL|ERROR|WARN" "$log" | head -20; fail "dbt build still fails after repair"; }
echo "ok: dbt build passes after repair --all --apply"

states=$(sql "SELECT string_agg(health_status, ',' ORDER BY measured_at)
                FROM discovery_health.wiring_health_history WHERE client_account_id = '$tenant_a'")
[[ "$states" == *"unhealthy,healthy" ]] || fail "wiring_health_history does not show unhealthy then healthy ($states)"
changed=$(sql "SELECT previous_health_status || ' -> ' || health_status || ' (' || gaps_change || ' gaps)'
                 FROM discovery_health.wiring_health_history
                WHERE client_account_id = '$tenant_a'
                  AND measured_at = (SELECT max(measured_at) FROM discovery_health.wiring_health_history)")
fixed=$(sql "SELECT count(*) FROM discovery_health.wiring_gaps_history
              WHERE client_account_id = '$tenant_a'
                AND resolved_at = (SELECT max(measured_at) FROM discovery_health.wiring_builds)")
[ "$fixed" -gt 0 ] || fail "wiring_gaps_history shows nothing the repair fixed"
[ "$(sql "SELECT count(*) FROM discovery_health.wiring_gaps_history WHERE resolved_at IS NULL")" = 0 ] \
    || fail "wiring_gaps_history still has open gaps after repair"
EXPECT_ROWS="health_changes_since_last_build last_repair_fixed" bash "$here/check_analyst_access.sh"
echo "ok: the history shows both states: $states; last build: $changed; $fixed gaps fixed by the repair"
