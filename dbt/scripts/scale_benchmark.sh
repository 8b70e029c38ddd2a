#!/usr/bin/env bash
# dbt at scale: fills a scratch database with ASSETS flow-based assets (default
# 1,000,000) over TENANTS tenants (default 20), each asset wired to its raw
# record, import, discovery flow and master flow, GAPS of them (default 0)
# with their raw_import_records_id cleared; then times `discovery-wiring dbt
# build` (its slowest nodes from run_results.json), each mart's full SELECT
# (EXPLAIN ANALYZE: executed in full on the server, rows not sent) and the
# four analyst questions; then repairs (timed), builds, breaks BREAK assets
# (default 1,000) and builds again; the machine's load next to each figure.
# The rows are written set-based in replica mode, as a restore would (no
# trigger, no foreign key): the tenants are then unverified, as after a
# restore. Server from DISCOVERY_DATABASE_URL (a superuser; its database is
# only used to create the scratch one, dropped on exit unless KEEP_DB=1).
set -euo pipefail
: "${DISCOVERY_DATABASE_URL:?set DISCOVERY_DATABASE_URL}"
DW="${DISCOVERY_WIRING:-discovery-wiring}"
PYTHON="${PYTHON:-python3}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
assets="${ASSETS:-1000000}"
tenants="${TENANTS:-20}"
gaps="${GAPS:-0}"
admin_url="$DISCOVERY_DATABASE_URL"
scratch="dw_dbt_scale_$$_${RANDOM}"
url="$("$PYTHON" -c 'import sys; from discovery_wiring.db import url_with_database as u; print(u(sys.argv[1], sys.argv[2]))' \
       "$admin_url" "$scratch")"
work="$(mktemp -d)"
cleanup() {
    local rc=$?
    if [[ "${KEEP_DB:-0}" == 1 ]]; then
        echo "kept database $scratch"
    else
        psql -X -q "$admin_url" -c "DROP DATABASE IF EXISTS \"$scratch\" WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
    exit $rc
}
trap cleanup EXIT
load() { sed 's/.*load average: //' <<<"$(uptime)"; }
now() { date +%s.%N; }
took() { "$PYTHON" -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }

psql -X -q -v ON_ERROR_STOP=1 "$admin_url" -c "CREATE DATABASE \"$scratch\""
DISCOVERY_DATABASE_URL="$url" "$DW" migrate >/dev/null
t0=$(now)
psql -X -q -v ON_ERROR_STOP=1 -v assets="$assets" -v tenants="$tenants" -v gaps="$gaps" "$url" <<'SQL'
BEGIN;
SET LOCAL session_replication_role = replica;
CREATE TEMP TABLE tenant ON COMMIT DROP AS
SELECT t, md5('client:' || t)::uuid AS c, md5('eng:' || t)::uuid AS e, md5('flow:' || t)::uuid AS f,
       md5('import:' || t)::uuid AS i, md5('dflow:' || t)::uuid AS d
  FROM generate_series(1, :tenants) AS t;
INSERT INTO migration.client_accounts (id, name) SELECT c, 'Client ' || t FROM tenant;
INSERT INTO migration.engagements (client_account_id, id, name) SELECT c, e, 'Engagement ' || t FROM tenant;
INSERT INTO migration.crewai_flow_state_extensions (client_account_id, engagement_id, flow_id, flow_type)
SELECT c, e, f, 'discovery' FROM tenant;
INSERT INTO migration.data_imports (client_account_id, engagement_id, id, master_flow_id, import_name, import_type, status)
SELECT c, e, i, f, 'servers ' || t, 'csv', 'completed' FROM tenant;
INSERT INTO migration.discovery_flows (client_account_id, engagement_id, id, flow_id, master_flow_id, data_import_id)
SELECT c, e, d, f, f, i FROM tenant;
INSERT INTO migration.raw_import_records
(client_account_id, engagement_id, id, data_import_id, master_flow_id, row_number, raw_data,
 is_valid, is_processed, processed_at, processing_status, asset_id)
