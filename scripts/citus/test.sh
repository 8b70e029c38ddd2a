#!/usr/bin/env bash
# The cluster suite: discovery-wiring on a real three-node Citus cluster.
#
#   scripts/citus/test.sh            # every step below
#   CITUS_STEPS="e2e pytest" scripts/citus/test.sh   # some of them
#
# Steps (CITUS_STEPS, default all, in this order):
#   build    scripts/citus/build.sh (skips when Citus is installed)
#   cluster  scripts/citus/cluster.sh start (idempotent)
#   e2e      a fresh database on the cluster: `discovery-wiring migrate`,
#            `citus distribute` (twice: idempotent), the bundled sample through
#            `run`, `health`, `assets` compared with a fresh database on one
#            server, and citus.log_remote_commands showing a tenant's calls on
#            one worker (scripts/citus/e2e.py)
#   dbt      `discovery-wiring dbt build` on that database (needs e2e)
#   bench    the benchmark flow (CITUS_BENCH_RECORDS records, default 100000)
#            imported with `discovery-wiring run` on the e2e database and on
#            one server, the outcomes compared row by row
#            (benchmarks/citus_commit.py --parts cli; CITUS_BENCH_PARTS=cli,commit
#            also times the call and its COMMIT on both)
#   pytest   the error-contract tests (tests/test_invariants.py, the WR-code
#            tests of tests/test_api.py) and tests/test_concurrency.py, with
#            DISCOVERY_DATABASE_URL on the coordinator (the fixtures make every
#            database on every node and distribute the template: tests/_cluster.py)
#
# Environment: DISCOVERY_CITUS_DIR / DISCOVERY_CITUS_PORT (see cluster.sh);
# PLAIN_URL, the one-server PostgreSQL to compare with (default
# postgresql://$PGUSER@127.0.0.1:5432/postgres); CITUS_PYTEST_ARGS, extra pytest
# arguments (default: -n 2 -rf --durations=10); PYTHON and DISCOVERY_WIRING, the interpreter and CLI (default: PATH).
# Exits non-zero when a step fails; every step runs even after a failure, and
# the summary names the failed ones.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"

