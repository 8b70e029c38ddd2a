#!/usr/bin/env bash
# A local three-node Citus cluster for development and CI: a coordinator and
# two workers on their own ports, each in its own data directory.
#
#   scripts/citus/cluster.sh start      # initialise (first time), start, register the workers
#   scripts/citus/cluster.sh status     # which nodes run; the workers the coordinator knows
#   scripts/citus/cluster.sh stop       # stop the three servers (data is kept)
#   scripts/citus/cluster.sh destroy    # stop and delete the data directories
#   scripts/citus/cluster.sh createdb NAME   # a database with citus on every node, workers registered
#   scripts/citus/cluster.sh url [NAME]      # print the coordinator URL of database NAME
#
# Start is idempotent and fast when the nodes are initialised already (a second
# `start` on a running cluster does nothing but check). Every node:
#   * runs as the `postgres` OS user (when invoked as root) from
#     $DISCOVERY_CITUS_DIR/{coordinator,worker1,worker2} (default /var/tmp/discovery-citus;
#     never under /root: the postgres user must be able to reach it);
#   * listens on 127.0.0.1 only, ports $DISCOVERY_CITUS_PORT (default 9700), +1, +2;
#   * has shared_preload_libraries = 'citus', max_prepared_transactions for Citus'
#     two-phase commit, and TRUST authentication on localhost: a lab/CI set-up,
#     not a production one (there, use scram or certificates and a .pgpass for the
#     node-to-node connections; see README "Running on Citus");
#   * is tuned for a throw-away CI cluster: fsync, synchronous_commit and
#     full_page_writes are off (DISCOVERY_CITUS_DURABLE=1 keeps the defaults).
# A superuser role named after the invoking OS user (root in CI) is created on
# every node, so that postgresql://root@127.0.0.1:9700/... works as it does on
# the machine's main server.
# The database $DISCOVERY_CITUS_DB (default `discovery`) and the maintenance
# database `postgres` get the citus extension on every node, and in them the
# coordinator knows its workers (Citus metadata is per database: every new
# database needs `createdb`, which the test fixtures and CI do).
#
# Needs Citus installed (scripts/citus/build.sh).
set -euo pipefail

