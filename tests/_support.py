"""Helpers for the SQL-level suites (test_api, test_invariants, test_roles).

They call the ``discovery`` functions directly, with named arguments and an
explicit cast on every parameter, so these suites test the SQL contract of
DESIGN.md and not the Python client. Rows come back as dicts.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

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
