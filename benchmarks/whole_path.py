#!/usr/bin/env python3
"""The whole import path, file -> linked assets, through the client, as the CLI runs it.

    DISCOVERY_DATABASE_URL=postgresql://root@127.0.0.1:5432/dw_bench \\
        python benchmarks/whole_path.py --records 100000 [--variants retry,second,session,whole,floor,copy,reads,undo]

Writes N generated CMDB rows (benchmarks/create_assets.py's data, from
``--seed``) to a CSV file, then times, in the same run:

  retry   one whole path into a new tenant whose load is committed before the
          create call (as a backend that loads and creates in two
          transactions), the call rolled back --retry-attempts K times (default
          2; as when the connection drops before COMMIT), then made again and
          committed; the committed call is compared with the first (the
          path's seconds include the rolled-back calls). A
          rolled-back big call leaves the table's new size in the statistics
          (ANALYZE writes it in place) but not its tenant (migration 0013).
          It runs before every other variant: on a fresh database, its first
          call is the database's first big import.
  second  a "second import": --imports K (default 4) whole paths of N records
          each into the same database, one after the other, with no ANALYZE
          between them (tenants A, B, A, C: a new tenant, then the first
          tenant again, then another new one); each is compared with the first.
          Run it on a fresh database (retry, when asked for, comes first).
  session --session-imports K (default 8) whole paths of N records through
          ONE connection, as a backend's pooled session makes them, each into
          a new tenant, each compared with the first. From a function's sixth
          call in a session PL/pgSQL may run its statements with generic plans
          (migration 0012).
  whole   one whole path into a new tenant of the database as it is.
  floor   the physical floor of the same work: COPY of the rows (as JSON) into
          a plain copy of migration.raw_import_records, one INSERT ... SELECT of
          the assets and one UPDATE ... FROM of the records on plain tables
          (primary keys only), COMMIT.
  copy    COPY of the same rows into migration.raw_import_records itself (its
          constraints, indexes and triggers), the reference for loading; rolled back.
  reads   medians of the read calls on the tenant of ``whole``: wiring_health,
          list_assets, list_conflicts, list_raw_records, list_data_imports and
          get_asset (--read-repeats calls each).
  undo    undo_import of the import of ``whole`` (after ``reads``), as a user
          takes back a wrong import: the dry run, then the real run, COMMIT,
          then wiring_health; compared with the whole path's create call.
          Before migration 0014 each row the undo changed rewrote the
          tenant's pending wiring check: quadratic.

A whole path is what ``discovery-wiring run FILE`` does, in a child process
(whose peak RSS is reported): pipeline.plan_import (profile, mappings; the
benchmark's headers are mapped explicitly: PLAN_MAPPING), pipeline.run_import (import, flow,
mappings, records streamed in add_raw_records calls, create_assets_from_discovery),
COMMIT, then wiring_health. Its parts: load (until the create call starts),
create, commit, health. The child also reports how many times each raw record
was written in the transaction (pg_stat_get_xact_tuples_updated / inserted).

Prints one JSON object on stdout; progress goes to stderr. The database is
migrated first when it is not (discovery_wiring.migrate.ensure_migrated). The
server's autovacuum setting is reported: with autovacuum on, it may ANALYZE
between the imports of ``second``, as it would for a user.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from create_assets import (  # noqa: E402  (the same data and set-based statements as create_assets.py)
    BARE_INSERT,
    BARE_UPDATE,
    MAPPINGS,
    UNMAPPED,
    iter_build_records,
    log,
    server_info,
)

try:
    from discovery_wiring import pipeline
    from discovery_wiring.client import DiscoveryClient
    from discovery_wiring.migrate import ensure_migrated
    from discovery_wiring.readers import iter_records
except ImportError:  # run from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python_client"))
    from discovery_wiring import pipeline
    from discovery_wiring.client import DiscoveryClient
    from discovery_wiring.migrate import ensure_migrated
    from discovery_wiring.readers import iter_records

VARIANTS = ("retry", "second", "session", "whole", "floor", "copy", "reads", "undo")
HEADERS = [*MAPPINGS, *UNMAPPED]
# The benchmark's headers, mapped as create_assets.py maps them; the generic
# CMDB profile would make "Serial Number" an external ID (unique per row: no
# record would match another), so it is a custom attribute here, as in the floor.
PLAN_MAPPING = {**MAPPINGS, **{h: h.lower().replace(" ", "_") for h in UNMAPPED}}


def write_csv(path: Path, n: int, seed: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=HEADERS)
        writer.writeheader()
        for row in iter_build_records(n, seed):
            writer.writerow(row)


def checkpoint(admin: psycopg.Connection) -> None:
    try:
        admin.execute("CHECKPOINT")
    except psycopg.errors.InsufficientPrivilege:
        log("  (no privilege to CHECKPOINT: skipped)")


# --------------------------------------------------------------------------- the whole path (child process)

class _TimedClient(DiscoveryClient):
    """The client, noting when the create call starts and ends (the pipeline is untouched)."""

    marks: dict[str, float]

    def create_assets_from_discovery(self, *args, **kwargs):
        self.marks["create_start"] = time.perf_counter()
        try:
            return super().create_assets_from_discovery(*args, **kwargs)
        finally:
            self.marks["create_end"] = time.perf_counter()


def child_whole_path(url: str, path: str, ca: str, eng: str, name: str) -> dict:
    with psycopg.connect(url) as conn:
        return one_path(conn, path, (uuid.UUID(ca), uuid.UUID(eng)), name)


def child_session(url: str, path: str, imports: int) -> list[dict]:
    """``imports`` whole paths through one connection, each into a new tenant."""
    with psycopg.connect(url) as conn:
        runs = []
        for i in range(imports):
            runs.append(one_path(conn, path, (uuid.uuid4(), uuid.uuid4()), f"bench session {i + 1}"))
            log(f"  session import {i + 1} of {imports}: {runs[-1]['seconds']:.1f}s")
        return runs


class _RetryingClient(_TimedClient):
    """The client of a backend that loads and maps an import in one
    transaction and creates the assets in another: the load is committed,
    then the create call is made and rolled back ``attempts`` times (as when
    the connection drops or the caller fails before COMMIT), then made again
    and committed by the path."""

    attempts: int
    rolled_back_s: list[float]
    connection: psycopg.Connection

    def create_assets_from_discovery(self, *args, **kwargs):
        self.marks["load_end"] = time.perf_counter()
        self.connection.commit()
        for _ in range(self.attempts):
            t0 = time.perf_counter()
            super().create_assets_from_discovery(*args, **kwargs)
            self.rolled_back_s.append(time.perf_counter() - t0)
            self.connection.rollback()
        return super().create_assets_from_discovery(*args, **kwargs)


def child_retry(url: str, path: str, attempts: int) -> dict:
    with psycopg.connect(url) as conn:
        client = _RetryingClient(conn)
        client.attempts, client.rolled_back_s, client.connection = attempts, [], conn
        run = one_path(conn, path, (uuid.uuid4(), uuid.uuid4()), "bench retry", client)
        # the path's seconds include the rolled-back calls; its load ends before the first
        run["load_s"] -= client.marks["create_start"] - client.marks["load_end"]
        return {**run, "rolled_back_create_s": client.rolled_back_s}


def one_path(conn: psycopg.Connection, path: str, tenant: tuple[uuid.UUID, uuid.UUID], name: str,
             client: _TimedClient | None = None) -> dict:
    client = client or _TimedClient(conn)
    client.marks = {}
    client.register_tenant(tenant, client_name=name, engagement_name=name)  # idempotent, not timed
    conn.commit()
    t0 = time.perf_counter()
    plan = pipeline.plan_import(path, mapping=PLAN_MAPPING)
    run = pipeline.run_import(client, tenant, plan, import_name=name)
    writes = conn.execute(
        "SELECT pg_stat_get_xact_tuples_inserted('migration.raw_import_records'::regclass),"
        " pg_stat_get_xact_tuples_updated('migration.raw_import_records'::regclass)").fetchone()
    t1 = time.perf_counter()
    conn.commit()
    t2 = time.perf_counter()
    health = client.wiring_health(tenant)
    conn.commit()
    t3 = time.perf_counter()
    backend_mb = backend_memory_mb(conn)
    m = client.marks
    r = run.result
    return {
        "seconds": t3 - t0, "load_s": m["create_start"] - t0, "create_s": m["create_end"] - m["create_start"],
        "commit_s": t2 - t1, "health_s": t3 - t2, "records": run.loaded,
        "outcomes": {"created": r.created, "matched": r.matched, "conflicts": r.conflicts, "invalid": r.invalid,
                     "already_linked": r.already_linked, "updated": r.updated},
        "health_status": health["health_status"], "raw_inserts": writes[0], "raw_updates": writes[1],
        "data_import_id": str(run.data_import_id), "discovery_flow_id": str(run.flow.discovery_flow_id),
        "client_peak_rss_mb": peak_rss_mb(), "backend_memory_mb": backend_mb,
    }


def backend_memory_mb(conn: psycopg.Connection) -> float | None:
    """What the memory contexts of this session's server process hold now
    (None for a role that may not read pg_backend_memory_contexts)."""
    try:
        mb = conn.execute("SELECT sum(total_bytes) / 1048576.0 FROM pg_catalog.pg_backend_memory_contexts"
                          ).fetchone()[0]
    except psycopg.errors.InsufficientPrivilege:
        conn.rollback()
        return None
    conn.commit()
    return round(float(mb), 1)


def peak_rss_mb() -> float:
    """This process's peak RSS. Linux keeps ru_maxrss across execve, so in a
    child it would report the parent's peak (the generator of the rows) when
    that was higher; VmHWM belongs to the process's own memory map."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def whole_path(url: str, path: Path, tenant: tuple[uuid.UUID, uuid.UUID], name: str) -> dict:
    """One whole path in a child process (its peak RSS is the client's alone)."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(path), str(tenant[0]), str(tenant[1]), name],
        env={**os.environ, "DISCOVERY_DATABASE_URL": url}, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


# --------------------------------------------------------------------------- the floor and COPY

def copy_rows(cur: psycopg.Cursor, table: str, path: Path, ids: tuple) -> int:
    n = 0
    with cur.copy(f"COPY {table} (client_account_id, engagement_id, data_import_id, row_number, raw_data)"
                  " FROM STDIN") as cp:
        for n, record in enumerate(iter_records(path), start=1):
            cp.write_row((*ids, n, json.dumps(record)))
    return n


def run_floor(url: str, admin: psycopg.Connection, path: Path) -> dict:
    admin.execute("DROP SCHEMA IF EXISTS bench_floor CASCADE")
    admin.execute("CREATE SCHEMA bench_floor")
    for table in ("assets", "raw_import_records"):
        admin.execute(f"CREATE TABLE bench_floor.{table} (LIKE migration.{table} INCLUDING DEFAULTS)")
        admin.execute(f"ALTER TABLE bench_floor.{table} ADD PRIMARY KEY (client_account_id, id)")
    checkpoint(admin)
    ca, eng, imp, flow, master = (uuid.uuid4() for _ in range(5))
    args = {"ca": ca, "imp": imp, "flow": flow, "master": master}
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        t0 = time.perf_counter()
        n = copy_rows(cur, "bench_floor.raw_import_records", path, (ca, eng, imp))
        t1 = time.perf_counter()
        inserted = cur.execute(BARE_INSERT.format(assets="bench_floor.assets", raw="bench_floor.raw_import_records"),
                               args).rowcount
        t2 = time.perf_counter()
        cur.execute(BARE_UPDATE.format(raw="bench_floor.raw_import_records"), args)
        t3 = time.perf_counter()
        conn.commit()
        t4 = time.perf_counter()
    admin.execute("DROP SCHEMA bench_floor CASCADE")
    return {"seconds": t4 - t0, "copy_s": t1 - t0, "insert_s": t2 - t1, "update_s": t3 - t2, "commit_s": t4 - t3,
            "records": n, "assets_inserted": inserted}


def run_copy(url: str, admin: psycopg.Connection, path: Path) -> dict:
    """COPY into migration.raw_import_records of an import made through the API; rolled back."""
    checkpoint(admin)
    tenant = (uuid.uuid4(), uuid.uuid4())
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        client = DiscoveryClient(conn)
        client.register_tenant(tenant, client_name="bench copy", engagement_name="bench copy")
        imp = client.create_data_import(tenant, import_name="copy", import_type="csv", filename=path.name)
        t0 = time.perf_counter()
        n = copy_rows(cur, "migration.raw_import_records", path, (*tenant, imp))
        t1 = time.perf_counter()
        conn.rollback()
    return {"seconds": t1 - t0, "records": n}


# --------------------------------------------------------------------------- reads

def timed_median(fn, repeats: int) -> float:
    fn()  # first call: plans and caches, not counted
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def run_reads(url: str, tenant: tuple, data_import_id: str, flow_id: str, repeats: int) -> dict:
    with psycopg.connect(url, autocommit=True) as conn:
        client = DiscoveryClient(conn)
        total = client.list_assets(tenant).total_count
        pages = max(1, (total + 49) // 50)
        asset_ids = [a["id"] for a in client.list_assets(tenant, page=max(1, pages // 2)).assets]
        rnd = random.Random(1)
        imp, flow = uuid.UUID(data_import_id), uuid.UUID(flow_id)
        ms = {
            "wiring_health": timed_median(lambda: client.wiring_health(tenant), repeats),
            "list_assets": timed_median(lambda: client.list_assets(tenant), repeats),
            "list_assets_flow": timed_median(lambda: client.list_assets(tenant, flow_id=flow), repeats),
            "list_assets_middle_page": timed_median(lambda: client.list_assets(tenant, page=max(1, pages // 2)),
                                                    repeats),
            "list_conflicts": timed_median(lambda: client.list_conflicts(tenant), repeats),
            "list_raw_records": timed_median(lambda: client.list_raw_records(tenant, data_import_id=imp), repeats),
            "list_raw_records_invalid": timed_median(
                lambda: client.list_raw_records(tenant, data_import_id=imp, outcome="invalid"), repeats),
            "list_data_imports": timed_median(lambda: client.list_data_imports(tenant), repeats),
            "get_asset": timed_median(lambda: client.get_asset(tenant, rnd.choice(asset_ids)), repeats),
        }
        rows = conn.execute("SELECT (SELECT count(*) FROM migration.assets),"
                            " (SELECT count(*) FROM migration.raw_import_records),"
                            " (SELECT count(DISTINCT client_account_id) FROM migration.assets)").fetchone()
    return {"median_ms": {k: round(v, 2) for k, v in ms.items()}, "tenant_assets": total,
            "database_assets": rows[0], "database_raw_records": rows[1], "database_tenants": rows[2]}


def run_undo(url: str, tenant: tuple, data_import_id: str) -> dict:
    """undo_import of one import: the dry run, then the real run and its COMMIT, then the health."""
    with psycopg.connect(url) as conn:
        client = DiscoveryClient(conn)
        imp = uuid.UUID(data_import_id)
        t0 = time.perf_counter()
        dry = client.undo_import(tenant, imp, dry_run=True).counts
        conn.rollback()
        t1 = time.perf_counter()
        done = client.undo_import(tenant, imp, dry_run=False).counts
        t2 = time.perf_counter()
        conn.commit()
        t3 = time.perf_counter()
        health = client.wiring_health(tenant)
        conn.commit()
    return {"dry_run_s": t1 - t0, "undo_s": t2 - t1, "commit_s": t3 - t2, "counts": done,
            "dry_run_counts_equal": dry == done, "health_status": health["health_status"]}


# --------------------------------------------------------------------------- main

def r3(x):
    return round(x, 3) if isinstance(x, float) else x


def ratio(a, b):
    return None if a is None or not b else round(a / b, 3)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        print(json.dumps(child_whole_path(os.environ["DISCOVERY_DATABASE_URL"], *argv[1:5])))
        return 0
    if argv and argv[0] == "--child-retry":
        print(json.dumps(child_retry(os.environ["DISCOVERY_DATABASE_URL"], argv[1], int(argv[2]))))
        return 0
    if argv and argv[0] == "--child-session":
        print(json.dumps(child_session(os.environ["DISCOVERY_DATABASE_URL"], argv[1], int(argv[2]))))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", "-n", type=int, required=True, help="records per import (N)")
    ap.add_argument("--seed", type=int, default=42, help="seed of the generated data (default 42)")
    ap.add_argument("--imports", type=int, default=4, help="imports of the second variant (default 4)")
    ap.add_argument("--session-imports", type=int, default=8,
                    help="imports of the session variant, through one connection (default 8)")
    ap.add_argument("--retry-attempts", type=int, default=2,
                    help="whole paths of the retry variant rolled back before the committed one (default 2)")
    ap.add_argument("--read-repeats", type=int, default=21, help="calls per read, after one untimed (default 21)")
    ap.add_argument("--variants", default="retry,second,session,whole,floor,copy,reads,undo",
                    help=f"comma-separated subset of {','.join(VARIANTS)}")
    args = ap.parse_args(argv)
    url = os.environ.get("DISCOVERY_DATABASE_URL")
    if not url:
        ap.error("DISCOVERY_DATABASE_URL is required (a libpq URI of the database to benchmark)")
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if bad := [v for v in variants if v not in VARIANTS]:
        ap.error(f"unknown variant(s): {', '.join(bad)}")
    for needs_whole in ("reads", "undo"):
        if needs_whole in variants and "whole" not in variants:
            ap.error(f"{needs_whole} needs whole (it works on the tenant whole created)")
    n = args.records
    migrated = ensure_migrated(url)
    result: dict = {"records": n, "seed": args.seed,
                    "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "load_average": list(os.getloadavg())}
    with tempfile.TemporaryDirectory(prefix="dw_bench_") as tmp, psycopg.connect(url, autocommit=True) as admin:
        result["server"] = server_info(admin)
        result["server"]["autovacuum"] = admin.execute("SHOW autovacuum").fetchone()[0]
        files: dict[int, Path] = {}

        def data_file(seed: int) -> Path:
            if seed not in files:
                files[seed] = Path(tmp) / f"cmdb_{n}_{seed}.csv"
                log(f"writing {n} rows (seed {seed}) to {files[seed].name}")
                write_csv(files[seed], n, seed)
            return files[seed]

        if "retry" in variants:
            checkpoint(admin)
            log(f"retry: a whole path whose create call is rolled back {args.retry_attempts} time(s), then committed")
            out = subprocess.run(
                [sys.executable, __file__, "--child-retry", str(data_file(args.seed)), str(args.retry_attempts)],
                env={**os.environ, "DISCOVERY_DATABASE_URL": url}, check=True, stdout=subprocess.PIPE, text=True)
            retry = json.loads(out.stdout)
            result["retry"] = {k: r3(v) for k, v in retry.items()}
            result["retry"]["rolled_back_create_s"] = [r3(x) for x in retry["rolled_back_create_s"]]
            result["retry"]["create_ratio_to_first_attempt"] = ratio(retry["create_s"],
                                                                     retry["rolled_back_create_s"][0])
            log(f"  {retry['seconds']:.1f}s; create calls {[round(x, 1) for x in retry['rolled_back_create_s']]}"
                f" rolled back, {retry['create_s']:.1f}s committed")
        if "second" in variants:
            tenants = {k: (uuid.uuid4(), uuid.uuid4()) for k in "ABC"}
            order = ("A", "B", "A", "C")
            runs = []
            for i in range(args.imports):
                key = order[i % len(order)]
                checkpoint(admin)
                log(f"second: import {i + 1} of {args.imports} (tenant {key})")
                runs.append({"tenant": key, **whole_path(url, data_file(args.seed + i), tenants[key],
                                                         f"bench second {key}{i + 1}")})
                log(f"  {runs[-1]['seconds']:.1f}s")
            first = runs[0]["seconds"]
            result["second"] = {"imports": [{k: r3(v) for k, v in r.items()} for r in runs],
                                "ratios_to_first": [ratio(r["seconds"], first) for r in runs]}
        path = data_file(args.seed)
        if "session" in variants:
            checkpoint(admin)
            log(f"session: {args.session_imports} imports through one connection")
            out = subprocess.run(
                [sys.executable, __file__, "--child-session", str(path), str(args.session_imports)],
                env={**os.environ, "DISCOVERY_DATABASE_URL": url}, check=True, stdout=subprocess.PIPE, text=True)
            runs = json.loads(out.stdout)
            first = runs[0]["seconds"]
            result["session"] = {"imports": [{k: r3(v) for k, v in r.items()} for r in runs],
                                 "ratios_to_first": [ratio(r["seconds"], first) for r in runs],
                                 "create_ratios_to_first": [ratio(r["create_s"], runs[0]["create_s"]) for r in runs]}
        if "whole" in variants:
            checkpoint(admin)
            tenant = (uuid.uuid4(), uuid.uuid4())
            log("whole path")
            whole = whole_path(url, path, tenant, "bench whole")
            result["whole"] = {k: r3(v) for k, v in whole.items()}
            log(f"  {whole['seconds']:.1f}s")
        if "floor" in variants:
            log("floor")
            result["floor"] = {k: r3(v) for k, v in run_floor(url, admin, path).items()}
            log(f"  {result['floor']['seconds']:.1f}s")
        if "copy" in variants:
            log("COPY into migration.raw_import_records")
            result["copy"] = {k: r3(v) for k, v in run_copy(url, admin, path).items()}
            log(f"  {result['copy']['seconds']:.1f}s")
        if "reads" in variants:
            log("reads")
            result["reads"] = run_reads(url, tenant, whole["data_import_id"], whole["discovery_flow_id"],
                                        args.read_repeats)
        if "undo" in variants:
            checkpoint(admin)
            log("undo_import of the whole path's import")
            undo = run_undo(url, tenant, whole["data_import_id"])
            result["undo"] = {k: r3(v) for k, v in undo.items()}
            log(f"  dry run {undo['dry_run_s']:.1f}s, undo {undo['undo_s']:.1f}s, COMMIT {undo['commit_s']:.1f}s")
    whole_s = result.get("whole", {}).get("seconds")
    floor = result.get("floor", {})
    load_s = result.get("whole", {}).get("load_s")
    result["ratios"] = {
        "whole_vs_floor": ratio(whole_s, floor.get("seconds")),
        "load_speed_vs_copy_into_raw_import_records": ratio(result.get("copy", {}).get("seconds"), load_s),
        "load_speed_vs_copy_into_plain_table": ratio(floor.get("copy_s"), load_s),
        "second_import_max_vs_first": max(result["second"]["ratios_to_first"]) if "second" in result else None,
        "session_import_max_vs_first": max(result["session"]["ratios_to_first"]) if "session" in result else None,
        "retry_create_vs_first_attempt": result.get("retry", {}).get("create_ratio_to_first_attempt"),
        "undo_vs_create": ratio(result.get("undo", {}).get("undo_s"), result.get("whole", {}).get("create_s")),
    }
    result["client"] = {"python": platform.python_version(), "psycopg": psycopg.__version__,
                        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs"}
    result["load_average_after"] = list(os.getloadavg())
    if migrated:
        result["database_migrated_first"] = True
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
