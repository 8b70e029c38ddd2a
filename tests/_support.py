"""The one helper module of the test suites.

The API helpers at the top call the ``discovery`` functions directly, with
named arguments and an explicit cast on every parameter, so the SQL-level
suites test the contract of DESIGN.md and not the Python client; rows come
back as dicts. Below them, in sections: the login roles of the role tests, an
inventory built through the client alone, test databases on one server or a
Citus cluster, and the hard-case helpers that compute what they check on
their own.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

from discovery_wiring import Tenant, citus, migrate
from discovery_wiring.db import url_with_database
from discovery_wiring.results import AssetRunResult, FlowIds

# The tables of schema `migration` (DESIGN.md, "Tables").
MIGRATION_TABLES = (
    "client_accounts", "engagements", "crewai_flow_state_extensions", "data_imports",
    "raw_import_records", "import_field_mappings", "discovery_flows", "assets",
    "asset_conflict_resolutions", "asset_inventory_runs",
)


@dataclass(frozen=True)
class T:
    """A tenant: (client_account_id, engagement_id)."""

    client_account_id: uuid.UUID
    engagement_id: uuid.UUID

    def __iter__(self):
        return iter((self.client_account_id, self.engagement_id))


def as_tenant(tenant: Any) -> T:
    client_account_id, engagement_id = tenant
    return T(uuid.UUID(str(client_account_id)), uuid.UUID(str(engagement_id)))


@dataclass(frozen=True)
class Flow:
    tenant: T
    data_import_id: uuid.UUID
    discovery_flow_id: uuid.UUID
    flow_id: uuid.UUID
    master_flow_id: uuid.UUID


# -- plain SQL ------------------------------------------------------------------

def rows(conn: psycopg.Connection, query: str, params: Any = None) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return cur.fetchall() if cur.description else []


def row(conn: psycopg.Connection, query: str, params: Any = None) -> dict[str, Any] | None:
    found = rows(conn, query, params)
    assert len(found) <= 1, f"expected at most one row, got {len(found)}"
    return found[0] if found else None


def val(conn: psycopg.Connection, query: str, params: Any = None) -> Any:
    with conn.cursor() as cur:
        cur.execute(query, params)
        result = cur.fetchone()
        return None if result is None else result[0]


def j(value: Any) -> str:
    """A Python value as JSON text (bound with ``::jsonb``)."""
    return json.dumps(value, default=str)


def snapshot(conn: psycopg.Connection) -> dict[str, list[str]]:
    """Every row of every table of schema `migration`, as sorted JSON texts."""
    tables = [r["tablename"] for r in rows(
        conn, "select tablename from pg_catalog.pg_tables where schemaname = 'migration' order by 1")]
    assert set(MIGRATION_TABLES) <= set(tables)
    return {t: [r["x"] for r in rows(conn, f"select to_jsonb(t)::text as x from migration.{t} as t order by 1")]
            for t in tables}


@contextlib.contextmanager
def raises_wr(conn: psycopg.Connection, sqlstate: str):
    """Expects an API error with ``sqlstate`` inside a savepoint (so the test's
    transaction goes on); checks it carries a message, a DETAIL and a HINT.
    Yields the pytest ExceptionInfo."""
    with pytest.raises(psycopg.Error) as info, conn.transaction():
        yield info
    error = info.value
    assert error.sqlstate == sqlstate, f"expected {sqlstate}, got {error.sqlstate}: {error}"
    assert error.diag.message_primary
    assert error.diag.message_detail, f"{sqlstate} without DETAIL: {error}"
    assert error.diag.message_hint, f"{sqlstate} without HINT: {error}"


# -- the API, called directly -----------------------------------------------------

def register_tenant(conn, tenant, client_name="Client", engagement_name="Engagement") -> None:
    t = as_tenant(tenant)
    conn.execute(
        "select discovery.register_tenant(p_client_account_id => %s::uuid, p_engagement_id => %s::uuid,"
        " p_client_name => %s::text, p_engagement_name => %s::text)",
        (t.client_account_id, t.engagement_id, client_name, engagement_name))


def new_tenant(conn, client_account_id: uuid.UUID | None = None, name: str = "Client") -> T:
    t = T(client_account_id or uuid.uuid4(), uuid.uuid4())
    register_tenant(conn, t, name, f"{name} engagement")
    return t


def create_data_import(conn, tenant, import_name="servers", import_type="cmdb", filename="servers.csv",
                       imported_by=None, source_system=None) -> uuid.UUID:
    t = as_tenant(tenant)
    return val(
        conn,
        "select discovery.create_data_import(p_client_account_id => %s::uuid, p_engagement_id => %s::uuid,"
        " p_import_name => %s::text, p_import_type => %s::text, p_filename => %s::text,"
        " p_imported_by => %s::uuid, p_source_system => %s::text)",
        (t.client_account_id, t.engagement_id, import_name, import_type, filename, imported_by, source_system))


def add_raw_records(conn, tenant, data_import_id, records: Any) -> int:
    t = as_tenant(tenant)
    payload = records if isinstance(records, str) else j(records)
    return val(
        conn,
        "select discovery.add_raw_records(p_client_account_id => %s::uuid, p_engagement_id => %s::uuid,"
        " p_data_import_id => %s::uuid, p_records => %s::jsonb)",
        (t.client_account_id, t.engagement_id, data_import_id, payload))


def start_discovery_flow(conn, tenant, data_import_id, flow_name=None, user_id=None) -> dict[str, Any]:
    t = as_tenant(tenant)
    return row(
        conn,
        "select * from discovery.start_discovery_flow(p_client_account_id => %s::uuid,"
        " p_engagement_id => %s::uuid, p_data_import_id => %s::uuid, p_flow_name => %s::text,"
        " p_user_id => %s::text)",
        (t.client_account_id, t.engagement_id, data_import_id, flow_name, user_id))


def suggest_field_mappings(conn, tenant, data_import_id) -> list[dict[str, Any]]:
    t = as_tenant(tenant)
    return rows(
        conn,
        "select * from discovery.suggest_field_mappings(p_client_account_id => %s::uuid,"
        " p_engagement_id => %s::uuid, p_data_import_id => %s::uuid)",
        (t.client_account_id, t.engagement_id, data_import_id))


def set_field_mappings(conn, tenant, data_import_id, mappings: Any) -> int:
    t = as_tenant(tenant)
    if isinstance(mappings, dict):
        mappings = [{"source_field": s, "target_field": d} for s, d in mappings.items()]
    payload = mappings if isinstance(mappings, str) else j(mappings)
    return val(
        conn,
        "select discovery.set_field_mappings(p_client_account_id => %s::uuid, p_engagement_id => %s::uuid,"
        " p_data_import_id => %s::uuid, p_mappings => %s::jsonb)",
        (t.client_account_id, t.engagement_id, data_import_id, payload))


def cleanse_records(conn, tenant, discovery_flow_id) -> dict[str, Any]:
    t = as_tenant(tenant)
    return row(
        conn,
        "select * from discovery.cleanse_records(p_client_account_id => %s::uuid,"
        " p_engagement_id => %s::uuid, p_discovery_flow_id => %s::uuid)",
        (t.client_account_id, t.engagement_id, discovery_flow_id))


def persist_cleansed_data(conn, tenant, discovery_flow_id, cleansed: Any) -> int:
    t = as_tenant(tenant)
    payload = cleansed if isinstance(cleansed, str) else j(cleansed)
    return val(
        conn,
        "select discovery.persist_cleansed_data(p_client_account_id => %s::uuid,"
        " p_engagement_id => %s::uuid, p_discovery_flow_id => %s::uuid, p_cleansed => %s::jsonb)",
        (t.client_account_id, t.engagement_id, discovery_flow_id, payload))


def create_assets(conn, tenant, discovery_flow_id, assets: Any = None, dry_run: bool = False,
                  on_match: str = "refresh") -> dict[str, Any]:
    t = as_tenant(tenant)
    payload = None if assets is None else (assets if isinstance(assets, str) else j(assets))
    return row(
        conn,
        "select * from discovery.create_assets_from_discovery(p_client_account_id => %s::uuid,"
        " p_engagement_id => %s::uuid, p_discovery_flow_id => %s::uuid, p_assets => %s::jsonb,"
        " p_dry_run => %s::boolean, p_on_match => %s::text)",
        (t.client_account_id, t.engagement_id, discovery_flow_id, payload, dry_run, on_match))


def list_assets(conn, tenant, flow_id=None, page=1, page_size=50, asset_type=None, status=None) -> dict:
    t = as_tenant(tenant)
    return val(
        conn,
        "select discovery.list_assets(p_client_account_id => %s::uuid, p_engagement_id => %s::uuid,"
        " p_flow_id => %s::uuid, p_page => %s::integer, p_page_size => %s::integer,"
        " p_asset_type => %s::text, p_status => %s::text)",
        (t.client_account_id, t.engagement_id, flow_id, page, page_size, asset_type, status))


def list_raw_records(conn, tenant, data_import_id=None, flow_id=None, outcome=None, page=1, page_size=50) -> dict:
    t = as_tenant(tenant)
    return val(
        conn,
        "select discovery.list_raw_records(p_client_account_id => %s::uuid, p_engagement_id => %s::uuid,"
        " p_data_import_id => %s::uuid, p_flow_id => %s::uuid, p_outcome => %s::text, p_page => %s::integer,"
        " p_page_size => %s::integer)",
        (t.client_account_id, t.engagement_id, data_import_id, flow_id, outcome, page, page_size))


def list_conflicts(conn, tenant, flow_id=None, status="pending", page=1, page_size=50) -> dict:
    t = as_tenant(tenant)
    return val(
        conn,
        "select discovery.list_conflicts(p_client_account_id => %s::uuid, p_engagement_id => %s::uuid,"
        " p_flow_id => %s::uuid, p_status => %s::text, p_page => %s::integer, p_page_size => %s::integer)",
        (t.client_account_id, t.engagement_id, flow_id, status, page, page_size))


def wiring_health(conn, tenant, detail: bool = False) -> dict:
    t = as_tenant(tenant)
    return val(
        conn,
        "select discovery.wiring_health(p_client_account_id => %s::uuid, p_engagement_id => %s::uuid,"
        " p_detail => %s::boolean)",
        (t.client_account_id, t.engagement_id, detail))


def resolve_flow(conn, tenant, any_flow_id) -> dict[str, Any]:
    t = as_tenant(tenant)
    return row(
        conn,
        "select * from discovery.resolve_flow(p_client_account_id => %s::uuid, p_engagement_id => %s::uuid,"
        " p_any_flow_id => %s::uuid)",
        (t.client_account_id, t.engagement_id, any_flow_id))


# -- composite steps ---------------------------------------------------------------

def start_flow(conn, tenant, records: list[dict[str, Any]], mappings: Any = None,
               import_name: str = "servers") -> Flow:
    """Import + raw records + flow start (+ mappings when given); nothing else."""
    t = as_tenant(tenant)
    data_import_id = create_data_import(conn, t, import_name=import_name)
    if records:
        add_raw_records(conn, t, data_import_id, records)
    ids = start_discovery_flow(conn, t, data_import_id)
    if mappings:
        set_field_mappings(conn, t, data_import_id, mappings)
    return Flow(t, data_import_id, ids["discovery_flow_id"], ids["flow_id"], ids["master_flow_id"])


def run_flow(conn, tenant, records, mappings: Any = None, cleanse: bool = False,
             import_name: str = "servers", on_match: str = "refresh") -> tuple[Flow, dict[str, Any]]:
    """A whole derived-mode flow; returns the flow and the create_assets result."""
    flow = start_flow(conn, tenant, records, mappings, import_name)
    if cleanse:
        cleanse_records(conn, flow.tenant, flow.discovery_flow_id)
    return flow, create_assets(conn, flow.tenant, flow.discovery_flow_id, on_match=on_match)


def raw_records(conn, data_import_id) -> list[dict[str, Any]]:
    return rows(conn, "select * from migration.raw_import_records where data_import_id = %s::uuid"
                      " order by row_number", (data_import_id,))


def asset(conn, asset_id) -> dict[str, Any] | None:
    return row(conn, "select * from migration.assets where id = %s::uuid", (asset_id,))


def assets_of_tenant(conn, tenant) -> list[dict[str, Any]]:
    t = as_tenant(tenant)
    return rows(conn, "select * from migration.assets where client_account_id = %s::uuid"
                      " and engagement_id = %s::uuid order by created_at, id",
                (t.client_account_id, t.engagement_id))


def counts(result: dict[str, Any]) -> dict[str, int]:
    return {k: result[k] for k in ("created", "matched", "conflicts", "invalid", "already_linked", "updated")}


# == Login roles for the role tests ================================================================================
#
# Login roles for the role tests: each holds exactly one group role.
#
# Roles are cluster-wide: they are created once per cluster, never dropped, and
# re-checked (attributes, membership) at every session, so a role left by an
# earlier run is brought back to exactly this shape. The fixtures that use them
# (``login_roles``, ``app_conn``, ``analyst_conn``) are in conftest.py.

APP_ROLE = "dw_test_app"
ANALYST_ROLE = "dw_test_analyst"
ROLE_LOCK = 0x64775F726F6C6573  # "dw_roles": serialises role creation across xdist workers


def ensure_login_role(admin: psycopg.Connection, name: str, group: str) -> None:
    """Create (or reset) login role ``name`` holding only ``group``: no
    superuser, no CREATEDB/CREATEROLE, no BYPASSRLS."""
    admin.execute("select pg_advisory_lock(%s::bigint)", (ROLE_LOCK,))
    try:
        if not admin.execute("select 1 from pg_roles where rolname = %s", (name,)).fetchone():
            admin.execute(f'create role "{name}" login')
        admin.execute(f'alter role "{name}" login nosuperuser nocreatedb nocreaterole inherit'
                      ' noreplication nobypassrls')
        # holds exactly one group role
        for (other,) in admin.execute(
                "select g.rolname from pg_auth_members m join pg_roles g on g.oid = m.roleid"
                " join pg_roles u on u.oid = m.member where u.rolname = %s and g.rolname <> %s",
                (name, group)).fetchall():
            admin.execute(f'revoke "{other}" from "{name}"')
        admin.execute(f'grant "{group}" to "{name}"')
    finally:
        admin.execute("select pg_advisory_unlock(%s::bigint)", (ROLE_LOCK,))


# == An inventory built through the client API only ================================================================
#
# An inventory built through the client API only (no SQL of its own), for
# the suites that drive the API as a backend would: the HTTP router, the
# browser page, the CLI and the backend-role life of an import.
#
# The first import makes, for each conflict wanted, two assets that share a
# short name (``alpha.a.example.com`` and ``alpha.b.example.com``), plus
# ``web01``. The second import holds, for each of them, a record known only by
# the short name (``ALPHA``: a conflict between the two), a new server ``beta``,
# and ``web01`` with a newer operating system (matched, and the asset refreshed:
# a change in its history).

CONFLICT_NAMES = ("alpha", "gamma", "delta", "omega")


def first_records(conflicts: int) -> list[dict[str, Any]]:
    return [{"fqdn": f"{name}.{zone}.example.com", "asset_type": "server"}
            for name in CONFLICT_NAMES[:conflicts] for zone in ("a", "b")] + \
           [{"hostname": "web01", "ip_address": "10.0.0.1", "operating_system": "Ubuntu 20.04",
             "asset_type": "server"}]


def second_records(conflicts: int) -> list[dict[str, Any]]:
    return [{"hostname": name.upper(), "operating_system": "linux", "cpu_cores": 4, "environment": "prod"}
            for name in CONFLICT_NAMES[:conflicts]] + \
           [{"hostname": "beta", "ip_address": "10.0.0.2", "asset_type": "server"},
            {"hostname": "web01", "operating_system": "Ubuntu 22.04"}]


@dataclass(frozen=True)
class ImportRun:
    data_import_id: uuid.UUID
    flow: FlowIds
    result: AssetRunResult


@dataclass(frozen=True)
class Inventory:
    tenant: Tenant
    first: ImportRun
    second: ImportRun


def run_import(client, tenant, name: str, records: list[dict[str, Any]]) -> ImportRun:
    """create_data_import, add_raw_records, start_discovery_flow, create_assets_from_discovery."""
    data_import_id = client.create_data_import(tenant, name, "json", f"{name}.json")
    client.add_raw_records(tenant, data_import_id, records)
    flow = client.start_discovery_flow(tenant, data_import_id, flow_name=name)
    return ImportRun(data_import_id, flow, client.create_assets_from_discovery(tenant, flow.discovery_flow_id))


def load_inventory(client, commit: Callable[[], Any], conflicts: int = 2, tenant: Tenant | None = None) -> Inventory:
    """Register a tenant and run both imports, committing after each (so that
    the first import's assets are the older ones). Returns what it made."""
    tenant = tenant or Tenant(uuid.uuid4(), uuid.uuid4())
    client.register_tenant(tenant, "Inventory client", "Inventory engagement")
    first = run_import(client, tenant, "first", first_records(conflicts))
    commit()
    second = run_import(client, tenant, "second", second_records(conflicts))
    commit()
    assert (first.result.created, second.result.created, second.result.matched, second.result.conflicts) == \
        (2 * conflicts + 1, 1, 1, conflicts), (first.result, second.result)
    return Inventory(tenant, first, second)


# == Test databases on one server or on a Citus cluster ============================================================
#
# Test databases on one PostgreSQL server or on a Citus cluster.
#
# When ``DISCOVERY_DATABASE_URL`` names a database of a Citus coordinator that
# knows its workers (``scripts/citus/cluster.sh start`` sets up ``postgres`` and
# ``discovery`` so), every test database is made on every node
# (:mod:`discovery_wiring.citus`: Citus does not propagate CREATE DATABASE), the
# template is distributed after its migration (``DISCOVERY_CITUS_SHARD_COUNT``
# shards, default 4), and a clone of it is a clone on every node, which is a
# consistent copy of the distributed database. On one server nothing changes.

@functools.cache
def on_citus(server_url: str) -> bool:
    with psycopg.connect(server_url, autocommit=True) as conn:
        return citus.is_coordinator(conn) and bool(citus.worker_nodes(conn))


def create_database(server_url: str, name: str, template: str | None = None, file_copy: bool = False) -> None:
    if on_citus(server_url):
        citus.create_database(server_url, name, template=template, file_copy=file_copy)
        return
    with psycopg.connect(server_url, autocommit=True) as admin:
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        if file_copy:
            query += sql.SQL(" STRATEGY FILE_COPY")
        admin.execute(query)


def drop_database(server_url: str, name: str) -> None:
    if on_citus(server_url):
        citus.drop_database(server_url, name)
        return
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


_TEMPLATE_LOCK = 0x6477_7465_6d70_6c74  # "dwtemplt": one template migrated at a time on a cluster


def migrate_template(server_url: str, url: str) -> None:
    """Migrate the template; on a cluster, distribute it too. On a cluster the
    xdist workers migrate their templates one at a time: Citus propagates the
    role grants of sql/grants.sql to every node, and two at once failed there
    with "tuple concurrently updated"."""
    if not on_citus(server_url):
        migrate(url)
        return
    with psycopg.connect(server_url, autocommit=True) as lock:
        lock.execute("SELECT pg_advisory_lock(%s::bigint)", (_TEMPLATE_LOCK,))
        migrate(url)
        citus.distribute(url, shard_count=int(os.environ.get("DISCOVERY_CITUS_SHARD_COUNT", "4")))


# == The hard-case suites: databases, fingerprints, independent gap counts =========================================
#
# Helpers for the hard-case suites (concurrency, faults, legacy repair,
# conflicts, the stateful test).
#
# Everything here reads the tables directly and computes what it checks on its
# own: the gap queries below follow the table of DESIGN.md ("wiring_health")
# and deliberately do not call ``discovery._wiring_gaps``.

GAP_KEYS = (
    "assets_missing_discovery_flow_id", "assets_with_unknown_discovery_flow_id",
    "assets_with_mismatched_master_flow_id", "assets_missing_raw_import_id", "assets_with_orphan_raw_ref",
    "links_disagree", "raw_records_missing_asset_id", "processed_records_missing_asset_id",
    "raw_with_orphan_asset_ref", "assets_with_legacy_flow_id_only",
)


# -- databases ---------------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def cloned_database(server_url: str, template_url: str, file_copy: bool = False) -> Iterator[str]:
    """A fresh copy of the database at ``template_url`` (this process's
    migrated template, or any database no session is connected to) for a
    fixture wider than one test; dropped on exit. ``file_copy`` copies the
    files (STRATEGY FILE_COPY: two checkpoints, but a large database is not
    written to the WAL page by page)."""
    template = conninfo_to_dict(template_url)["dbname"]
    name = f"dw_hard_{uuid.uuid4().hex[:16]}"
    create_database(server_url, name, template=template, file_copy=file_copy)
    try:
        yield url_with_database(server_url, name)
    finally:
        drop_database(server_url, name)


@contextlib.contextmanager
def replica(conn: psycopg.Connection) -> Iterator[None]:
    """Triggers and foreign keys off (superuser): how a restore of the old
    platform's rows bypasses them."""
    conn.execute("set session_replication_role = replica")
    try:
        yield
    finally:
        conn.execute("set session_replication_role = origin")


def migration_tables(conn: psycopg.Connection) -> list[str]:
    return [r["tablename"] for r in rows(
        conn, "select tablename from pg_catalog.pg_tables where schemaname = 'migration' order by 1")]


# -- fingerprints ------------------------------------------------------------------------------------------------------

def fingerprint(conn: psycopg.Connection, light: tuple[str, ...] = ()) -> dict[str, tuple]:
    """Per table of schema `migration`: row count and two independent 64-bit
    hashes summed over every row's full text. Tables named in ``light`` are
    fingerprinted by their visible tuple versions instead (ctid, xmin): any
    committed INSERT, UPDATE or DELETE changes that set, and it costs no
    detoasting."""
    out = {}
    for table in migration_tables(conn):
        if table in light:
            query = (f"select count(*), coalesce(sum(hashtextextended(ctid::text || '/' || xmin::text, 0)), 0),"
                     f" coalesce(sum(hashtextextended(ctid::text || '/' || xmin::text, 7)), 0)"
                     f" from migration.{table}")
        else:
            query = (f"select count(*), coalesce(sum(hashtextextended(t::text, 0)), 0),"
                     f" coalesce(sum(hashtextextended(t::text, 7)), 0) from migration.{table} as t")
        with conn.cursor() as cur:
            cur.execute(query)
            out[table] = tuple(cur.fetchone())
    return out


def md5_tables(conn: psycopg.Connection) -> dict[str, str]:
    """md5 of every table of schema `migration` (rows as text, sorted)."""
    return {t: val(conn, f"select md5(coalesce(string_agg(t::text, ',' order by t::text), ''))"
                         f" from migration.{t} as t") for t in migration_tables(conn)}


# -- canonical outcome of one import -----------------------------------------------------------------------------------

def canonical_import(conn: psycopg.Connection, data_import_id: Any) -> dict[str, Any]:
    """The outcome of create_assets_from_discovery on one import, free of
    generated IDs: per row_number its status and the row_number of the record
    its asset was created from; the assets made from the import (by their
    origin row and lower(hostname))."""
    records = [(r["row_number"], r["is_processed"], r["processing_status"], r["origin_row"]) for r in rows(conn, """
        select r.row_number, r.is_processed, r.processing_status, o.row_number as origin_row
          from migration.raw_import_records as r
          left join migration.assets as a on a.client_account_id = r.client_account_id and a.id = r.asset_id
          left join migration.raw_import_records as o
                 on o.client_account_id = a.client_account_id and o.id = a.raw_import_records_id
         where r.data_import_id = %s order by r.row_number""", (data_import_id,))]
    made = [(r["row_number"], r["host"]) for r in rows(conn, """
        select o.row_number, lower(a.hostname) as host
          from migration.assets as a
          join migration.raw_import_records as o
            on o.client_account_id = a.client_account_id and o.id = a.raw_import_records_id
         where o.data_import_id = %s order by 1""", (data_import_id,))]
    return {"records": records, "assets": made}


def status_counts(conn: psycopg.Connection, data_import_id: Any) -> dict[str | None, int]:
    return {r["processing_status"]: r["n"] for r in rows(
        conn, "select processing_status, count(*) as n from migration.raw_import_records"
              " where data_import_id = %s group by 1", (data_import_id,))}


def duplicate_live_hostnames(conn: psycopg.Connection, tenant: Any) -> list[dict[str, Any]]:
    t = as_tenant(tenant)
    return rows(conn, """
        select lower(hostname) as host, count(*) as n from migration.assets
         where client_account_id = %s and engagement_id = %s and deleted_at is null and hostname is not null
         group by 1 having count(*) > 1""", (t.client_account_id, t.engagement_id))


def records_linked_twice(conn: psycopg.Connection, tenant: Any) -> int:
    """Raw records named as origin by more than one asset."""
    t = as_tenant(tenant)
    return val(conn, """
        select count(*) from (select raw_import_records_id from migration.assets
                               where client_account_id = %s and engagement_id = %s
                                 and raw_import_records_id is not null
                               group by 1 having count(*) > 1) as x""", (t.client_account_id, t.engagement_id))


# -- the ten gaps, computed independently ------------------------------------------------------------------------------

_GAP_SQL = {
    "assets_missing_discovery_flow_id": """
        select a.id from migration.assets a
         where {ta} and a.deleted_at is null and a.discovery_method = 'flow_based' and a.discovery_flow_id is null""",
    "assets_with_unknown_discovery_flow_id": """
        select a.id from migration.assets a
         where {ta} and a.deleted_at is null and a.discovery_flow_id is not null
           and a.discovery_flow_id not in (select f.id from migration.discovery_flows f where {tf})""",
    "assets_with_mismatched_master_flow_id": """
        select a.id from migration.assets a, migration.discovery_flows f
         where {ta} and {tf} and a.deleted_at is null and f.id = a.discovery_flow_id
           and a.master_flow_id is distinct from f.master_flow_id""",
    "assets_missing_raw_import_id": """
        select a.id from migration.assets a
         where {ta} and a.deleted_at is null and a.discovery_method = 'flow_based'
           and a.raw_import_records_id is null""",
    "assets_with_orphan_raw_ref": """
        select a.id from migration.assets a
         where {ta} and a.deleted_at is null and a.raw_import_records_id is not null
           and a.raw_import_records_id not in (select r.id from migration.raw_import_records r where {tr})""",
    "links_disagree": """
        select a.id from migration.assets a, migration.raw_import_records r
         where {ta} and {tr} and a.deleted_at is null and r.id = a.raw_import_records_id
           and r.asset_id is distinct from a.id""",
    # left behind: not processed, though a run of its flow covered its row (records
    # added after the last run are not; a legacy flow that ran before runs recorded
    # how far covered every row)
    "raw_records_missing_asset_id": """
        select r.id from migration.raw_import_records r
         where {tr} and r.asset_id is null and not r.is_processed
           and r.row_number <= (select max(coalesce(f.inventory_watermark, 2147483647))
                                  from migration.discovery_flows f
                                 where {tf} and f.data_import_id = r.data_import_id
                                   and exists (select 1 from migration.asset_inventory_runs x
                                                where x.client_account_id = %(c)s
                                                  and x.discovery_flow_id = f.id))""",
    "processed_records_missing_asset_id": """
        select r.id from migration.raw_import_records r
         where {tr} and r.asset_id is null and r.is_processed
           and coalesce(r.processing_status, '') not in ('invalid', 'conflict', 'discarded')""",
    "raw_with_orphan_asset_ref": """
        select r.id from migration.raw_import_records r
         where {tr} and r.asset_id is not null
           and r.asset_id not in (select a.id from migration.assets a where {ta})""",
    "assets_with_legacy_flow_id_only": """
        select a.id from migration.assets a
         where {ta} and a.deleted_at is null and a.flow_id is not null and a.discovery_flow_id is null""",
}


def independent_gaps(conn: psycopg.Connection, tenant: Any) -> dict[str, set[uuid.UUID]]:
    """The objects of each gap kind of the tenant, straight from DESIGN.md's table."""
    t = as_tenant(tenant)
    where = {alias: f"{alias}.client_account_id = %(c)s and {alias}.engagement_id = %(e)s" for alias in "afr"}
    params = {"c": t.client_account_id, "e": t.engagement_id}
    out = {}
    for key, query in _GAP_SQL.items():
        with conn.cursor() as cur:
            cur.execute(query.format(ta=where["a"], tf=where["f"], tr=where["r"]), params)
            out[key] = {r[0] for r in cur.fetchall()}
    return out


def gap_counts(gaps: dict[str, set]) -> dict[str, int]:
    return {k: len(v) for k, v in gaps.items()}


def not_valid_constraints(conn: psycopg.Connection) -> list[tuple[str, str]]:
    return [(r["rel"], r["conname"]) for r in rows(conn, """
        select c.conrelid::regclass::text as rel, c.conname from pg_catalog.pg_constraint c
         where c.connamespace = 'migration'::regnamespace and not c.convalidated order by 1, 2""")]


# -- API calls not in _support -----------------------------------------------------------------------------------------

def resolve_conflict(conn: psycopg.Connection, tenant: Any, conflict_id: Any, action: str | None,
                     merge_fields: Any = None) -> uuid.UUID:
    t = as_tenant(tenant)
    payload = None if merge_fields is None else (merge_fields if isinstance(merge_fields, str) else j(merge_fields))
    return val(conn,
               "select discovery.resolve_asset_conflict(p_client_account_id => %s::uuid, p_engagement_id => %s::uuid,"
               " p_conflict_id => %s::uuid, p_action => %s::text, p_merge_fields => %s::jsonb)",
               (t.client_account_id, t.engagement_id, conflict_id, action, payload))


def repair(conn: psycopg.Connection, tenant: Any, dry_run: bool | None = None) -> dict:
    t = as_tenant(tenant)
    if dry_run is None:  # the default, as a caller that leaves it out
        return val(conn, "select discovery.repair_wiring(p_client_account_id => %s::uuid,"
                         " p_engagement_id => %s::uuid)", (t.client_account_id, t.engagement_id))
    return val(conn, "select discovery.repair_wiring(p_client_account_id => %s::uuid, p_engagement_id => %s::uuid,"
                     " p_dry_run => %s::boolean)", (t.client_account_id, t.engagement_id, dry_run))


def pending_conflicts(conn: psycopg.Connection, discovery_flow_id: Any) -> list[dict[str, Any]]:
    return rows(conn, "select * from migration.asset_conflict_resolutions where discovery_flow_id = %s"
                      " and resolution_status = 'pending' order by id", (discovery_flow_id,))


# == The hostile-input suite ========================================================================================
#
# Helpers of the hostile-input suites (tests/test_hostile_*.py). Every refused
# call must change nothing: ``unchanged`` compares every row of every table of
# schema `migration` (``snapshot``) before and after, as an observer
# connection (a superuser) sees them; ``refused`` adds the exact SQLSTATE the
# acting connection (a backend's or an analyst's login role) must get. A call
# that succeeds with field warnings changes only its own tenant: ``unchanged``
# with ``outside=`` compares the rows of every other client account.

STRANGER_ROLE = "dw_test_stranger"  # a login role holding no group role at all


def ensure_stranger_role(admin: psycopg.Connection) -> str:
    """Create (or reset) the login role that holds no role of the project."""
    admin.execute("select pg_advisory_lock(%s::bigint)", (ROLE_LOCK,))
    try:
        if not admin.execute("select 1 from pg_roles where rolname = %s", (STRANGER_ROLE,)).fetchone():
            admin.execute(f'create role "{STRANGER_ROLE}" login')
        admin.execute(f'alter role "{STRANGER_ROLE}" login nosuperuser nocreatedb nocreaterole inherit'
                      ' noreplication nobypassrls')
        for (other,) in admin.execute(
                "select g.rolname from pg_auth_members m join pg_roles g on g.oid = m.roleid"
                " join pg_roles u on u.oid = m.member where u.rolname = %s", (STRANGER_ROLE,)).fetchall():
            admin.execute(f'revoke "{other}" from "{STRANGER_ROLE}"')
    finally:
        admin.execute("select pg_advisory_unlock(%s::bigint)", (ROLE_LOCK,))
    return STRANGER_ROLE


def snapshot_outside(conn: psycopg.Connection, client_account_id: Any) -> dict[str, list[str]]:
    """``snapshot`` without the rows of one client account."""
    out = {}
    for table in migration_tables(conn):
        column = "id" if table == "client_accounts" else "client_account_id"
        out[table] = [r["x"] for r in rows(
            conn, f"select to_jsonb(t)::text as x from migration.{table} as t"
                  f" where t.{column} is distinct from %s::uuid order by 1", (client_account_id,))]
    return out


@contextlib.contextmanager
def unchanged(observer: psycopg.Connection, outside: Any = None) -> Iterator[None]:
    """Asserts that every row of every `migration` table is as before (with
    ``outside``, a client account ID: every row of every other client)."""
    def take():
        observer.rollback()  # a fresh snapshot of what is committed
        return snapshot(observer) if outside is None else snapshot_outside(observer, outside)
    before = take()
    yield
    after = take()
    changed = [t for t in before if before[t] != after.get(t)]
    assert not changed, f"rows changed in {changed}: " + "; ".join(
        f"{t}: -{sorted(set(before[t]) - set(after[t]))[:2]} +{sorted(set(after[t]) - set(before[t]))[:2]}"
        for t in changed)


@contextlib.contextmanager
def refused(observer: psycopg.Connection, acting: psycopg.Connection, sqlstate: str,
            detail: str | None = None) -> Iterator[Any]:
    """The call in the block, made on ``acting``, fails with ``sqlstate`` (a
    WR code with its DETAIL, which contains ``detail`` when given, and HINT),
    and after the acting session commits nothing has changed."""
    with unchanged(observer):
        with pytest.raises(psycopg.Error) as info, acting.transaction():
            yield info
        error = info.value
        assert error.sqlstate == sqlstate, f"expected {sqlstate}, got {error.sqlstate}: {error}"
        if sqlstate.startswith("WR"):
            assert error.diag.message_primary and error.diag.message_hint, f"{sqlstate} without a HINT: {error}"
            assert error.diag.message_detail, f"{sqlstate} without a DETAIL: {error}"
            if detail is not None:
                assert detail.lower() in error.diag.message_detail.lower(), error.diag.message_detail
        if not acting.autocommit:
            acting.commit()


def warnings_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [w for w in (record.get("validation_errors") or []) if w.get("severity") == "warning"]


def undo_import(conn, tenant, data_import_id, dry_run: bool | None = True) -> dict:
    t = as_tenant(tenant)
    return val(conn, "select discovery.undo_import(p_client_account_id => %s::uuid, p_engagement_id => %s::uuid,"
                     " p_data_import_id => %s::uuid, p_dry_run => %s::boolean)",
               (t.client_account_id, t.engagement_id, data_import_id, dry_run))


def get_asset(conn, tenant, asset_id) -> dict:
    t = as_tenant(tenant)
    return val(conn, "select discovery.get_asset(p_client_account_id => %s::uuid, p_engagement_id => %s::uuid,"
                     " p_asset_id => %s::uuid)", (t.client_account_id, t.engagement_id, asset_id))


def list_data_imports(conn, tenant, page=1, page_size=50) -> dict:
    t = as_tenant(tenant)
    return val(conn, "select discovery.list_data_imports(p_client_account_id => %s::uuid,"
                     " p_engagement_id => %s::uuid, p_page => %s::integer, p_page_size => %s::integer)",
               (t.client_account_id, t.engagement_id, page, page_size))


def records_of(conn, tenant, data_import_id) -> list[dict[str, Any]]:
    """The import's raw records through the API (list_raw_records, every page), by row_number."""
    out, page = [], 1
    while True:
        found = list_raw_records(conn, tenant, data_import_id=data_import_id, page=page, page_size=200)
        out += found["records"]
        if not found["pagination"]["has_next"]:
            return out
        page += 1


def assets_through_api(conn, tenant, flow_id=None) -> list[dict[str, Any]]:
    out, page = [], 1
    while True:
        found = list_assets(conn, tenant, flow_id=flow_id, page=page, page_size=200)
        out += found["assets"]
        if not found["pagination"]["has_next"]:
            return out
        page += 1


@dataclass
class World:
    """One tenant as the backend left it: an import whose inventory ran
    (two assets sharing a short name, web01, an invalid record), one with a
    pending conflict, and one started but not run."""

    tenant: T
    done: Flow
    conflicted: Flow
    pending: Flow
    done_records: list[dict[str, Any]]
    pending_records: list[dict[str, Any]]
    conflict: dict[str, Any]

    def record(self, status: str) -> str:
        return next(r["id"] for r in self.done_records if r["processing_status"] == status)


def build_world(app, tenant: T | None = None) -> World:
    tenant = tenant or new_tenant(app)
    done, _ = run_flow(app, tenant, [{"fqdn": "alpha.a.example.com"}, {"fqdn": "alpha.b.example.com"},
                                     {"hostname": "web01", "ip_address": "10.0.0.1"}, {"comment": "no identity"}],
                       import_name="done")
    conflicted, result = run_flow(app, tenant, [{"hostname": "ALPHA", "cpu_cores": "4"}], import_name="conflicted")
    assert result["conflicts"] == 1
    pending = start_flow(app, tenant, [{"hostname": "db01"}, {"hostname": "db02", "cpu_cores": "8"}],
                         import_name="pending")
    app.commit()
    (conflict,) = list_conflicts(app, tenant)["conflicts"]
    return World(tenant, done, conflicted, pending, records_of(app, tenant, done.data_import_id),
                 records_of(app, tenant, pending.data_import_id), conflict)
