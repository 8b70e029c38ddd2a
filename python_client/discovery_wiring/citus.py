"""Citus: turn a migrated database into a distributed one, keep it so.

The schema was designed to be distributed by tenant: every tenant table has
``client_account_id`` in its primary key, unique constraints and foreign keys.
:func:`distribute` (CLI: ``discovery-wiring citus distribute``) runs on the
Citus coordinator, in one transaction, and is idempotent (run it again after
any later migration; ``migrate`` does so by itself on a distributed database):

1. ``discovery_owner`` gets LOGIN (``--no-owner-login`` leaves it): a call that
   is not delegated opens its node connections as the SECURITY DEFINER
   function's owner. In a trust lab nothing else is needed; elsewhere give the
   role a password and the coordinator a ``.pgpass``/``pg_dist_authinfo`` entry.
2. Every table of schema ``migration`` not yet distributed is distributed,
   co-located in one group: ``client_accounts`` by ``id``, every other table by
   ``client_account_id`` (a table with neither is refused). The foreign-key
   graph is connected and has a cycle (assets <-> raw records), so no order of
   ``create_distributed_table`` works with the keys in place: the keys that
   touch a table being distributed are saved (``pg_get_constraintdef``),
   dropped, and re-added after; a ``NOT VALID`` key is re-added ``NOT VALID``.
   Tables carry triggers, so ``citus.enable_unsafe_triggers`` is on for the
   transaction and, for later migrations' trigger DDL, for the database
   (``ALTER DATABASE ... SET``). A table that holds rows (a database that
   ran on one server first) has them copied into its shards with triggers
   off (``session_replication_role = replica``, propagated to the workers:
   the rows were checked when written, and restored legacy rows may hold
   what the triggers reject), and its local rows are removed after.
3. Functions: every function of ``discovery`` and ``migration`` is made a
   distributed object (created on every node; those whose argument is a
   ``migration.<table>`` row were created on the coordinator only while the
   table was local). Every public API function of ``discovery`` (first
   argument ``p_client_account_id``) is distributed by that argument,
   co-located with the tables, with ``force_delegation`` so that a call inside
   the client's transaction block is delegated to the worker holding the
   tenant (``SELECT f(...)`` / ``SELECT * FROM f(...)`` with bound arguments).
4. The tenant pin (migration 0006): ``migration.===`` in the btree operator
   family ``migration.tenant_pin_ops`` on every node (after the commit, so
   that the workers have schema ``migration``; needs a superuser), so that
   Citus routes statements filtered by it to the tenant's shard.

:func:`prepare_rebuild` / :func:`finish_rebuild` are what the migration runner
does differently on a Citus coordinator when it rebuilds schema ``discovery``
(see :mod:`discovery_wiring.migrate`).

The helpers :func:`create_database`, :func:`clone_database` and
:func:`drop_database` make a database on every node of a cluster (Citus does
not propagate CREATE DATABASE): the test fixtures use them.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
from dataclasses import dataclass, field

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from .db import database_url, to_uri

log = logging.getLogger(__name__)

SCHEMA = "migration"
API_SCHEMA = "discovery"
OWNER = "discovery_owner"
TENANT_COLUMN = "client_account_id"
DISTRIBUTION_ARGUMENT = "p_client_account_id"
# Tables distributed by another column than TENANT_COLUMN (the tenant is their own id).
DISTRIBUTION_COLUMNS = {"client_accounts": "id"}
ANCHOR_TABLE = "client_accounts"  # the co-location group's first table


class CitusError(RuntimeError):
    """The database is not a Citus coordinator, or a table cannot be distributed."""


@dataclass
class DistributeReport:
    citus_version: str = ""
    workers: list[str] = field(default_factory=list)
    owner_login: bool = False
    tables_distributed: list[str] = field(default_factory=list)  # by this run
    tables_already: list[str] = field(default_factory=list)
    foreign_keys_readded: list[str] = field(default_factory=list)  # "table.constraint" (+ " NOT VALID")
    functions_delegated: list[str] = field(default_factory=list)  # by p_client_account_id
    functions_propagated: list[str] = field(default_factory=list)  # made distributed objects by this run
    local_rows_removed: list[str] = field(default_factory=list)


# -- detection --------------------------------------------------------------

def citus_version(conn: psycopg.Connection) -> str | None:
    """The citus extension's version in this database, or None."""
    row = conn.execute("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'citus'").fetchone()
    return row[0] if row else None


