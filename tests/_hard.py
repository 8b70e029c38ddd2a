"""Helpers for the hard-case suites (concurrency, faults, legacy repair,
conflicts, the stateful test).

Everything here reads the tables directly and computes what it checks on its
own: the gap queries below follow the table of DESIGN.md ("wiring_health")
and deliberately do not call ``discovery._wiring_gaps``.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

import _cluster
from _support import as_tenant, rows, val
from discovery_wiring.db import url_with_database

GAP_KEYS = (
    "assets_missing_discovery_flow_id", "assets_with_unknown_discovery_flow_id",
    "assets_with_mismatched_master_flow_id", "assets_missing_raw_import_id", "assets_with_orphan_raw_ref",
    "links_disagree", "raw_records_missing_asset_id", "processed_records_missing_asset_id",
    "raw_with_orphan_asset_ref", "assets_with_legacy_flow_id_only",
)


# -- databases ------------------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def cloned_database(server_url: str, template_url: str, file_copy: bool = False) -> Iterator[str]:
    """A fresh copy of the database at ``template_url`` (this process's
    migrated template, or any database no session is connected to) for a
    fixture wider than one test; dropped on exit. ``file_copy`` copies the
    files (STRATEGY FILE_COPY: two checkpoints, but a large database is not
    written to the WAL page by page)."""
    template = conninfo_to_dict(template_url)["dbname"]
    name = f"dw_hard_{uuid.uuid4().hex[:16]}"
    _cluster.create_database(server_url, name, template=template, file_copy=file_copy)
    try:
        yield url_with_database(server_url, name)
    finally:
        _cluster.drop_database(server_url, name)


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


# -- fingerprints ---------------------------------------------------------------------------------------------------------

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


# -- canonical outcome of one import ----------------------------------------------------------------------------------------

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


# -- the ten gaps, computed independently -------------------------------------------------------------------------------

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
                                                where x.discovery_flow_id = f.id))""",
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


def validate_constraints(conn: psycopg.Connection) -> dict[str, str | None]:
    """VALIDATE each NOT VALID constraint of schema migration in a savepoint:
    {constraint: None when it validated, else the error's SQLSTATE}."""
    out = {}
    for rel, name in not_valid_constraints(conn):
        try:
            with conn.transaction():
                conn.execute(sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(sql.SQL(rel), sql.Identifier(name)))
            out[name] = None
        except psycopg.Error as exc:
            out[name] = exc.sqlstate
    return out


# -- API calls not in _support ---------------------------------------------------------------------------------------------

def resolve_conflict(conn: psycopg.Connection, tenant: Any, conflict_id: Any, action: str | None,
                     merge_fields: Any = None) -> uuid.UUID:
    t = as_tenant(tenant)
    from _support import j
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
