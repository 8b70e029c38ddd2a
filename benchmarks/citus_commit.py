#!/usr/bin/env python3
"""The benchmark flow on a Citus cluster against one server: same outcome, COMMIT cost.

    python benchmarks/citus_commit.py --citus-url URL --plain-url URL [--records 100000] [--seed 42]

Both URLs name migrated databases (the Citus one distributed: ``discovery-wiring
citus distribute``). Two parts, on each database:

1. ``cli``: the N deterministic CMDB-like records of benchmarks/create_assets.py
   written to a CSV file and imported with ``discovery-wiring run FILE
   --mapping`` (the benchmark's mappings) for one tenant; then the tenant's
   outcome row by row (scripts/citus/e2e.py: every record with its status,
   cleansed data and linked asset, every asset, the counters) must be equal.
2. ``commit``: the benchmark's ``api`` variant: a fresh tenant loaded through
   the API and committed, a CHECKPOINT on every node, then
   ``create_assets_from_discovery`` timed apart from its ``COMMIT`` (where
   deferred wiring checks would run).
   ``--commit-runs`` repeats it (the figures are per run).

Prints one JSON object on stdout (progress on stderr); exit status 1 when the
outcomes differ or a step fails. ``--parts`` picks the parts (default both).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "scripts" / "citus")]

import create_assets as bench  # noqa: E402  (benchmarks/create_assets.py: records, mappings, the api variant)
import e2e  # noqa: E402  (scripts/citus/e2e.py: the canonical outcome of a tenant)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def write_inputs(records: list[dict], folder: Path) -> tuple[Path, Path]:
    data, mapping = folder / "cmdb_export.csv", folder / "mapping.json"
    headers = list(dict.fromkeys(k for r in records for k in r))
    with data.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=headers)
        writer.writeheader()
        writer.writerows(records)
    mapping.write_text(json.dumps(bench.MAPPINGS), encoding="utf-8")
    return data, mapping


def cli_part(exe: str, urls: dict[str, str], records: list[dict]) -> dict:
    tenant = e2e.Tenant(uuid.uuid4(), uuid.uuid4())
    out: dict = {"tenant": str(tenant.client_account_id)}
    with tempfile.TemporaryDirectory(prefix="dw_citus_bench_") as folder:
        data, mapping = write_inputs(records, Path(folder))
        for label, url in urls.items():
            log(f"cli: discovery-wiring run ({label}, {len(records)} records)")
            t0 = time.perf_counter()
            run = e2e.cli(exe, url, "run", str(data), "--mapping", str(mapping),
                          "--client-id", str(tenant.client_account_id),
                          "--engagement-id", str(tenant.engagement_id))
            out[f"{label}_run_s"] = round(time.perf_counter() - t0, 3)
            if run.returncode:
                raise RuntimeError(f"discovery-wiring run failed on {label}: {run.stderr.strip()[-2000:]}")
    log("cli: comparing the outcomes row by row")
    one = e2e.canonical(urls["one_server"], tenant.client_account_id)
    dist = e2e.canonical(urls["citus"], tenant.client_account_id)
    out["rows_compared"] = len(one)
    out["same_outcome"] = one == dist and len(one) > 0
    if not out["same_outcome"]:
        out["first_difference"] = e2e.first_difference(one, dist)
    return out


DURABILITY = "SELECT current_setting('fsync') || ' fsync, synchronous_commit ' || current_setting('synchronous_commit')"


def on_every_node(url: str, command: str) -> dict[str, str]:
    """``command`` on the server, and on each worker of a Citus coordinator:
    each node's result ("server" for the one the URL names)."""
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(command)
        nodes = {"server": cur.fetchone()[0] if cur.description else cur.statusmessage}
        if conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'citus'").fetchone()[0]:
            for name, port, ok, result in conn.execute(
                    "SELECT nodename, nodeport, success, result FROM run_command_on_workers(%s)", (command,)):
                if not ok:
                    raise RuntimeError(f"{command} on {name}:{port}: {result}")
                nodes[f"{name}:{port}"] = result
    return nodes


def durability(url: str) -> dict[str, str]:
    """fsync and synchronous_commit of each node: a COMMIT's WAL flush is most of its time."""
    return on_every_node(url, DURABILITY)


def checkpoint_nodes(url: str) -> None:
    """CHECKPOINT on every node (untimed, before each call): a COMMIT is mostly
    its WAL flush, which shares the disk with whatever is being written then;
    without it, a run's COMMIT competed with the checkpoint of the runs before
    it (one server 1.0-1.5 ms, the cluster 3.6-145 ms, in one run of this
    script on 2026-12-02)."""
    on_every_node(url, "CHECKPOINT")


def read_only_commit_ms(conn: psycopg.Connection, t: dict, repeats: int = 200) -> float:
    """Median COMMIT after a read call (wiring_health) of the tenant: no WAL to
    flush, so on the cluster this is the coordinator's round trip to the
    worker, the part of a COMMIT that one server does not have."""
    times = []
    for _ in range(repeats):
        conn.execute("SELECT discovery.wiring_health(p_client_account_id => %s, p_engagement_id => %s)",
                     (t["client_account_id"], t["engagement_id"])).fetchone()
        t0 = time.perf_counter()
        conn.commit()
        times.append(time.perf_counter() - t0)
    return round(sorted(times)[len(times) // 2] * 1000, 3)


def commit_part(urls: dict[str, str], records: list[dict], seed: int, runs: int) -> dict:
    out: dict = {"durability": {label: durability(url) for label, url in urls.items()}}
    raw: dict = {}
    for label, url in urls.items():
        figures = []
        for i in range(runs):
            with psycopg.connect(url) as conn:
                log(f"commit: loading a tenant ({label}, run {i + 1})")
                t = bench.load_tenant(conn, "citus_commit", records, seed)
                checkpoint_nodes(url)
                log(f"commit: create_assets_from_discovery + COMMIT ({label}, run {i + 1})")
                figures.append(bench.run_api(conn, t, []))
                if i == runs - 1:
                    out.setdefault("read_only_commit_ms_median", {})[label] = read_only_commit_ms(conn, t)
        raw[label] = figures
        # COMMIT takes about a millisecond: to a tenth of one (the ratio from the unrounded times)
        out[label] = [{k: round(v, 4) if isinstance(v, float) else v for k, v in f.items()} for f in figures]
    best = {label: min(f["commit_s"] for f in raw[label]) for label in urls}
    out["commit_s_best"] = {label: round(v, 4) for label, v in best.items()}
    out["commit_ratio"] = round(best["citus"] / max(best["one_server"], 1e-4), 2)
    out["call_s_best"] = {label: min(f["call_s"] for f in out[label]) for label in urls}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--citus-url", required=True)
    parser.add_argument("--plain-url", required=True)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--commit-runs", type=int, default=1)
    parser.add_argument("--parts", default="cli,commit")
    parser.add_argument("--cli", default=str(Path(sys.executable).with_name("discovery-wiring")))
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    urls = {"one_server": args.plain_url, "citus": args.citus_url}
    log(f"building {args.records} records (seed {args.seed})")
    records = bench.build_records(args.records, args.seed)
    result: dict = {"records": args.records, "seed": args.seed,
                    "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "machine": f"{os.uname().machine}, {os.cpu_count()} CPUs"}
    ok = True
    if "cli" in parts:
        result["cli"] = cli_part(args.cli, urls, records)
        ok &= result["cli"]["same_outcome"]
    if "commit" in parts:
        result["commit"] = commit_part(urls, records, args.seed, args.commit_runs)
    print(json.dumps(result, indent=2, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