def is_coordinator(conn: psycopg.Connection) -> bool:
    """Whether this database has citus and this node is the coordinator."""
    if citus_version(conn) is None:
        return False
    return bool(conn.execute("SELECT pg_catalog.citus_is_coordinator()").fetchone()[0])


def is_distributed(conn: psycopg.Connection) -> bool:
    """Whether any table of schema ``migration`` is a distributed table."""
    if citus_version(conn) is None:
        return False
    row = conn.execute("""
        SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition AS p
                         JOIN pg_catalog.pg_class AS c ON c.oid = p.logicalrelid
                        WHERE c.relnamespace = %s::regnamespace)""", (SCHEMA,)).fetchone()
    return bool(row[0])


def worker_nodes(conn: psycopg.Connection) -> list[tuple[str, int]]:
    """The active primary nodes that hold shards, as (host, port)."""
    return [(h, int(p)) for h, p in conn.execute("""
        SELECT nodename, nodeport FROM pg_catalog.pg_dist_node
         WHERE isactive AND noderole = 'primary' AND shouldhaveshards AND groupid <> 0
         ORDER BY nodeport, nodename""").fetchall()]


def all_nodes(conn: psycopg.Connection) -> list[tuple[str, int]]:
    """Every active primary node, the coordinator first, as (host, port)."""
    return [(h, int(p)) for h, p in conn.execute("""
        SELECT nodename, nodeport FROM pg_catalog.pg_dist_node
         WHERE isactive AND noderole = 'primary'
         ORDER BY groupid, nodeport, nodename""").fetchall()]


def _require_coordinator(conn: psycopg.Connection) -> str:
    version = citus_version(conn)
    if version is None:
        raise CitusError("the citus extension is not installed in this database "
                         "(CREATE EXTENSION citus on every node; scripts/citus/cluster.sh createdb does it)")
    if not is_coordinator(conn):
        raise CitusError("this is not the Citus coordinator: run this against the coordinator")
    if not worker_nodes(conn):
        raise CitusError("the coordinator knows no worker node (citus_add_node) in this database")
    if conn.execute("SELECT to_regnamespace(%s) IS NULL", (SCHEMA,)).fetchone()[0]:
        raise CitusError("schema migration does not exist: run `discovery-wiring migrate` first")
    return version


# -- tables -----------------------------------------------------------------

@dataclass
class _ForeignKey:
    table: str  # regclass text
    name: str
    definition: str  # pg_get_constraintdef: includes NOT VALID when not validated
    validated: bool


def _tables_to_distribute(conn: psycopg.Connection) -> tuple[list[tuple[str, str, str]], list[str]]:
    """([(relation, name, distribution column)] not yet distributed, [already distributed])."""
    rows = conn.execute("""
        SELECT c.oid::regclass::text, c.relname,
               EXISTS (SELECT FROM pg_catalog.pg_dist_partition AS p WHERE p.logicalrelid = c.oid),
               EXISTS (SELECT FROM pg_catalog.pg_attribute AS a
                        WHERE a.attrelid = c.oid AND a.attname = %s AND a.attnum > 0 AND NOT a.attisdropped)
          FROM pg_catalog.pg_class AS c
         WHERE c.relnamespace = %s::regnamespace
           AND c.relkind IN ('r', 'p')
           AND NOT c.relispartition
         ORDER BY c.relname""", (TENANT_COLUMN, SCHEMA)).fetchall()
    todo, done, refused = [], [], []
    for relation, name, distributed, has_tenant in rows:
        if distributed:
            done.append(relation)
            continue
        column = DISTRIBUTION_COLUMNS.get(name) or (TENANT_COLUMN if has_tenant else None)
        if column is None:
            refused.append(relation)
        else:
            todo.append((relation, name, column))
    if refused:
        raise CitusError(f"table(s) without {TENANT_COLUMN} cannot be distributed by tenant: "
                         f"{', '.join(refused)}")
    # the anchor of the co-location group first
    todo.sort(key=lambda t: (t[1] != ANCHOR_TABLE, t[1]))
    return todo, done


