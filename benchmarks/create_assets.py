#!/usr/bin/env python3
"""Benchmark ``discovery.create_assets_from_discovery`` against three baselines.

    DISCOVERY_DATABASE_URL=postgresql://root@127.0.0.1:5432/dw_bench \\
        python benchmarks/create_assets.py --records 100000 [--seed 42]

Builds N deterministic CMDB-like raw records (from ``--seed``), loads one copy
per measured variant into a fresh tenant through the API (register_tenant,
create_data_import, add_raw_records in chunks of at most 50,000,
start_discovery_flow, set_field_mappings), commits, VACUUM ANALYZEs, then
times each variant on its own copy, COMMIT included (the deferred wiring
triggers run there):

  api         discovery.create_assets_from_discovery(...)
  bare        one INSERT ... SELECT of the assets (one per distinct identity)
              and one UPDATE ... FROM of the raw records, on migration.* (same
              constraints, indexes and triggers as the API writes through)
  floor       the same two statements on plain copies of the two tables
              (primary keys only: no foreign key, trigger or other index)
  row_by_row  a client loop, one INSERT and one UPDATE round trip per record,
              on migration.* (as the old ORM did); measured on the first
              --row-by-row-limit records and extrapolated linearly to N

Prints one JSON object on stdout; progress goes to stderr. The database is
migrated first when schema ``migration`` (or the API) is missing. The tenants
it creates are left in the database; the plain copies of ``floor`` are dropped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

try:
    from discovery_wiring.migrate import ensure_migrated
except ImportError:  # run from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python_client"))
    from discovery_wiring.migrate import ensure_migrated

CHUNK = 50_000  # add_raw_records payload limit (DESIGN.md)
VARIANTS = ("floor", "bare", "api", "row_by_row")
SETTINGS = ("shared_buffers", "work_mem", "maintenance_work_mem", "effective_cache_size",
            "synchronous_commit", "fsync", "wal_level", "max_wal_size", "checkpoint_timeout",
            "jit", "max_parallel_workers_per_gather", "random_page_cost")

# Source header -> asset column. "Serial Number", "Rack" and "Support Contract"
# have no column and end in custom_attributes.
MAPPINGS = {
    "Server Name": "hostname",
    "FQDN": "fqdn",
    "IP Address": "ip_address",
    "Asset Type": "asset_type",
    "OS": "operating_system",
    "OS Version": "os_version",
    "CPU Cores": "cpu_cores",
    "Memory (GB)": "memory_gb",
    "Storage (GB)": "storage_gb",
    "Environment": "environment",
    "Location": "location",
    "Datacenter": "datacenter",
    "Application": "application_name",
    "Business Owner": "business_owner",
    "Technical Owner": "technical_owner",
    "Department": "department",
    "Criticality": "criticality",
}
UNMAPPED = ("Serial Number", "Rack", "Support Contract")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- data

def build_records(n: int, seed: int) -> list[dict]:
    """N raw rows as a CMDB export would give them: ~10% repeat an earlier
    server (same name, often in another case, same IP), ~3% carry no identity
    at all (no name, no FQDN, no IP), ~2% of servers are known by IP only."""
    return list(iter_build_records(n, seed))


def iter_build_records(n: int, seed: int) -> Iterator[dict]:
    """The rows of :func:`build_records`, one at a time."""
    rnd = random.Random(seed)
    envs = ["Production", "Staging", "QA", "Development", "DR"]
    oses = [("Red Hat Enterprise Linux", ["7.9", "8.8", "9.2"]), ("Ubuntu", ["18.04", "20.04", "22.04"]),
            ("Windows Server", ["2012 R2", "2016", "2019", "2022"]), ("SUSE Linux Enterprise", ["12 SP5", "15 SP4"]),
            ("Oracle Linux", ["7.9", "8.6"]), ("AIX", ["7.2"])]
    sites = [("Frankfurt", "FRA1"), ("Dublin", "DUB2"), ("Ashburn", "IAD3"), ("Singapore", "SIN1"),
             ("Sao Paulo", "GRU1"), ("London", "LON4")]
    roles = ["app", "web", "db", "batch", "mq", "file", "dc", "proxy", "etl", "cache"]
    apps = ["Billing", "CRM", "Payroll", "Data Warehouse", "Intranet", "Order Management", "Logistics",
            "Identity", "Reporting", "E-Commerce", "HR Portal", "Monitoring"]
    depts = ["Finance", "Sales", "HR", "IT Operations", "Supply Chain", "Marketing"]
    people = [f"{first} {last}" for first in ("Ana", "Ben", "Chen", "Dara", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jo")
              for last in ("Smith", "Okafor", "Novak", "Tanaka", "Silva")]
    crit = ["Low", "Medium", "High", "Mission Critical"]
    types = ["Server", "Server", "Server", "Virtual Machine", "Virtual Machine", "Database Server"]

    identities: list[tuple[str | None, str | None, str | None]] = []  # (hostname, fqdn, ip) of new servers
    for _ in range(n):
        env = rnd.choice(envs)
        os_name, versions = rnd.choice(oses)
        city, dc = rnd.choice(sites)
        cores = rnd.choice([2, 4, 4, 8, 8, 16, 32, 64])
        row = {
            "Asset Type": rnd.choice(types),
            "OS": os_name if rnd.random() > 0.04 else "",
            "OS Version": rnd.choice(versions),
            "CPU Cores": str(cores),
            "Memory (GB)": str(cores * rnd.choice([2, 4, 8])) + rnd.choice(["", ".0"]),
            "Storage (GB)": str(rnd.choice([50, 100, 250, 500, 1000, 2000])),
            "Environment": env,
            "Location": city,
            "Datacenter": dc,
            "Application": rnd.choice(apps),
            "Business Owner": rnd.choice(people),
            "Technical Owner": rnd.choice(people) if rnd.random() > 0.1 else "  ",
            "Department": rnd.choice(depts),
            "Criticality": rnd.choice(crit),
            "Serial Number": f"SN{rnd.randrange(16**10):010X}",
            "Rack": f"{dc}-R{rnd.randrange(1, 60):02d}-U{rnd.randrange(1, 42):02d}",
            "Support Contract": rnd.choice(["Gold", "Silver", "None", ""]),
        }
        p = rnd.random()
        if p < 0.03:  # no identity at all
            row.update({"Server Name": "", "FQDN": "", "IP Address": ""})
        elif p < 0.13 and identities:  # a duplicate of an earlier server
            host, fqdn, ip = identities[rnd.randrange(len(identities))]
            if host and rnd.random() < 0.5:
                host = host.upper()
            row.update({"Server Name": host or "", "FQDN": fqdn or "", "IP Address": ip or ""})
        else:  # a new server
            k = len(identities)
            ip = f"10.{(k >> 16) & 255}.{(k >> 8) & 255}.{k & 255}"
            if rnd.random() < 0.02:
                host = fqdn = None
            else:
                host = f"{dc.lower()}-{env[:3].lower()}-{rnd.choice(roles)}{k:06d}"
                fqdn = f"{host}.{env[:4].lower()}.corp.example.com" if rnd.random() < 0.6 else None
            identities.append((host, fqdn, ip))
            row.update({"Server Name": host or "", "FQDN": fqdn or "", "IP Address": ip})
        yield row


# --------------------------------------------------------------------------- database set-up

def tenant_ids() -> tuple[uuid.UUID, uuid.UUID]:
    return uuid.uuid4(), uuid.uuid4()  # a fresh tenant every time: no earlier asset can match


def load_tenant(conn: psycopg.Connection, variant: str, records: list[dict], seed: int) -> dict:
    ca, eng = tenant_ids()
    n = len(records)
    t = {"client_account_id": ca, "engagement_id": eng}
    conn.execute("SELECT discovery.register_tenant(p_client_account_id => %(ca)s, p_engagement_id => %(eng)s,"
                 " p_client_name => %(c)s, p_engagement_name => %(e)s)",
                 {"ca": ca, "eng": eng, "c": f"bench {variant}", "e": f"create_assets n={n} seed={seed}"})
    imp = conn.execute(
        "SELECT discovery.create_data_import(p_client_account_id => %s, p_engagement_id => %s,"
        " p_import_name => %s, p_import_type => 'cmdb', p_filename => 'cmdb_export.csv',"
        " p_source_system => 'ServiceNow CMDB')",
        (ca, eng, f"bench {variant}")).fetchone()[0]
    for start in range(0, n, CHUNK):
        conn.execute("SELECT discovery.add_raw_records(p_client_account_id => %s, p_engagement_id => %s,"
                     " p_data_import_id => %s, p_records => %s)",
                     (ca, eng, imp, Jsonb(records[start:start + CHUNK])))
    flow = conn.execute("SELECT * FROM discovery.start_discovery_flow(p_client_account_id => %s,"
                        " p_engagement_id => %s, p_data_import_id => %s)", (ca, eng, imp)).fetchone()
    conn.execute("SELECT discovery.set_field_mappings(p_client_account_id => %s, p_engagement_id => %s,"
                 " p_data_import_id => %s, p_mappings => %s)",
                 (ca, eng, imp, Jsonb([{"source_field": s, "target_field": d} for s, d in MAPPINGS.items()])))
    conn.commit()
    t.update(data_import_id=imp, discovery_flow_id=flow[0], master_flow_id=flow[2])
    return t


def settle(admin: psycopg.Connection, tables: list[str]) -> None:
    """Untimed, before each variant: no dead tuples or stale statistics left
    for autovacuum to chew on during the measurement, and a clean checkpoint."""
    for table in tables:
        admin.execute(f"VACUUM ANALYZE {table}")
    try:
        admin.execute("CHECKPOINT")  # superuser or pg_checkpoint only
    except psycopg.errors.InsufficientPrivilege:
        log("  (no privilege to CHECKPOINT: skipped)")


# --------------------------------------------------------------------------- the set-based baselines

def f(key: str) -> str:
    """A source field as text, trimmed, empty -> null (as the API's _field)."""
    return f"nullif(btrim(r.raw_data ->> '{key}'), '')"


# Asset IDs are derived from (flow, identity), so that the UPDATE finds each
# record's asset without joining the assets just inserted (whose statistics
# are stale inside the transaction: a join there invites a quadratic plan).
IDENTITY = "coalesce(lower({host}), lower({fqdn}), {ip})".format(
    host=f("Server Name"), fqdn=f("FQDN"), ip=f("IP Address"))

BARE_INSERT = """
INSERT INTO {assets} (
    client_account_id, engagement_id, id, name, asset_type, hostname, fqdn, ip_address,
    operating_system, os_version, cpu_cores, memory_gb, storage_gb, environment, location,
    datacenter, application_name, business_owner, technical_owner, department, criticality,
    custom_attributes, discovery_flow_id, master_flow_id, raw_import_records_id, discovery_method
)
SELECT DISTINCT ON (k.identity)
       r.client_account_id, r.engagement_id, md5(%(flow)s::text || k.identity)::uuid,
       coalesce({host}, {fqdn}, {ip}),
       {asset_type}, {host}, {fqdn}, {ip}, {os}, {os_version},
       {cpu}::numeric::integer, {mem}::numeric, {storage}::numeric, {env}, {loc}, {dc}, {app},
       {bo}, {to}, {dept}, {crit},
       r.raw_data - ARRAY[{mapped}], %(flow)s, %(master)s, r.id, 'flow_based'
  FROM {raw} AS r
 CROSS JOIN LATERAL (SELECT {identity} AS identity) AS k
 WHERE r.client_account_id = %(ca)s
   AND r.data_import_id = %(imp)s
   AND k.identity IS NOT NULL
 ORDER BY k.identity, r.row_number
""".format(
    assets="{assets}", raw="{raw}", identity=IDENTITY, host=f("Server Name"), fqdn=f("FQDN"),
    ip=f("IP Address"), asset_type=f("Asset Type"), os=f("OS"), os_version=f("OS Version"),
    cpu=f("CPU Cores"), mem=f("Memory (GB)"), storage=f("Storage (GB)"), env=f("Environment"),
    loc=f("Location"), dc=f("Datacenter"), app=f("Application"), bo=f("Business Owner"),
    to=f("Technical Owner"), dept=f("Department"), crit=f("Criticality"),
    mapped=", ".join(f"'{k}'" for k in MAPPINGS))

BARE_UPDATE = """
UPDATE {raw} AS t
   SET asset_id = s.asset_id,
       is_processed = true,
       processing_status = s.outcome
  FROM (
       SELECT r.id,
              md5(%(flow)s::text || k.identity)::uuid AS asset_id,
              CASE WHEN k.identity IS NULL THEN 'invalid'
                   WHEN row_number() OVER (PARTITION BY k.identity ORDER BY r.row_number) = 1
                   THEN 'created' ELSE 'matched' END AS outcome
         FROM {raw} AS r
        CROSS JOIN LATERAL (SELECT {identity} AS identity) AS k
        WHERE r.client_account_id = %(ca)s
          AND r.data_import_id = %(imp)s
  ) AS s
 WHERE t.client_account_id = %(ca)s
   AND t.id = s.id
""".format(raw="{raw}", identity=IDENTITY)


def run_set_based(conn: psycopg.Connection, t: dict, assets: str, raw: str) -> dict:
    args = {"ca": t["client_account_id"], "imp": t["data_import_id"], "flow": t["discovery_flow_id"],
            "master": t["master_flow_id"]}
    t0 = time.perf_counter()
    ins = conn.execute(BARE_INSERT.format(assets=assets, raw=raw), args).rowcount
    t1 = time.perf_counter()
    upd = conn.execute(BARE_UPDATE.format(assets=assets, raw=raw), args).rowcount
    t2 = time.perf_counter()
    conn.commit()
    t3 = time.perf_counter()
    return {"seconds": t3 - t0, "insert_s": t1 - t0, "update_s": t2 - t1, "commit_s": t3 - t2,
            "assets_inserted": ins, "records_updated": upd}


def make_floor_tables(admin: psycopg.Connection, t: dict) -> tuple[str, str]:
    admin.execute("DROP SCHEMA IF EXISTS bench_floor CASCADE")
    admin.execute("CREATE SCHEMA bench_floor")
    for name in ("assets", "raw_import_records"):
        admin.execute(f"CREATE TABLE bench_floor.{name} (LIKE migration.{name} INCLUDING DEFAULTS)")
        admin.execute(f"ALTER TABLE bench_floor.{name} ADD PRIMARY KEY (client_account_id, id)")
    admin.execute("INSERT INTO bench_floor.raw_import_records SELECT * FROM migration.raw_import_records"
                  " WHERE client_account_id = %s", (t["client_account_id"],))
    return "bench_floor.assets", "bench_floor.raw_import_records"


# --------------------------------------------------------------------------- the API

def run_api(conn: psycopg.Connection, t: dict, session_settings: list[tuple[str, str]]) -> dict:
    # Diagnostic knob (--api-set), none by default: applied to the call only and
    # restored before COMMIT, so the deferred triggers run with the usual settings.
    saved = [(name, conn.execute("SELECT current_setting(%s)", (name,)).fetchone()[0])
             for name, _ in session_settings]
    for name, value in session_settings:
        conn.execute("SELECT set_config(%s, %s, true)", (name, value))
    t0 = time.perf_counter()
    row = conn.execute(
        "SELECT * FROM discovery.create_assets_from_discovery(p_client_account_id => %s,"
        " p_engagement_id => %s, p_discovery_flow_id => %s)",
        (t["client_account_id"], t["engagement_id"], t["discovery_flow_id"])).fetchone()
    for name, value in saved:
        conn.execute("SELECT set_config(%s, %s, true)", (name, value))
    t1 = time.perf_counter()
    conn.commit()
    t2 = time.perf_counter()
    _, created, matched, conflicts, invalid, already_linked = row[:6]
    return {"seconds": t2 - t0, "call_s": t1 - t0, "commit_s": t2 - t1, "created": created,
            "matched": matched, "conflicts": conflicts, "invalid": invalid, "already_linked": already_linked}


# --------------------------------------------------------------------------- row by row

ROW_INSERT = """
INSERT INTO migration.assets (
    client_account_id, engagement_id, name, asset_type, hostname, fqdn, ip_address,
    operating_system, os_version, cpu_cores, memory_gb, storage_gb, environment, location,
    datacenter, application_name, business_owner, technical_owner, department, criticality,
    custom_attributes, discovery_flow_id, master_flow_id, raw_import_records_id, discovery_method
) VALUES (%(client_account_id)s, %(engagement_id)s, %(name)s, %(asset_type)s, %(hostname)s, %(fqdn)s,
          %(ip_address)s, %(operating_system)s, %(os_version)s, %(cpu_cores)s, %(memory_gb)s,
          %(storage_gb)s, %(environment)s, %(location)s, %(datacenter)s, %(application_name)s,
          %(business_owner)s, %(technical_owner)s, %(department)s, %(criticality)s,
          %(custom_attributes)s, %(discovery_flow_id)s, %(master_flow_id)s, %(raw_import_records_id)s,
          'flow_based')
RETURNING id
"""
ROW_UPDATE = """
UPDATE migration.raw_import_records
   SET asset_id = %s, is_processed = true, processing_status = %s
 WHERE client_account_id = %s AND id = %s
"""


def _clean(v):
    if v is None:
        return None
    v = str(v).strip()
    return v or None


def _num(v):
    v = _clean(v)
    try:
        return None if v is None else float(v)
    except ValueError:
        return None


def run_row_by_row(conn: psycopg.Connection, t: dict, limit: int) -> dict:
    ca, eng = t["client_account_id"], t["engagement_id"]
    t0 = time.perf_counter()
    rows = conn.execute(
        "SELECT id, raw_data FROM migration.raw_import_records"
        " WHERE client_account_id = %s AND data_import_id = %s AND NOT is_processed"
        " ORDER BY row_number LIMIT %s", (ca, t["data_import_id"], limit)).fetchall()
    seen: dict[str, uuid.UUID] = {}
    created = 0
    with conn.cursor() as cur:
        for raw_id, raw in rows:
            a = {dst: _clean(raw.get(src)) for src, dst in MAPPINGS.items()}
            key = (a["hostname"] or "").lower() or (a["fqdn"] or "").lower() or a["ip_address"]
            if not key:
                cur.execute(ROW_UPDATE, (None, "invalid", ca, raw_id))
            elif key in seen:
                cur.execute(ROW_UPDATE, (seen[key], "matched", ca, raw_id))
            else:
                a.update(client_account_id=ca, engagement_id=eng,
                         name=a["hostname"] or a["fqdn"] or a["ip_address"],
                         cpu_cores=None if _num(a["cpu_cores"]) is None else round(_num(a["cpu_cores"])),
                         memory_gb=_num(a["memory_gb"]), storage_gb=_num(a["storage_gb"]),
                         custom_attributes=Jsonb({k: v for k, v in raw.items() if k not in MAPPINGS}),
                         discovery_flow_id=t["discovery_flow_id"], master_flow_id=t["master_flow_id"],
                         raw_import_records_id=raw_id)
                cur.execute(ROW_INSERT, a)
                seen[key] = cur.fetchone()[0]
                created += 1
                cur.execute(ROW_UPDATE, (seen[key], "created", ca, raw_id))
    t1 = time.perf_counter()
    conn.commit()
    t2 = time.perf_counter()
    return {"seconds": t2 - t0, "loop_s": t1 - t0, "commit_s": t2 - t1, "measured_records": len(rows),
            "assets_inserted": created}


# --------------------------------------------------------------------------- main

def server_info(conn: psycopg.Connection) -> dict:
    info = {"version": conn.execute("SELECT version()").fetchone()[0],
            "server_version_num": int(conn.execute("SHOW server_version_num").fetchone()[0])}
    info["settings"] = {s: conn.execute("SELECT current_setting(%s)", (s,)).fetchone()[0] for s in SETTINGS}
    return info


def ratio(a, b):
    return None if a is None or not b else round(a / b, 3)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", "-n", type=int, required=True, help="raw records per variant (N)")
    ap.add_argument("--seed", type=int, default=42, help="seed of the generated data (default 42)")
    ap.add_argument("--row-by-row-limit", type=int, default=20_000,
                    help="row_by_row measures at most this many records and extrapolates to N (default 20000)")
    ap.add_argument("--variants", default=",".join(VARIANTS),
                    help=f"comma-separated subset of {','.join(VARIANTS)} (default: all, in that order)")
    ap.add_argument("--api-set", action="append", default=[], metavar="NAME=VALUE",
                    help="diagnostic: a planner setting for the api call only (SET LOCAL, restored before"
                         " COMMIT), e.g. enable_nestloop=off; repeatable; reported in the JSON")
    args = ap.parse_args(argv)
    try:
        api_settings = [tuple(x.split("=", 1)) for x in args.api_set]
        assert all(len(x) == 2 and x[0] for x in api_settings)
    except AssertionError:
        ap.error("--api-set takes NAME=VALUE")
    url = os.environ.get("DISCOVERY_DATABASE_URL")
    if not url:
        ap.error("DISCOVERY_DATABASE_URL is required (a libpq URI of the database to benchmark)")
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if bad := [v for v in variants if v not in VARIANTS]:
        ap.error(f"unknown variant(s): {', '.join(bad)}")
    n = args.records
    if n < 1:
        ap.error("--records must be at least 1")

    migrated = ensure_migrated(url)
    log(f"building {n} records (seed {args.seed})")
    records = build_records(n, args.seed)

    result: dict = {"records": n, "seed": args.seed,
                    "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    timings: dict[str, dict] = {}
    with psycopg.connect(url, autocommit=True) as admin, psycopg.connect(url) as conn:
        result["server"] = server_info(admin)
        tenants = {}
        for v in variants:
            log(f"loading tenant for {v} through the API")
            t0 = time.perf_counter()
            tenants[v] = load_tenant(conn, v, records, args.seed)
            log(f"  loaded in {time.perf_counter() - t0:.1f}s")
        floor_tables = make_floor_tables(admin, tenants["floor"]) if "floor" in variants else None
        settle_tables = ["migration.raw_import_records", "migration.assets",
                         "migration.asset_conflict_resolutions"] + (list(floor_tables) if floor_tables else [])

        for v in variants:
            settle(admin, settle_tables)
            log(f"timing {v}")
            if v == "api":
                timings[v] = run_api(conn, tenants[v], api_settings)
                health = admin.execute(
                    "SELECT discovery.wiring_health(p_client_account_id => %s, p_engagement_id => %s)"
                    " ->> 'health_status'",
                    (tenants[v]["client_account_id"], tenants[v]["engagement_id"])).fetchone()[0]
                timings[v]["wiring_health"] = health
            elif v == "bare":
                timings[v] = run_set_based(conn, tenants[v], "migration.assets", "migration.raw_import_records")
            elif v == "floor":
                timings[v] = run_set_based(conn, tenants[v], *floor_tables)
            else:
                timings[v] = run_row_by_row(conn, tenants[v], min(args.row_by_row_limit, n))
            log(f"  {v}: {timings[v]['seconds']:.3f}s")
        if floor_tables:
            admin.execute("DROP SCHEMA bench_floor CASCADE")

    api_s = timings.get("api", {}).get("seconds")
    bare_s = timings.get("bare", {}).get("seconds")
    floor_s = timings.get("floor", {}).get("seconds")
    rbr = timings.get("row_by_row")
    rbr_s = None
    if rbr:
        measured = rbr["measured_records"]
        rbr_s = rbr["seconds"] * n / measured if measured else None
    result.update({
        "api_s": None if api_s is None else round(api_s, 3),
        "bare_sql_s": None if bare_s is None else round(bare_s, 3),
        "floor_sql_s": None if floor_s is None else round(floor_s, 3),
        "row_by_row_s": None if rbr_s is None else round(rbr_s, 3),
        "api_vs_bare_ratio": ratio(api_s, bare_s),
        "api_vs_floor_ratio": ratio(api_s, floor_s),
        "speedup_vs_row_by_row": ratio(rbr_s, api_s),
    })
    if rbr:
        result["row_by_row_measured_records"] = rbr["measured_records"]
        result["row_by_row_measured_s"] = round(rbr["seconds"], 3)
        result["row_by_row_extrapolated"] = rbr["measured_records"] < n
    if "api" in timings:
        a = timings["api"]
        result["api_outcomes"] = {k: a[k] for k in ("created", "matched", "conflicts", "invalid",
                                                     "already_linked")}
        result["api_wiring_health"] = a["wiring_health"]
        if api_settings:
            result["api_session_settings"] = dict(api_settings)
    result["detail_s"] = {v: {k: (round(x, 3) if isinstance(x, float) else x) for k, x in d.items()
                              if k not in ("created", "matched", "conflicts", "invalid", "already_linked",
                                           "wiring_health")}
                          for v, d in timings.items()}
    result["variant_order"] = variants
    result["client"] = {"python": platform.python_version(), "psycopg": psycopg.__version__,
                        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs"}
    if migrated:
        result["database_migrated_first"] = True
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
