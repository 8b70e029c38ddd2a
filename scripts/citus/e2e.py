#!/usr/bin/env python3
"""End to end on a Citus cluster, compared with one PostgreSQL server.

    python scripts/citus/e2e.py --citus-url URL --plain-url URL [--cli PATH]

Both URLs name fresh (or at least sample-free) databases; the Citus one is
migrated and distributed (``discovery-wiring citus distribute``) beforehand,
the plain one is migrated by the CLI. Steps, each reported as PASS/FAIL:

1. ``discovery-wiring run`` (the bundled sample), ``health --json`` and
   ``assets --json`` (every page) on both; the results must be equal once the
   generated IDs and times are taken out, and so must the canonical outcome
   of every raw record (row_number -> status, validity, linked asset's name).
2. Delegation: a new tenant's whole flow (the CLI's calls, one transaction)
   with ``citus.log_remote_commands`` on: every remote command of the
   transaction goes to ONE worker, each API call is pushed down as
   ``SELECT discovery.<function>(...)``, and there is one BEGIN and one COMMIT.
3. Four tenants run the sample at once (one session each): each ends with the
   outcome of the quick-start tenant on one server.
4. ``repair --all --apply --validate`` passes (the NOT VALID keys validate).

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

from discovery_wiring import DiscoveryClient, Tenant
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


CANONICAL = """
    SELECT r.row_number, r.processing_status, r.is_valid, r.is_processed, a.name, a.asset_type
      FROM migration.raw_import_records AS r
      LEFT JOIN migration.assets AS a
        ON a.client_account_id = r.client_account_id AND a.id = r.asset_id
     WHERE r.client_account_id = %s
     ORDER BY r.data_import_id IS NULL, r.row_number"""


def canonical(url: str, client_account_id: uuid.UUID) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(CANONICAL, (client_account_id,)).fetchall()


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
    check(one["records"] == dist["records"], f"raw records: the same outcome for all {len(one['records'])}")


def _sample_flow(client: DiscoveryClient, tenant: Tenant) -> None:
    """The CLI's `run`, call by call, for ``tenant`` (the caller commits)."""
    client.register_tenant(tenant, "e2e", "e2e")
    imp = client.create_data_import(tenant, import_name="sample", import_type="csv", filename="sample.csv")
    client.load_file(tenant, imp, sample_file())
    flow = client.start_discovery_flow(tenant, imp)
    suggestions = client.suggest_field_mappings(tenant, imp)
    client.set_field_mappings(tenant, imp, [{"source_field": s.source_field, "target_field": s.target_field}
                                           for s in suggestions if s.target_field])
    client.cleanse_records(tenant, flow.discovery_flow_id)
    client.create_assets_from_discovery(tenant, flow.discovery_flow_id)


def check_parallel_tenants(citus_url: str, plain_url: str, count: int = 4) -> None:
    """``count`` tenants run the sample at once, each in its own session: each
    ends exactly as the quick-start tenant on one server."""
    import concurrent.futures

    from discovery_wiring.cli import QUICKSTART_CLIENT_ID

    expected = canonical(plain_url, QUICKSTART_CLIENT_ID)
    tenants = [Tenant(uuid.uuid4(), uuid.uuid4()) for _ in range(count)]

    def one(tenant: Tenant) -> None:
        with psycopg.connect(citus_url) as conn:
            _sample_flow(DiscoveryClient(conn), tenant)
            conn.commit()

    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        futures = [pool.submit(one, t) for t in tenants]
        errors = [f.exception() for f in futures if f.exception() is not None]
    check(not errors, f"{count} tenants in parallel: no error", "; ".join(str(e)[:300] for e in errors))
    if errors:
        return
    same = [canonical(citus_url, t.client_account_id) == expected for t in tenants]
    check(all(same), f"{count} tenants in parallel: each the same outcome as one server ({sum(same)}/{count})")


def check_repair(exe: str, citus_url: str) -> None:
    out = cli(exe, citus_url, "repair", "--all", "--apply", "--validate")
    check(out.returncode == 0, "repair --all --apply --validate", (out.stderr or out.stdout).strip()[-2000:])


def check_delegation(citus_url: str) -> None:
    tenant = Tenant(uuid.uuid4(), uuid.uuid4())
    notices: list[tuple[str, str]] = []
    with psycopg.connect(citus_url) as conn:
        conn.add_notice_handler(lambda d: notices.append((d.message_primary or "", d.message_detail or "")))
        conn.execute("SET citus.log_remote_commands = on")
        conn.execute("SET client_min_messages = notice")
        conn.commit()
        client = DiscoveryClient(conn)
        _sample_flow(client, tenant)
        client.wiring_health(tenant)
        client.list_assets(tenant)
        conn.commit()
    issued = [(m.removeprefix("issuing ").strip(), d) for m, d in notices if m.startswith("issuing ")]
    servers = {m.group(1) for _, d in issued if (m := re.search(r"on server (\S+)", d))}
    calls = [c for c, _ in issued if re.match(r"SELECT (\* FROM )?discovery\.", c)]
    begins = [c for c, _ in issued if c.startswith("BEGIN")]
    commits = [c for c, _ in issued if c.startswith(("COMMIT", "PREPARE TRANSACTION", "COMMIT PREPARED"))]
    others = [c for c, _ in issued if c not in calls and c not in begins and c not in commits]
    check(len(servers) == 1, f"delegation: the tenant's transaction went to one worker ({', '.join(sorted(servers))})",
          "\n      ".join(f"{c[:150]} [{d}]" for c, d in issued[:40]))
    check(len(calls) >= 9, f"delegation: {len(calls)} API calls pushed down as SELECT discovery.<function>(…)",
          "\n      ".join(c[:150] for c, _ in issued[:40]))
    check(len(begins) == 1 and len(commits) == 1 and not others,
          "delegation: one BEGIN, one COMMIT, nothing else sent",
          f"begins={len(begins)} commits={commits} others={[o[:150] for o in others[:10]]}")


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
    check_parallel_tenants(args.citus_url, args.plain_url)
    check_repair(args.cli, args.citus_url)
    print(f"\n{len(failures)} check(s) failed" if failures else "\nevery check passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