def _foreign_keys_touching(conn: psycopg.Connection, relations: list[str]) -> list[_ForeignKey]:
    if not relations:
        return []
    rows = conn.execute("""
        SELECT c.conrelid::regclass::text, c.conname, pg_catalog.pg_get_constraintdef(c.oid), c.convalidated
          FROM pg_catalog.pg_constraint AS c
         WHERE c.contype = 'f'
           AND (c.conrelid = ANY (%(r)s::regclass[]) OR c.confrelid = ANY (%(r)s::regclass[]))
         ORDER BY c.conrelid::regclass::text, c.conname""", {"r": relations}).fetchall()
    return [_ForeignKey(*row) for row in rows]


def _has_rows(conn: psycopg.Connection, relation: str) -> bool:
    return conn.execute(sql.SQL("SELECT EXISTS (SELECT FROM {})").format(sql.SQL(relation))).fetchone()[0]


def distribute_tables(conn: psycopg.Connection, report: DistributeReport, *,
                      shard_count: int | None = None) -> None:
    """Distribute every table of schema migration not yet distributed (in the
    caller's transaction)."""
    todo, done = _tables_to_distribute(conn)
    report.tables_already = done
    if not todo:
        return
    anchor = f"{SCHEMA}.{ANCHOR_TABLE}"
    if not any(name == ANCHOR_TABLE for _, name, _ in todo) and anchor not in done:
        raise CitusError(f"{anchor} is missing")
    conn.execute("SET LOCAL citus.enable_unsafe_triggers = on")
    relations = [r for r, _, _ in todo]
    keys = _foreign_keys_touching(conn, relations)
    for fk in keys:
        conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(sql.SQL(fk.table), sql.Identifier(fk.name)))
    had_rows = {r for r in relations if _has_rows(conn, r)}
    if had_rows:
        # The rows are copied into the shards as they are: no trigger may
        # fire on them (a deferred wiring check would leave trigger events
        # pending on the shards, which then refuse the keys' ALTER TABLE; a
        # restored legacy row may hold what the BEFORE triggers reject). The
        # setting reaches the workers' connections as a propagated SET LOCAL.
        conn.execute("SET LOCAL citus.propagate_set_commands = 'local'")
        conn.execute("SET LOCAL session_replication_role = replica")
    for relation, name, column in todo:
        if name == ANCHOR_TABLE:
            conn.execute("SELECT create_distributed_table(%s, %s, colocate_with => 'none', shard_count => %s)",
                         (relation, column, shard_count or conn.execute("SHOW citus.shard_count").fetchone()[0]))
        else:
            conn.execute("SELECT create_distributed_table(%s, %s, colocate_with => %s)", (relation, column, anchor))
        report.tables_distributed.append(relation)
    for relation in relations:
        if relation in had_rows:
            conn.execute("SELECT truncate_local_data_after_distributing_table(%s)", (relation,))
            report.local_rows_removed.append(relation)
    for fk in keys:
        conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
            sql.SQL(fk.table), sql.Identifier(fk.name), sql.SQL(fk.definition)))
        report.foreign_keys_readded.append(f"{fk.table}.{fk.name}" + ("" if fk.validated else " NOT VALID"))
    if had_rows:
        conn.execute("SET LOCAL session_replication_role = origin")


# -- functions --------------------------------------------------------------

def _functions(conn: psycopg.Connection):
    """(signature, schema, name, first argument name, distribution argument index,
    in pg_dist_object, its distribution_argument_index, force_delegation) of
    every function of the two schemas."""
    return conn.execute("""
        SELECT p.oid::regprocedure::text, n.nspname, p.proname,
               p.proargnames[1],
               o.objid IS NOT NULL,
               o.distribution_argument_index,
               coalesce(o.force_delegation, false)
          FROM pg_catalog.pg_proc AS p
          JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
          LEFT JOIN pg_catalog.pg_dist_object AS o
            ON o.classid = 'pg_catalog.pg_proc'::regclass AND o.objid = p.oid AND o.objsubid = 0
         WHERE n.nspname IN (%s, %s) AND p.prokind = 'f'
         ORDER BY n.nspname DESC, p.proname, 1""", (SCHEMA, API_SCHEMA)).fetchall()


def is_delegated_api_function(schema: str, name: str, first_argument: str | None) -> bool:
    """A public API function: schema discovery, no leading underscore, tenant first."""
    return schema == API_SCHEMA and not name.startswith("_") and first_argument == DISTRIBUTION_ARGUMENT