PG_MAJOR=${PG_MAJOR:-$(/usr/bin/pg_config --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')}
BIN=${PG_BIN:-/usr/lib/postgresql/$PG_MAJOR/bin}
DIR=${DISCOVERY_CITUS_DIR:-/var/tmp/discovery-citus}
PORT=${DISCOVERY_CITUS_PORT:-9700}
DB=${DISCOVERY_CITUS_DB:-discovery}
HOST=127.0.0.1
NODES=(coordinator worker1 worker2)
SUPERUSER=$(id -un)

case "$DIR" in
    /root|/root/*) echo "DISCOVERY_CITUS_DIR must not be under /root (the postgres user cannot reach it)" >&2; exit 2;;
esac

port_of() {  # node name -> port
    local i
    for i in "${!NODES[@]}"; do
        [[ "${NODES[$i]}" == "$1" ]] && { echo $((PORT + i)); return; }
    done
    return 1
}

as_pg() {  # run a server binary as the data directories' owner
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

psql_node() {  # psql_node PORT DB SQL...: as the OS superuser role, on the node's local socket
    local port=$1 db=$2; shift 2
    local user=postgres
    [[ $(id -u) -eq 0 ]] || user=$SUPERUSER
    PGOPTIONS='--client-min-messages=warning' "$BIN/psql" -X -q -At -v ON_ERROR_STOP=1 \
        -h "$DIR/sockets" -p "$port" -U "$user" -d "$db" "$@"
}

running() {  # running NODE
    as_pg "$BIN/pg_ctl" -D "$DIR/$1" status >/dev/null 2>&1
}

init_node() {
    local node=$1 port; port=$(port_of "$node")
    local data="$DIR/$node"
    [[ -f "$data/PG_VERSION" ]] && return 0
    echo "initialising $node ($data, port $port)"
    as_pg "$BIN/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    {
        echo
        echo "# discovery-wiring Citus lab node ($node)"
        echo "port = $port"
        echo "listen_addresses = '$HOST'"
        echo "unix_socket_directories = '$DIR/sockets'"
        echo "shared_preload_libraries = 'citus'"
        echo "max_connections = 200"
        echo "max_prepared_transactions = 200"
        echo "shared_buffers = 128MB"
        echo "work_mem = 16MB"
        echo "maintenance_work_mem = 128MB"
        echo "max_worker_processes = 32"
        echo "logging_collector = off"
        echo "log_min_messages = warning"
        echo "log_line_prefix = '%m [%p] %q%u@%d '"
        echo "citus.log_distributed_deadlock_detection = off"
        if [[ -z "${DISCOVERY_CITUS_DURABLE:-}" ]]; then
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        fi
    } >> "$data/postgresql.conf"
    cat > "$data/pg_hba.conf" <<EOF
# discovery-wiring Citus lab node: trust on localhost only
local   all   all                 trust
host    all   all   127.0.0.1/32  trust
host    all   all   ::1/128       trust
EOF
}

start_node() {
    local node=$1
    running "$node" && return 0
    as_pg "$BIN/pg_ctl" -D "$DIR/$node" -l "$DIR/$node.log" -w -t 60 start >/dev/null
    echo "started $node on port $(port_of "$node")"
}

# create_db NAME: the database on every node, citus in it, the workers registered.
create_db() {
    local name=$1 node port
    for node in "${NODES[@]}"; do
        port=$(port_of "$node")
        if [[ -z $(psql_node "$port" postgres -c "SELECT 1 FROM pg_database WHERE datname = '$name'") ]]; then
            psql_node "$port" postgres -c "CREATE DATABASE \"$name\""
        fi
        psql_node "$port" "$name" -c "CREATE EXTENSION IF NOT EXISTS citus"
    done
    local cport; cport=$(port_of coordinator)
    psql_node "$cport" "$name" -c "SELECT citus_set_coordinator_host('$HOST', $cport)" >/dev/null
    for node in "${NODES[@]:1}"; do
        port=$(port_of "$node")
        psql_node "$cport" "$name" -c "
            SELECT citus_add_node('$HOST', $port)
             WHERE NOT EXISTS (SELECT FROM pg_dist_node WHERE nodename = '$HOST' AND nodeport = $port)" >/dev/null
    done
}

ensure_superuser() {
    [[ "$SUPERUSER" == postgres ]] && return 0
    local node
    for node in "${NODES[@]}"; do
        psql_node "$(port_of "$node")" postgres -c "
            DO \$\$ BEGIN
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$SUPERUSER') THEN
                    CREATE ROLE \"$SUPERUSER\" SUPERUSER LOGIN;
                END IF;
            END \$\$"
    done
}

cmd_start() {
    [[ -f "$BIN/../lib/citus.so" || -f "$(/usr/bin/pg_config --pkglibdir)/citus.so" ]] || {
        echo "citus is not installed: run scripts/citus/build.sh first" >&2; exit 1; }
    mkdir -p "$DIR/sockets"
    if [[ $(id -u) -eq 0 ]]; then chown postgres: "$DIR" "$DIR/sockets"; fi
    local node
    for node in "${NODES[@]}"; do init_node "$node"; done
    for node in "${NODES[@]}"; do start_node "$node"; done
    ensure_superuser
    create_db postgres
    create_db "$DB"
    echo "Citus cluster up: coordinator $HOST:$(port_of coordinator), workers $HOST:$(port_of worker1), $HOST:$(port_of worker2)"
    echo "DISCOVERY_DATABASE_URL=$(url "$DB")"
}

cmd_stop() {
    local node
    for node in "${NODES[@]}"; do
        if [[ -f "$DIR/$node/PG_VERSION" ]] && running "$node"; then
            as_pg "$BIN/pg_ctl" -D "$DIR/$node" -m fast -w stop >/dev/null
            echo "stopped $node"
        fi
    done
}

cmd_status() {
    local node rc=0
    for node in "${NODES[@]}"; do
        if [[ ! -f "$DIR/$node/PG_VERSION" ]]; then
            echo "$node: not initialised ($DIR/$node)"; rc=3
        elif running "$node"; then
            echo "$node: running on $HOST:$(port_of "$node") ($DIR/$node)"
        else
            echo "$node: stopped ($DIR/$node)"; rc=3
        fi
    done
    if running coordinator; then
        echo "workers known to database $DB:"
        psql_node "$(port_of coordinator)" "$DB" -c \
            "SELECT '  ' || nodename || ':' || nodeport || ' (' || noderole || ', active ' || isactive || ')'
               FROM pg_dist_node ORDER BY nodeport" 2>/dev/null || echo "  (database $DB not set up)"
    fi
    return $rc
}

url() {
    echo "postgresql://$SUPERUSER@$HOST:$(port_of coordinator)/${1:-$DB}"
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart) cmd_stop; cmd_start ;;
    status) cmd_status ;;
    destroy) cmd_stop; rm -rf "${DIR:?}"/{coordinator,worker1,worker2,sockets} "$DIR"/*.log; echo "removed $DIR" ;;
    createdb) [[ -n "${2:-}" ]] || { echo "usage: $0 createdb NAME" >&2; exit 2; }; create_db "$2"; url "$2" ;;
    url) url "${2:-}" ;;
    *) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