PYTHON=${PYTHON:-$(command -v python3)}
DW=${DISCOVERY_WIRING:-$(command -v discovery-wiring || echo "$(dirname "$PYTHON")/discovery-wiring")}
PGUSER=${PGUSER:-$(id -un)}
PLAIN_URL=${PLAIN_URL:-postgresql://$PGUSER@127.0.0.1:5432/postgres}
STEPS=${CITUS_STEPS:-build cluster e2e dbt bench pytest}
coord_port=${DISCOVERY_CITUS_PORT:-9700}
coord_server="postgresql://$(id -un)@127.0.0.1:$coord_port"

failed=()
step() { printf '\n=== citus: %s === (%s)\n' "$*" "$(date +%T)"; }
run_step() {  # run_step NAME command...
    local name=$1; shift
    local t0=$SECONDS
    if "$@"; then
        echo "--- $name: ok ($((SECONDS - t0)) s)"
    else
        echo "--- $name: FAILED ($((SECONDS - t0)) s)"
        failed+=("$name")
    fi
}
wants() { [[ " $STEPS " == *" $1 "* ]]; }

scratch=()
cleanup() {
    local db
    for db in "${scratch[@]}"; do
        "$PYTHON" - "$db" <<EOF >/dev/null 2>&1 || true
import sys
from discovery_wiring import citus
citus.drop_database("$coord_server/postgres", sys.argv[1])
EOF
        psql -X -q -d "$PLAIN_URL" -c "DROP DATABASE IF EXISTS \"${db}_plain\" WITH (FORCE)" >/dev/null 2>&1 || true
    done
}
trap cleanup EXIT

if wants build; then
    step "build Citus"
    run_step build bash "$here/build.sh"
fi
if wants cluster; then
    step "start the cluster"
    run_step cluster bash "$here/cluster.sh" start
fi

e2e_db="dw_citus_e2e_$$"
e2e() {
    local db=$e2e_db
    scratch+=("$db")
    local url="$coord_server/$db"
    local plain="${PLAIN_URL%/*}/${db}_plain"
    "$PYTHON" -c "from discovery_wiring import citus; citus.create_database('$coord_server/postgres', '$db')" || return 1
    psql -X -q -d "$PLAIN_URL" -c "CREATE DATABASE \"${db}_plain\"" || return 1
    local t0=$SECONDS
    DISCOVERY_DATABASE_URL=$url "$DW" migrate || return 1
    echo "migrate on the coordinator: $((SECONDS - t0)) s"; t0=$SECONDS
    DISCOVERY_DATABASE_URL=$url "$DW" citus distribute || return 1
    echo "citus distribute: $((SECONDS - t0)) s"; t0=$SECONDS
    DISCOVERY_DATABASE_URL=$url "$DW" citus distribute >/dev/null || return 1   # idempotent
    DISCOVERY_DATABASE_URL=$url "$DW" migrate || return 1  # a migrate after distribute keeps it distributed
    echo "second distribute + migrate: $((SECONDS - t0)) s"
    "$PYTHON" "$here/e2e.py" --citus-url "$url" --plain-url "$plain" --cli "$DW"
}
if wants e2e; then
    step "end to end: migrate, distribute, run/health/assets against one server, delegation"
    run_step e2e e2e
fi

dbt_cluster() {  # dbt build (models + every data test) on the e2e database, which holds the sample
    DISCOVERY_DATABASE_URL="$coord_server/$e2e_db" "$DW" dbt build
}
if wants dbt; then
    step "dbt build on the cluster (the e2e database)"
    if wants e2e; then run_step dbt dbt_cluster; else echo "dbt needs the e2e step"; failed+=(dbt); fi
fi

bench_cluster() {
    "$PYTHON" benchmarks/citus_commit.py --citus-url "$coord_server/$e2e_db" \
        --plain-url "${PLAIN_URL%/*}/${e2e_db}_plain" --records "${CITUS_BENCH_RECORDS:-100000}" \
        --parts "${CITUS_BENCH_PARTS:-cli}" --cli "$DW"
}
if wants bench; then
    step "the benchmark flow on the cluster and on one server, row by row"
    if wants e2e; then run_step bench bench_cluster; else echo "bench needs the e2e step"; failed+=(bench); fi
fi

# Not run on the cluster, each for its reason (all run on one server in the
# plain suite):
#   a restore's session-level SET session_replication_role is not propagated
#   to the workers (Citus propagates SET LOCAL only; README "Running on Citus");
#   whether a big call ANALYZEs the table is one server's statistics policy
#   (on Citus the statistics are the shards', and ANALYZE of a distributed
#   table from a delegated call would fan out to every shard);
#   a plan read with auto_explain in the caller's session (on the cluster the
#   call runs on the worker, whose plans do not come back as notices, and
#   Citus EXPLAINs a parameterized remote statement on the worker, which fails
#   there: "could not determine data type of parameter $1");
#   the index counters of a first import (pg_stat_all_indexes): on the
#   cluster they are the workers' shards', not the coordinator's; the
#   "10,000 records after 20,000" check covers the same trap on the cluster;
#   rounds 3-9 of the eight concurrent callers repeat rounds 0-2 (about a
#   minute each on this cluster): the step's time budget.
CITUS_DESELECT=(
    "tests/test_invariants.py::test_a_restore_in_replica_mode_may_hold_unlinked_legacy_rows"
    "tests/test_concurrency.py::test_big_calls_of_two_tenants_do_not_queue_behind_one_analyze"
    "tests/test_concurrency.py::test_a_flow_page_of_a_tenant_new_to_the_statistics_comes_from_the_flow_index"
    "tests/test_concurrency.py::test_a_tenant_new_to_the_statistics_refreshes_its_assets_from_the_patches"
    "tests/test_concurrency.py::test_undoing_an_import_of_a_tenant_new_to_the_statistics_finds_each_asset_and_change_by_its_key"
    "tests/test_concurrency.py::test_generic_plans_compare_no_row_with_a_whole_array"
    "tests/test_concurrency.py::test_no_call_scans_a_batch_once_per_row_when_joins_are_nested_loops"
    "tests/test_concurrency.py::test_a_page_of_a_tenant_new_to_the_statistics_comes_from_the_listing_index"
    "tests/test_concurrency.py::test_a_first_import_into_a_new_database_reads_each_index_linearly"
    "tests/test_concurrency.py::test_a_hand_made_purge_finds_each_conflict_naming_a_row_by_its_key"
    "tests/test_concurrency.py::test_a_deep_page_of_conflicts_reads_only_its_own_conflicts_whole"
    "tests/test_concurrency.py::test_a_deep_page_of_imports_reads_only_its_own_imports_whole"
    "tests/test_concurrency.py::test_each_chunk_of_a_long_file_reads_no_record_loaded_before_it"
    "tests/test_concurrency.py::test_a_create_call_sorts_the_records_with_their_fields_once"
)
for round_ in 3 4 5 6 7 8 9; do
    CITUS_DESELECT+=("tests/test_concurrency.py::test_eight_callers_on_one_flow_end_as_one_serial_caller[$round_]")
done

pytest_cluster() {
    # The WR-code tests of test_api.py: every test whose name says which code
    # it raises, the calls that raise and change nothing, the WR001 table.
    local deselect=() d
    for d in "${CITUS_DESELECT[@]}"; do deselect+=(--deselect "$d"); done
    DISCOVERY_DATABASE_URL="$coord_server/postgres" "$PYTHON" -m pytest -p no:cacheprovider -q \
        tests/test_invariants.py tests/test_concurrency.py \
        "tests/test_api.py" -k "not test_api.py or wr0 or raises or answers or malformed or requires" \
        "${deselect[@]}" ${CITUS_PYTEST_ARGS:--n 2 -rf --durations=10}
}
if wants pytest; then
    step "pytest on the cluster: invariants, WR codes, concurrency"
    run_step pytest pytest_cluster
fi

echo
if ((${#failed[@]})); then
    echo "citus suite: FAILED steps: ${failed[*]}"
    exit 1
fi
echo "citus suite: every step passed"