def distribute_functions(conn: psycopg.Connection, report: DistributeReport) -> None:
    """Make every function a distributed object, and delegate the API (in the
    caller's transaction; the tables must be distributed)."""
    anchor = f"{SCHEMA}.{ANCHOR_TABLE}"
    for signature, schema, name, first_arg, known, dist_index, forced in _functions(conn):
        if is_delegated_api_function(schema, name, first_arg):
            if known and dist_index == 0 and forced:
                continue
            conn.execute("SELECT create_distributed_function(%s, %s, colocate_with => %s, force_delegation => true)",
                         (signature, DISTRIBUTION_ARGUMENT, anchor))
            report.functions_delegated.append(signature)
        elif not known:
            conn.execute("SELECT create_distributed_function(%s)", (signature,))
            report.functions_propagated.append(signature)


# -- the whole step ---------------------------------------------------------

def ensure_owner_login(conn: psycopg.Connection) -> bool:
    """Give discovery_owner LOGIN (propagated to the workers); True if changed."""
    can_login = conn.execute("SELECT rolcanlogin FROM pg_catalog.pg_roles WHERE rolname = %s", (OWNER,)).fetchone()
    if can_login is None:
        raise CitusError(f"role {OWNER} does not exist: run `discovery-wiring migrate` first")
    if can_login[0]:
        return False
    conn.execute(sql.SQL("ALTER ROLE {} LOGIN").format(sql.Identifier(OWNER)))
    return True


# The tenant pin (migration 0006): on every node, the operator, and the btree
# operator family in which Citus finds it as equality and so routes a
# statement filtered by it to the tenant's shard. Creating an operator family
# needs a superuser.
_TENANT_PIN_SQL = """
DO $pin$
BEGIN
    IF pg_catalog.to_regoperator('migration.===(uuid,uuid)') IS NULL THEN
        CREATE OPERATOR migration.=== (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = pg_catalog.uuid_eq);
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_opfamily AS f
                     JOIN pg_catalog.pg_am AS m ON m.oid = f.opfmethod
                    WHERE f.opfname = 'tenant_pin_ops' AND m.amname = 'btree'
                      AND f.opfnamespace = 'migration'::regnamespace) THEN
        CREATE OPERATOR FAMILY migration.tenant_pin_ops USING btree;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_amop AS o
                    WHERE o.amopopr = 'migration.===(uuid,uuid)'::regoperator) THEN
        ALTER OPERATOR FAMILY migration.tenant_pin_ops USING btree
            ADD OPERATOR 3 migration.=== (uuid, uuid),
                FUNCTION 1 (uuid, uuid) pg_catalog.uuid_cmp(uuid, uuid);
    END IF;
END
$pin$
"""


def ensure_tenant_pin(conn: psycopg.Connection) -> None:
    """The tenant pin operator in its operator family on the coordinator and
    every worker (idempotent; after the tables are distributed and committed,
    so that the workers have schema ``migration``)."""
    if conn.execute("SELECT to_regnamespace('migration') IS NULL").fetchone()[0]:
        return
    with conn.transaction():
        conn.execute(_TENANT_PIN_SQL)
        failed = conn.execute(
            "SELECT nodename, nodeport, result FROM run_command_on_workers(%s) WHERE NOT success",
            (_TENANT_PIN_SQL,)).fetchall()
    if failed:
        raise CitusError("the tenant pin operator could not be created on "
                         + "; ".join(f"{h}:{p}: {r}" for h, p, r in failed))


def _persist_unsafe_triggers(conn: psycopg.Connection) -> None:
    dbname = conn.execute("SELECT current_database()").fetchone()[0]
    conn.execute(sql.SQL("ALTER DATABASE {} SET citus.enable_unsafe_triggers = on").format(sql.Identifier(dbname)))


