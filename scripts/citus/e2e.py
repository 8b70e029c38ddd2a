#!/usr/bin/env python3
"""End to end on a Citus cluster, compared with one PostgreSQL server.

    python scripts/citus/e2e.py --citus-url URL --plain-url URL [--cli PATH]

Both URLs name fresh (or at least sample-free) databases; the Citus one is
migrated and distributed (``discovery-wiring citus distribute``) beforehand,
the plain one is migrated by the CLI. Steps, each reported as PASS/FAIL:

1. ``discovery-wiring run`` (the bundled sample), ``health --json`` and
   ``assets --json`` (every page) on both; the results must be equal once the
   generated IDs and times are taken out, and so must the tenant's outcome
   row by row (:func:`canonical`: every raw record with its status,
   validity, cleansed data, errors and the whole asset it links to, every
   asset, the asset counters).
2. Delegation: a new tenant's whole flow (the CLI's import pipeline, then
   health and a page of assets, one transaction) with
   ``citus.log_remote_commands`` on: every remote command goes to the worker
   that holds the tenant's shards, each API call is pushed down as it was sent
   (``SELECT … discovery.<function>(…)``), and there is one BEGIN and one
   COMMIT and nothing else.
3. The same flow left open: before its COMMIT, the tenant's worker holds no
   intermediate results of it (no file, no directory), so that the COMMIT
   has nothing to remove there.
4. Four tenants run the sample at once (one session each): each ends, row by
   row, with the outcome of the quick-start tenant on one server, and each
   session's commands went to its tenant's worker alone (as in 2).
5. Two callers on one flow at once, one delegated and one whose call is not
   (arguments as expressions: the function runs on the coordinator and
   reaches the worker statement by statement): they end, row by row, as one
   serial caller on one server (the tenant lock is a row lock on the worker).
6. ``repair --all --apply --validate`` passes (the NOT VALID keys validate).

Exit status 0 when every step passed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg

from discovery_wiring import DiscoveryClient, Tenant, pipeline
from discovery_wiring.resources import sample_file

VOLATILE_KEYS = {"id", "discovery_flow_id", "master_flow_id", "flow_id", "raw_import_records_id",
                 "created_at", "updated_at", "client_account_id", "engagement_id", "run_id"}
failures: list[str] = []


def check(ok: bool, what: str, detail: str = "") -> None:
    print(f"{'PASS' if ok else 'FAIL'}  {what}" + (f"\n      {detail}" if detail and not ok else ""), flush=True)
    if not ok:
        failures.append(what)


def cli(exe: str, url: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, DISCOVERY_DATABASE_URL=url, COLUMNS="200")
    return subprocess.run([exe, *args], env=env, capture_output=True, text=True)


def strip(value):
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


def all_assets(exe: str, url: str) -> list[dict]:
    assets, page = [], 1
    while True:
        out = cli(exe, url, "assets", "--json", "--page-size", "200", "--page", str(page))
        if out.returncode:
            raise RuntimeError(f"assets failed: {out.stderr}")
        doc = json.loads(out.stdout)
        assets += doc["assets"]
        if page >= int(doc["pagination"]["total_pages"] or 1):
            return sorted((strip(a) for a in assets), key=lambda a: json.dumps(a, sort_keys=True))
        page += 1


# A tenant's outcome row by row, free of generated IDs and times: every raw
# record (by import name and row number) with its status, validity, cleansed
# data and errors, and the whole asset it is linked to (every column but the
# generated IDs and times; its origin named by import and row number); then
# every asset (the same columns); then the tenant's counters.
#
# Three reads of one table each (records with their import, a handful of
# rows), joined by ID here: joined in SQL, the records and assets met as CTE
# scans, and on a worker whose shard statistics did not know the tenant yet
# the planner nested them (100,000 records x 86,814 assets: one CI run spent
# 17 minutes in that comparison).
CANONICAL_RECORDS = """
    SELECT r.id, i.import_name, r.row_number, r.processing_status, r.is_valid, r.is_processed,
           r.cleansed_data, r.validation_errors, r.processing_notes, r.asset_id
      FROM migration.raw_import_records AS r
      JOIN migration.data_imports AS i ON i.client_account_id = r.client_account_id AND i.id = r.data_import_id
     WHERE r.client_account_id = %(t)s"""
CANONICAL_ASSETS = """
    SELECT a.id, a.raw_import_records_id,
           to_jsonb(a) - '{id,client_account_id,engagement_id,discovery_flow_id,master_flow_id,
                           raw_import_records_id,created_at,updated_at,field_mappings_used}'::text[] AS body
      FROM migration.assets AS a
     WHERE a.client_account_id = %(t)s"""
CANONICAL_COUNTS = """
    SELECT c.live, c.asset_type_key || '/' || c.status_key
      FROM migration.asset_counts AS c
     WHERE c.client_account_id = %(t)s AND c.live <> 0"""


def canonical(url: str, client_account_id: uuid.UUID) -> list[tuple]:
    args = {"t": client_account_id}
    with psycopg.connect(url) as conn:
        records = conn.execute(CANONICAL_RECORDS, args).fetchall()
        assets = conn.execute(CANONICAL_ASSETS, args).fetchall()
        counts = conn.execute(CANONICAL_COUNTS, args).fetchall()
    origin = {r[0]: (r[1], r[2]) for r in records}  # record id -> (import, row number)
    asset = {a[0]: (*origin.get(a[1], (None, None)), a[2]) for a in assets}  # -> (origin import, row, body)
    rows = [("record", imp, row, status, valid, processed, cleansed, errors, notes,
             *asset.get(asset_id, (None, None, None)))
            for _, imp, row, status, valid, processed, cleansed, errors, notes, asset_id in records]
    rows += [("asset", *a[:2], None, None, None, None, None, None, None, None, a[2]) for a in asset.values()]
    rows += [("asset_counts", None, live, key, None, None, None, None, None, None, None, None)
             for live, key in counts]
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))


def first_difference(one: list, other: list) -> str:
    for i, (a, b) in enumerate(zip(one, other)):
        if a != b:
            return f"row {i}: {str(a)[:400]}\n      != {str(b)[:400]}"
    return f"{len(one)} rows against {len(other)}"


def compare_sample(exe: str, citus_url: str, plain_url: str) -> None:
    from discovery_wiring.cli import QUICKSTART_CLIENT_ID

    results = {}
    for label, url in (("one server", plain_url), ("citus", citus_url)):
        run = cli(exe, url, "run")
        check(run.returncode == 0, f"discovery-wiring run ({label})", run.stderr.strip()[-2000:])
        if run.returncode:
            return
        health = cli(exe, url, "health", "--json")
        check(health.returncode == 0, f"discovery-wiring health ({label})", health.stderr.strip()[-2000:])
        results[label] = {
            "run": re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "<uuid>", run.stdout),
            "health": strip(json.loads(health.stdout)) if health.returncode == 0 else None,
            "assets": all_assets(exe, url),
            "records": canonical(url, QUICKSTART_CLIENT_ID),
        }
    one, dist = results["one server"], results["citus"]
    check(one["run"] == dist["run"], "run: the same printed outcome (IDs aside)",
          f"one server:\n{one['run']}\ncitus:\n{dist['run']}")
    check(one["health"] == dist["health"] and dist["health"]["health_status"] == "healthy",
          "health: equal, and healthy", f"{one['health']} != {dist['health']}")
    check(one["assets"] == dist["assets"] and len(one["assets"]) > 0,
          f"assets: the same {len(one['assets'])} assets (IDs and times aside)")
    check(one["records"] == dist["records"] and len(one["records"]) > 0,
          f"records, assets, counters: row by row the same ({len(one['records'])} rows)",
          first_difference(one["records"], dist["records"]))


def _sample_flow(client: DiscoveryClient, tenant: Tenant) -> None:
    """What the CLI's `run` does for ``tenant`` (the caller commits): the
    bundled sample through the same import pipeline."""
    client.register_tenant(tenant, "e2e", "e2e")
    pipeline.run_import(client, tenant, pipeline.plan_import(sample_file()))


def logged_flow(citus_url: str, tenant: Tenant, extra_calls: bool = False) -> list[tuple[str, str]]:
    """The sample flow of ``tenant`` in one transaction (committed) with
    ``citus.log_remote_commands`` on: the (command, "on server ...") pairs the
    coordinator issued."""
    notices: list[tuple[str, str]] = []
    with psycopg.connect(citus_url) as conn:
        conn.add_notice_handler(lambda d: notices.append((d.message_primary or "", d.message_detail or "")))
        conn.execute("SET citus.log_remote_commands = on")
        conn.execute("SET client_min_messages = notice")
        conn.commit()
        client = DiscoveryClient(conn)
        _sample_flow(client, tenant)
        if extra_calls:
            client.wiring_health(tenant)
            client.list_assets(tenant)
        conn.commit()
    return [(m.removeprefix("issuing ").strip(), d) for m, d in notices if m.startswith("issuing ")]


def check_one_worker(citus_url: str, tenant: Tenant, issued: list[tuple[str, str]], label: str,
                     min_calls: int = 8) -> None:
    """Every command of the tenant's transaction went to the worker holding
    the tenant: one BEGIN, each API call pushed down as it was sent, one COMMIT."""
    servers = {m.group(1).split("@")[-1] for _, d in issued if (m := re.search(r"on server (\S+)", d))}
    # the client's call shapes, pushed down as they are: SELECT f(...), SELECT * FROM f(...)
    # and SELECT col, ... FROM f(...)
    calls = [c for c, _ in issued if re.match(r"SELECT (\S.*? FROM )?discovery\.[a-z_]+\(", c)]
    begins = [c for c, _ in issued if c.startswith("BEGIN")]
    commits = [c for c, _ in issued if c.startswith(("COMMIT", "PREPARE TRANSACTION", "COMMIT PREPARED"))]
    others = [c for c, _ in issued if c not in calls and c not in begins and c not in commits]
    holder = tenant_worker(citus_url, tenant.client_account_id)
    check(servers == {holder}, f"{label}: every command went to the tenant's worker {holder}",
          f"sent to {sorted(servers)}:\n      " + "\n      ".join(f"{c[:150]} [{d}]" for c, d in issued[:40]))
    check(len(calls) >= min_calls, f"{label}: {len(calls)} API calls pushed down as SELECT … discovery.<function>(…)",
          "\n      ".join(c[:150] for c, _ in issued[:40]))
    check(len(begins) == 1 and len(commits) == 1 and not others,
          f"{label}: one BEGIN, one COMMIT, nothing else sent",
          f"begins={len(begins)} commits={commits} others={[o[:150] for o in others[:10]]}")


def check_parallel_tenants(citus_url: str, plain_url: str, count: int = 4) -> None:
    """``count`` tenants run the sample at once, each in its own session: each
    ends exactly as the quick-start tenant on one server (row by row), and each
    session's commands went to its tenant's worker alone."""
    import concurrent.futures

    from discovery_wiring.cli import QUICKSTART_CLIENT_ID

    expected = canonical(plain_url, QUICKSTART_CLIENT_ID)
    tenants = [Tenant(uuid.uuid4(), uuid.uuid4()) for _ in range(count)]
    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        futures = [pool.submit(logged_flow, citus_url, t) for t in tenants]
        errors = [f.exception() for f in futures if f.exception() is not None]
    check(not errors, f"{count} tenants in parallel: no error", "; ".join(str(e)[:300] for e in errors))
    if errors:
        return
    workers = set()
    for i, (tenant, future) in enumerate(zip(tenants, futures)):
        check_one_worker(citus_url, tenant, future.result(), f"parallel tenant {i + 1}", min_calls=6)
        workers.add(tenant_worker(citus_url, tenant.client_account_id))
        got = canonical(citus_url, tenant.client_account_id)
        check(got == expected, f"parallel tenant {i + 1}: row by row the outcome of one server ({len(got)} rows)",
              first_difference(expected, got))
    print(f"      ({count} tenants on {len(workers)} worker(s): {', '.join(sorted(workers))})")


def _load_sample(client: DiscoveryClient, tenant: Tenant):
    """The sample loaded for ``tenant`` as the CLI's pipeline loads it, without
    the call that creates the assets; returns the flow (the caller commits)."""
    plan = pipeline.plan_import(sample_file())
    client.register_tenant(tenant, "e2e", "e2e")
    imp = client.create_data_import(tenant, import_name=plan.name, import_type=plan.source.format,
                                    filename=str(plan.source.path),
                                    source_system=plan.mappings.profile or "discovery-wiring")
    flow = client.start_discovery_flow(tenant, imp, flow_name=f"import of {plan.name}")
    client.set_field_mappings(tenant, imp, plan.mappings.api_mappings())
    client.add_raw_records(tenant, imp, list(plan.source.records()))
    return flow


NOT_DELEGATED = """SELECT * FROM discovery.create_assets_from_discovery(
    p_client_account_id => (%s::text)::uuid, p_engagement_id => (%s::text)::uuid,
    p_discovery_flow_id => (%s::text)::uuid)"""


def check_call_shapes(citus_url: str, plain_url: str) -> None:
    """Two callers on one flow at once, one delegated (the client's call), one
    not (arguments as expressions: the function runs on the coordinator): they
    end as one serial caller on one server, row by row."""
    import concurrent.futures

    tenant = Tenant(uuid.uuid4(), uuid.uuid4())
    flows = {}
    for label, url in (("one server", plain_url), ("citus", citus_url)):
        with psycopg.connect(url) as conn:
            flows[label] = _load_sample(DiscoveryClient(conn), tenant)
            conn.commit()
    with psycopg.connect(plain_url) as conn:
        DiscoveryClient(conn).create_assets_from_discovery(tenant, flows["one server"].discovery_flow_id)
        conn.commit()
    flow = flows["citus"]

    def delegated():
        with psycopg.connect(citus_url) as conn:
            DiscoveryClient(conn).create_assets_from_discovery(tenant, flow.discovery_flow_id)
            conn.commit()

    def not_delegated():
        with psycopg.connect(citus_url) as conn:
            conn.execute(NOT_DELEGATED, (tenant.client_account_id, tenant.engagement_id, flow.discovery_flow_id))
            conn.commit()

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(not_delegated), pool.submit(delegated)]
        errors = [f.exception() for f in futures if f.exception() is not None]
    check(not errors, "call shapes: a delegated and a non-delegated caller on one flow, no error",
          "; ".join(str(e)[:300] for e in errors))
    if errors:
        return
    one, dist = canonical(plain_url, tenant.client_account_id), canonical(citus_url, tenant.client_account_id)
    check(one == dist and len(one) > 0,
          f"call shapes: they end as one serial caller on one server, row by row ({len(dist)} rows)",
          first_difference(one, dist))


def check_repair(exe: str, citus_url: str) -> None:
    out = cli(exe, citus_url, "repair", "--all", "--apply", "--validate")
    check(out.returncode == 0, "repair --all --apply --validate", (out.stderr or out.stdout).strip()[-2000:])


def tenant_worker(citus_url: str, client_account_id: uuid.UUID) -> str:
    """host:port of the worker holding the tenant's shard of the co-location group."""
    with psycopg.connect(citus_url, autocommit=True) as conn:
        host, port = conn.execute("""
            SELECT p.nodename, p.nodeport
              FROM pg_dist_shard_placement AS p
             WHERE p.shardid = get_shard_id_for_distribution_column('migration.client_accounts', %s)""",
                                  (client_account_id,)).fetchone()
    return f"{host}:{port}"


def check_delegation(citus_url: str) -> None:
    tenant = Tenant(uuid.uuid4(), uuid.uuid4())
    check_one_worker(citus_url, tenant, logged_flow(citus_url, tenant, extra_calls=True), "delegation")


def check_nothing_left_for_commit(citus_url: str) -> None:
    """A tenant's whole flow, left open: before its COMMIT, the tenant's worker
    holds no intermediate results of it (their files went at each statement's
    end, their directory when the delegated call returned), so that COMMIT has
    only the worker's own commit to do (build.sh's patches)."""
    tenant = Tenant(uuid.uuid4(), uuid.uuid4())
    holder = tenant_worker(citus_url, tenant.client_account_id)
    host, port = holder.rsplit(":", 1)
    worker_url = psycopg.conninfo.make_conninfo(citus_url, host=host, port=port)
    with psycopg.connect(citus_url) as conn, psycopg.connect(worker_url, autocommit=True) as worker:
        _sample_flow(DiscoveryClient(conn), tenant)
        left = [row[0] for row in worker.execute(
            "SELECT d FROM pg_ls_dir('base/pgsql_job_cache') AS d ORDER BY d")]
        conn.commit()
    check(not left, f"before COMMIT: no intermediate results left on the tenant's worker {holder}",
          f"base/pgsql_job_cache holds {left}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--citus-url", required=True)
    parser.add_argument("--plain-url", required=True)
    parser.add_argument("--cli", default=shutil.which("discovery-wiring")
                        or str(Path(sys.executable).with_name("discovery-wiring")))
    args = parser.parse_args()
    compare_sample(args.cli, args.citus_url, args.plain_url)
    try:
        check_delegation(args.citus_url)
    except psycopg.Error as exc:
        check(False, "delegation: a tenant's whole flow", f"[{exc.sqlstate}] {exc}".replace("\n", "\n      "))
    check_nothing_left_for_commit(args.citus_url)
    check_parallel_tenants(args.citus_url, args.plain_url)
    check_call_shapes(args.citus_url, args.plain_url)
    check_repair(args.cli, args.citus_url)
    print(f"\n{len(failures)} check(s) failed" if failures else "\nevery check passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