SELECT tenant.c, tenant.e, md5('raw:' || n)::uuid, tenant.i, tenant.f, (n - 1) / :tenants + 1,
       jsonb_build_object('Host', 'host' || n), true, true, now(), 'created', md5('asset:' || n)::uuid
  FROM generate_series(1, :assets) AS n
  JOIN tenant ON tenant.t = 1 + (n - 1) % :tenants;
INSERT INTO migration.assets
(client_account_id, engagement_id, id, name, hostname, asset_type, discovery_flow_id, master_flow_id,
 raw_import_records_id, discovery_method)
SELECT tenant.c, tenant.e, md5('asset:' || n)::uuid, 'host' || n, 'host' || n, 'server', tenant.d, tenant.f,
       CASE WHEN n > :gaps THEN md5('raw:' || n)::uuid END, 'flow_based'
  FROM generate_series(1, :assets) AS n
  JOIN tenant ON tenant.t = 1 + (n - 1) % :tenants;
INSERT INTO migration.asset_inventory_runs
(client_account_id, engagement_id, discovery_flow_id, mode, started_at, finished_at,
 records_handled, created, matched, conflicts, invalid, already_linked)
SELECT c, e, d, 'derived', now(), now(), :assets / :tenants, :assets / :tenants, 0, 0, 0, 0 FROM tenant;
COMMIT;
ANALYZE;
SQL
echo "generated $assets assets, $gaps with a gap, in $tenants tenants: $(took "$t0") s (load $(load))"

run_build() {
    export DBT_TARGET_PATH="$work/target" DBT_LOG_PATH="$work/logs"
    local t rc=0
    t=$(now)
    DISCOVERY_DATABASE_URL="$url" "$DW" dbt build >"$work/build.log" 2>&1 || rc=$?
    echo "dbt build ($1): $(took "$t") s, exit $rc (load $(load)); slowest nodes:"
    "$PYTHON" - "$work/target/run_results.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
for r in sorted(results, key=lambda r: -r["execution_time"])[:8]:
    print(f"    {r['execution_time']:6.1f} s  {r['status']:7} {r['unique_id'].split('.', 2)[2]}")
print(f"    ({len(results)} nodes, {sum(r['execution_time'] for r in results):.1f} s in all)")
PY
}
measure_marts() {
    echo "full SELECT of each mart (EXPLAIN ANALYZE, server side; load $(load)):"
    local mart ms rows
    for mart in wiring_health wiring_gaps asset_lineage import_outcomes asset_change_history \
                wiring_health_history wiring_gaps_history wiring_builds; do
        ms=$(psql -X -At "$url" -c "EXPLAIN (ANALYZE, TIMING OFF) SELECT * FROM discovery_health.$mart" \
             | sed -n 's/^Execution Time: \(.*\) ms$/\1/p')
        rows=$(psql -X -At "$url" -c "SELECT count(*) FROM discovery_health.$mart")
        printf '    %-24s %10s rows %10s ms\n' "$mart" "$rows" "$ms"
    done
}

run_build "first"
run_build "second, history appended"
measure_marts
echo "the analyst questions (load $(load)):"
for question in "$here"/../analyses/*.sql; do
    ms=$(psql -X -At "$url" -c "EXPLAIN (ANALYZE, TIMING OFF) $(cat "$question")" \
         | sed -n 's/^Execution Time: \(.*\) ms$/\1/p')
    printf '    %-34s %10s ms\n' "$(basename "$question" .sql)" "$ms"
done

# The tenants were written in replica mode, as by a restore: repair_wiring
# verifies them (the API's checks then use their counters again).
t0=$(now)
DISCOVERY_DATABASE_URL="$url" "$DW" repair --all --apply >/dev/null
echo "repair --all --apply: $(took "$t0") s (load $(load))"
run_build "after repair"

# BREAK assets (default 1,000) lose their raw_import_records_id, in replica mode.
psql -X -q -v ON_ERROR_STOP=1 "$url" -c "BEGIN" -c "SET LOCAL session_replication_role = replica" \
    -c "UPDATE migration.assets SET raw_import_records_id = NULL
         WHERE id IN (SELECT md5('asset:' || n)::uuid FROM generate_series(1, ${BREAK:-1000}) AS n)" -c "COMMIT"
run_build "after breaking ${BREAK:-1000} assets (must exit non-zero)"
measure_marts