def distribute_in_transaction(conn: psycopg.Connection, *, shard_count: int | None = None,
                              owner_login: bool = True, functions: bool = True) -> DistributeReport:
    """The tables and (unless ``functions`` is false) the functions, in the
    caller's open transaction."""
    report = DistributeReport()
    report.citus_version = _require_coordinator(conn)
    # Function commands must run over one connection per node: no parallel
    # shard operation may precede them in the transaction.
    conn.execute("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")
    report.workers = [f"{h}:{p}" for h, p in worker_nodes(conn)]
    if owner_login:
        ensure_owner_login(conn)
    report.owner_login = bool(conn.execute(
        "SELECT rolcanlogin FROM pg_catalog.pg_roles WHERE rolname = %s", (OWNER,)).fetchone()[0])
    distribute_tables(conn, report, shard_count=shard_count)
    if functions and conn.execute("SELECT to_regnamespace(%s) IS NOT NULL", (API_SCHEMA,)).fetchone()[0]:
        distribute_functions(conn, report)
    return report


def distribute(url: str | None = None, *, shard_count: int | None = None,
               owner_login: bool = True) -> DistributeReport:
    """Distribute a migrated database (see the module's docstring). Idempotent."""
    url = url or database_url()
    from .migrate import _locked  # the migration lock: no migrate runs meanwhile

    with _locked(url) as conn:
        with conn.transaction():
            report = distribute_in_transaction(conn, shard_count=shard_count, owner_login=owner_login)
        # for the trigger DDL of later migrations (after the commit: a refused
        # distribution leaves the database as it was)
        _persist_unsafe_triggers(conn)
        ensure_tenant_pin(conn)
    return report


# -- what migrate does differently on a coordinator ------------------------

def prepare_rebuild(conn: psycopg.Connection) -> None:
    """After ``sql/schema.sql`` ran in the rebuild transaction: go back to the
    session's own role. ``schema.sql`` does ``SET LOCAL ROLE discovery_owner``
    so that the functions are created owned by it; on Citus each CREATE
    FUNCTION is propagated to the workers over a connection of the current
    role, which (a) must be able to log in and (b), being another connection
    than the one that created schema ``discovery`` in this transaction, cannot
    see it. So on Citus the objects are created as the session user (a
    superuser) and handed to discovery_owner by :func:`finish_rebuild`."""
    conn.execute("RESET ROLE")


def finish_rebuild(conn: psycopg.Connection) -> None:
    """Before ``sql/grants.sql``: give discovery_owner every function and type
    of schema ``discovery`` (ALTER ... OWNER is propagated), and, when the
    tables are distributed already, make the new functions distributed objects
    and delegate the API (the rebuild dropped them with the schema)."""
    rows = conn.execute("""
        SELECT 'FUNCTION', p.oid::regprocedure::text
          FROM pg_catalog.pg_proc AS p
         WHERE p.pronamespace = %(s)s::regnamespace AND p.proowner <> %(o)s::regrole
        UNION ALL
        SELECT 'TYPE', t.oid::regtype::text
          FROM pg_catalog.pg_type AS t
         WHERE t.typnamespace = %(s)s::regnamespace AND t.typowner <> %(o)s::regrole
           AND t.typtype IN ('c', 'd', 'e', 'r', 'm')
           AND NOT (t.typtype = 'c' AND EXISTS (SELECT FROM pg_catalog.pg_class AS c
                                                 WHERE c.oid = t.typrelid AND c.relkind <> 'c'))
        """, {"s": API_SCHEMA, "o": OWNER}).fetchall()
    for kind, name in rows:
        conn.execute(sql.SQL("ALTER {} {} OWNER TO {}").format(sql.SQL(kind), sql.SQL(name), sql.Identifier(OWNER)))
    if is_distributed(conn):
        distribute_functions(conn, DistributeReport())


# -- databases on every node (Citus does not propagate CREATE DATABASE) ------

def _node_url(url: str, host: str, port: int, dbname: str) -> str:
    params = conninfo_to_dict(url)
    params.update(host=host, port=str(port), dbname=dbname)
    return to_uri(params)


def cluster_nodes(url: str) -> list[tuple[str, int]]:
    """The nodes of the cluster whose coordinator database is ``url`` (one that
    has citus and its workers registered, e.g. ``postgres`` as cluster.sh sets up)."""
    with psycopg.connect(url, autocommit=True) as conn:
        if not is_coordinator(conn):
            raise CitusError("not a Citus coordinator database with its workers registered")
        return all_nodes(conn)


def _terminate_sessions(node_url: str, dbname: str) -> None:
    """End the other sessions on ``dbname`` (Citus' maintenance daemon among
    them: it keeps a session on every database with citus, which blocks CREATE
    DATABASE ... TEMPLATE and DROP DATABASE; it comes back on the next connection)."""
    with psycopg.connect(node_url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = %s AND pid <> pg_backend_pid()", (dbname,))


def create_database(url: str, name: str, template: str | None = None, file_copy: bool = False) -> str:
    """Create database ``name`` on every node of the cluster of ``url`` (in
    parallel). Without ``template``: with citus on every node and the
    workers registered. With ``template`` (a database made by this function,
    which nobody uses): a copy of it on every node, which is then a consistent
    copy of the whole distributed database (shards are in the workers' copies,
    metadata in the coordinator's). ``file_copy``: STRATEGY FILE_COPY. Returns
    the coordinator URL of ``name``."""
    nodes = cluster_nodes(url)
    (chost, cport) = nodes[0]
    maintenance = [_node_url(url, host, port, "postgres") for host, port in nodes]
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    if file_copy:
        statement += sql.SQL(" STRATEGY FILE_COPY")

    def create(node_url: str) -> None:
        with psycopg.connect(node_url, autocommit=True) as conn:
            for attempt in range(10):
                try:
                    conn.execute(statement)
                    return
                except psycopg.errors.ObjectInUse:  # a session came back between the two
                    if attempt == 9:
                        raise
                    _terminate_sessions(node_url, template or "template1")

    with contextlib.ExitStack() as stack:
        if template:
            # the nodes' maintenance daemons keep sessions on each other's copies
            # of the template, and open them again at once: no connection to it
            # while it is copied
            stack.callback(_allow_connections, maintenance, template, True)
            _allow_connections(maintenance, template, False)
            for node_url in maintenance:
                _terminate_sessions(node_url, template)
        with concurrent.futures.ThreadPoolExecutor(len(maintenance)) as pool:
            for future in [pool.submit(create, node_url) for node_url in maintenance]:
                future.result()
    coordinator = _node_url(url, chost, cport, name)
    if not template:
        for host, port in nodes:
            with psycopg.connect(_node_url(url, host, port, name), autocommit=True) as conn:
                conn.execute("SET client_min_messages = warning")
                conn.execute("CREATE EXTENSION IF NOT EXISTS citus")
        # Adding a node copies the roles to it (ALTER ROLE on the worker): two
        # databases getting their nodes at once fail with "tuple concurrently
        # updated". One at a time, under a lock in the coordinator's
        # maintenance database.
        with psycopg.connect(maintenance[0], autocommit=True) as lock, \
                psycopg.connect(coordinator, autocommit=True) as conn:
            lock.execute("SELECT pg_advisory_lock(%s::bigint)", (_ADD_NODE_LOCK,))
            conn.execute("SET client_min_messages = warning")
            conn.execute("SELECT citus_set_coordinator_host(%s, %s)", (chost, cport))
            for host, port in nodes[1:]:
                conn.execute("SELECT citus_add_node(%s, %s) WHERE NOT EXISTS (SELECT FROM pg_dist_node "
                             "WHERE nodename = %s AND nodeport = %s)", (host, port, host, port))
    return coordinator


_ADD_NODE_LOCK = 0x6477_6164_646e_6f64  # "dwaddnod": create_database's node registration


def _allow_connections(node_urls: list[str], name: str, allow: bool) -> None:
    for node_url in node_urls:
        with psycopg.connect(node_url, autocommit=True) as conn:
            if conn.execute("SELECT FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None:
                conn.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
                    sql.Identifier(name), sql.SQL("true" if allow else "false")))


def drop_database(url: str, name: str) -> None:
    """Drop database ``name`` on every node of the cluster of ``url``. Every
    node's maintenance daemon keeps sessions on the other nodes' copies
    (deadlock detection, 2PC recovery) and opens them again at once, so the
    copies first stop accepting connections, then every session is ended."""
    nodes = [_node_url(url, host, port, "postgres") for host, port in cluster_nodes(url)]
    ident = sql.Identifier(name)
    _allow_connections(nodes, name, False)
    for maintenance in nodes:
        _terminate_sessions(maintenance, name)
    for maintenance in nodes:
        with psycopg.connect(maintenance, autocommit=True) as conn:
            for attempt in range(10):
                try:
                    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
                    break
                except psycopg.errors.ObjectInUse:  # a background worker's session (FORCE ends backends only)
                    if attempt == 9:
                        raise
                    _terminate_sessions(maintenance, name)
