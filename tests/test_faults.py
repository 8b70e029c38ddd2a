"""A call of create_assets_from_discovery killed at any moment leaves no trace
(issue 3, acceptance 2): no asset, no link, no run row, no flow flag.

A database holds a committed 100,000-record flow (and a small settled tenant
beside it). The duration of one uncommitted call, and of its COMMIT (the
deferred wiring checks), are measured first; then the database is copied
(DW_FAULT_LANES copies in all, default 2, killed in parallel, so that fifty
kills fit the test run's time budget on two cores), and the call is killed
again and again: ``pg_terminate_backend``
from a second connection at moments spread uniformly over the call
(stratified: one moment drawn in each of as many equal slices of the call as
there are such kills, dealt to the copies in turn), every tenth kill instead
landing while the caller's COMMIT runs; a ``statement_timeout`` mid-call
(PostgreSQL does not time COMMIT itself); a client-side cancel; a client that
vanishes. After each, every table of schema `migration` is exactly as before
(row count and two 64-bit content hashes per table; the 100,000 raw records
by their visible tuple versions, which any committed change replaces; full
md5s at the start and the end), and no advisory lock is left.

The API checks its own writes inside the call, so its COMMIT has no work of
its own before the commit record (only the WAL flush, a few milliseconds): no
kill could be aimed inside it. The lane's database therefore gets a deferred
trigger of the test's own that spends 0.3 s at COMMIT, before the commit
record, where a kill must still leave no trace.

Each aborted call leaves some 175,000 dead row versions behind; the copy is
vacuumed after each kill (as autovacuum would, later), so that every kill
meets the table the first one met.

Sizes: DW_FAULT_RECORDS (default 100,000), DW_FAULT_KILLS (default 50, the
acceptance figure), DW_FAULT_LANES (default 2).
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from _support import (
    add_raw_records,
    cloned_database,
    create_assets,
    create_data_import,
    fingerprint,
    j,
    md5_tables,
    new_tenant,
    row,
    run_flow,
    start_discovery_flow,
    val,
)

pytestmark = pytest.mark.xdist_group("faults")  # one worker builds the 100,000 records once

N_RECORDS = int(os.environ.get("DW_FAULT_RECORDS", "100000"))
N_KILLS = int(os.environ.get("DW_FAULT_KILLS", "50"))
N_LANES = max(1, int(os.environ.get("DW_FAULT_LANES", "2")))
COMMIT_EVERY = 10  # every tenth kill lands in the caller's COMMIT
BIG = ("raw_import_records",)  # fingerprinted by tuple versions (see _support.fingerprint)


def records(n: int) -> list[dict[str, Any]]:
    """Duplicated hostnames (matches within the call) and a few invalid rows."""
    return [{"hostname": f"node-{i % (n * 3 // 4):06d}", "ip_address": f"10.{i // 65536}.{i // 256 % 256}.{i % 256}",
             "operating_system": "linux"} if i % 997 else {"environment": "prod"} for i in range(n)]


class Lane:
    """One copy of the database, and what was measured in it. call_seconds
    is the latest full call seen in this copy: the other tests of the run
    load the machine unevenly, so every call that returns before its kill
    (or before its COMMIT) updates it."""

    def __init__(self, url: str, tenant: Any, flow: dict[str, Any]):
        self.url, self.tenant, self.flow = url, tenant, flow
        self.call_seconds = 0.0
        self.commit_seconds = 0.0
        self.light: dict = {}
        self.md5: dict = {}

    def snapshot(self) -> None:
        with psycopg.connect(self.url) as conn:
            self.light = fingerprint(conn, light=BIG)
            self.md5 = md5_tables(conn)

    def assert_unchanged(self, conn, what: str, pid: int | None = None) -> None:
        if pid is not None:
            wait_gone(conn, pid)
        assert fingerprint(conn, light=BIG) == self.light, f"the database changed after {what}"
        assert val(conn, "select count(*) from pg_catalog.pg_locks where locktype = 'advisory'"
                         " and database = (select oid from pg_catalog.pg_database"
                         "                  where datname = current_database())") == 0, \
            f"an advisory lock outlived {what}"
        conn.rollback()

    def vacuum(self) -> None:
        """Reclaim the dead row versions an aborted call leaves (as autovacuum
        would, later); live rows keep their ctid and xmin."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("vacuum migration.raw_import_records, migration.assets")


def wait_gone(conn, pid: int, timeout: float = 60) -> None:
    """Until backend ``pid`` has exited (a terminated backend finishes its
    abort asynchronously)."""
    deadline = time.monotonic() + timeout
    while val(conn, "select count(*) from pg_catalog.pg_stat_activity where pid = %s", (pid,)):
        conn.rollback()
        assert time.monotonic() < deadline, f"backend {pid} is still there"
        time.sleep(0.02)
    conn.rollback()


def load(url: str) -> tuple[Any, dict[str, Any]]:
    with psycopg.connect(url) as conn:
        # a settled tenant beside it: assets, a pending conflict, a finished flow
        other = new_tenant(conn, name="Settled")
        run_flow(conn, other, [{"hostname": "a", "ip_address": "1.1.1.1"}, {"hostname": "b", "ip_address": "1.1.1.2"}])
        run_flow(conn, other, [{"hostname": "a", "ip_address": "1.1.1.2"}, {"hostname": "c"}])
        tenant = new_tenant(conn, name="Big")
        data_import_id = create_data_import(conn, tenant)
        data = records(N_RECORDS)
        for start in range(0, N_RECORDS, 50_000):
            add_raw_records(conn, tenant, data_import_id, j(data[start:start + 50_000]))
        flow = {"data_import_id": data_import_id, **start_discovery_flow(conn, tenant, data_import_id)}
        # COMMIT work to kill into (see the module docstring): the call updates its flow once
        conn.execute("create function public.dw_test_commit_work() returns trigger language plpgsql"
                     " as $$ begin perform pg_sleep(0.3); return null; end $$")
        conn.execute("create constraint trigger dw_test_commit_work after update on migration.discovery_flows"
                     " deferrable initially deferred for each row execute function public.dw_test_commit_work()")
        conn.commit()
        conn.execute("analyze")  # what autovacuum does after a large load
        conn.commit()
    return tenant, flow


def measure(lane: Lane) -> None:
    """One uncommitted call, and its COMMIT work (the deferred checks), timed;
    then rolled back."""
    with psycopg.connect(lane.url) as conn:
        started = time.monotonic()
        result = create_assets(conn, lane.tenant, lane.flow["discovery_flow_id"])
        lane.call_seconds = time.monotonic() - started
        # the COMMIT work: the deferred wiring checks, one per new asset; a
        # plan that rescans the tenant per asset would take hours, so bound it
        limit = max(60.0, 4 * lane.call_seconds)
        conn.execute(f"set statement_timeout = {int(limit * 1000)}")
        started = time.monotonic()
        try:
            conn.execute("set constraints all immediate")
        except psycopg.errors.QueryCanceled:
            conn.rollback()
            pytest.fail(f"the deferred wiring checks of a {N_RECORDS}-record call (the work of its COMMIT) "
                        f"took over {limit:.0f}s; the call itself {lane.call_seconds:.1f}s")
        lane.commit_seconds = time.monotonic() - started
        conn.execute("set statement_timeout = 0")
        conn.rollback()
        assert result["created"] + result["matched"] + result["invalid"] == N_RECORDS
        assert result["invalid"] > 0 and result["matched"] > 0
        lane.vacuum()
        lane.assert_unchanged(conn, "a rolled back call")


@pytest.fixture(scope="module")
def lanes(server_url, template_url):
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(cloned_database(server_url, template_url))
        tenant, flow = load(url)
        first = Lane(url, tenant, flow)
        first.snapshot()
        measure(first)
        copies = [first]
        for _ in range(N_LANES - 1):  # physical copies: same rows, same tuple versions
            lane = Lane(stack.enter_context(cloned_database(server_url, url, file_copy=True)), tenant, flow)
            with psycopg.connect(lane.url) as conn:
                lane.light = fingerprint(conn, light=BIG)
            assert lane.light == first.light
            lane.md5, lane.call_seconds, lane.commit_seconds = first.md5, first.call_seconds, first.commit_seconds
            copies.append(lane)
        print(f"\n{N_RECORDS} records: call {first.call_seconds:.1f}s, deferred checks {first.commit_seconds:.1f}s; "
              f"{len(copies)} copies")
        yield copies
        for lane in copies:
            with psycopg.connect(lane.url) as conn:
                assert md5_tables(conn) == lane.md5, "the database changed during the fault tests"


class Attempt:
    """Runs the call on its own connection (thread A). In mode "call" it never
    commits: after the call returns it waits to be killed (a client that has
    not committed yet). In mode "commit" it commits right after the call."""

    def __init__(self, lane: Lane, mode: str, setup: str | None = None):
        self.lane, self.mode = lane, mode
        self.conn = psycopg.connect(lane.url, autocommit=False)
        if setup:
            self.conn.execute(setup)
            self.conn.commit()
        self.pid = self.conn.info.backend_pid
        self.started = threading.Event()
        self.returned = threading.Event()  # the call returned (the caller has not committed yet)
        self.killed = threading.Event()
        self.error: BaseException | None = None
        self.committed = False
        self.t0 = 0.0
        self.call_seconds: float | None = None  # when the call returned before the kill
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.t0 = time.monotonic()
            self.started.set()
            create_assets(self.conn, self.lane.tenant, self.lane.flow["discovery_flow_id"])
            self.call_seconds = time.monotonic() - self.t0
            self.returned.set()
            if self.mode == "commit":
                self.conn.commit()
                self.committed = True
            else:
                self.killed.wait(120)
                self.conn.execute("select 1")  # the server is gone: this raises
        except BaseException as exc:  # noqa: BLE001
            self.error = exc
        finally:
            self.conn.close()

    def start(self) -> None:
        self.thread.start()
        self.started.wait()

    def join(self) -> None:
        self.thread.join(180)
        assert not self.thread.is_alive(), "the caller hung"


def terminate(admin, pid: int) -> str:
    """pg_terminate_backend, returning what the backend was doing."""
    found = row(admin, "select a.state, a.query, pg_terminate_backend(a.pid) as ok"
                       " from pg_catalog.pg_stat_activity a where a.pid = %s", (pid,))
    admin.rollback()
    if not found or not found["ok"]:
        return "gone"
    if found["query"].strip().upper().startswith("COMMIT") and found["state"] == "active":
        return "commit"
    return "call" if found["state"] == "active" else "idle in transaction"


def wait_for_commit(admin, attempt: Attempt) -> None:
    while attempt.thread.is_alive():
        state = row(admin, "select state, query from pg_catalog.pg_stat_activity where pid = %s", (attempt.pid,))
        admin.rollback()
        if state and state["state"] == "active" and state["query"].strip().upper().startswith("COMMIT"):
            return
        time.sleep(0.01)


@dataclass(frozen=True)
class Kill:
    number: int
    mode: str  # "call": during the call; "commit": during the caller's COMMIT
    fraction: float  # the moment, as a fraction of the call's (or the COMMIT's) measured duration


def kill_plan(rng: random.Random) -> list[Kill]:
    """N_KILLS kills; those during the call at stratified uniform moments."""
    modes = ["commit" if (k + 1) % COMMIT_EVERY == 0 else "call" for k in range(N_KILLS)]
    slots = modes.count("call")
    plan, slot = [], 0
    for number, mode in enumerate(modes):
        if mode == "call":
            plan.append(Kill(number, mode, (slot + rng.random()) / slots))
            slot += 1
        else:
            plan.append(Kill(number, mode, rng.uniform(0, 0.5)))
    return plan


def run_kills(lane: Lane, kills: list[Kill]) -> Counter:
    landed: Counter = Counter()
    with psycopg.connect(lane.url, autocommit=False) as admin:
        for kill in kills:
            attempt = Attempt(lane, kill.mode)
            attempt.start()
            if kill.mode == "call":
                # at the moment drawn, or at once if the call has returned by then
                # (a moment after the call, before its COMMIT: "idle in transaction")
                attempt.returned.wait(max(0.0, kill.fraction * lane.call_seconds - (time.monotonic() - attempt.t0)))
            else:
                wait_for_commit(admin, attempt)
                time.sleep(kill.fraction * lane.commit_seconds)
            where = terminate(admin, attempt.pid)
            attempt.killed.set()
            attempt.join()
            landed[where] += 1
            if attempt.call_seconds is not None:
                lane.call_seconds = attempt.call_seconds
            if attempt.committed:
                pytest.fail(f"kill {kill.number} landed after COMMIT returned (commit took longer than measured?)")
            assert attempt.error is not None, f"kill {kill.number}: the caller saw no error"
            lane.assert_unchanged(admin, f"kill {kill.number} ({kill.mode}, landed during {where})", attempt.pid)
            lane.vacuum()
    return landed


def test_terminations_at_random_moments_leave_no_trace(lanes):
    plan = kill_plan(random.Random(20240603))
    dealt = [plan[i::len(lanes)] for i in range(len(lanes))]  # each copy covers the whole call
    with ThreadPoolExecutor(len(lanes)) as pool:
        landed = sum(pool.map(run_kills, lanes, dealt), Counter())
    print(f"\n{N_KILLS} kills landed: {dict(landed)}; latest full call per copy: "
          f"{', '.join(f'{lane.call_seconds:.1f}s' for lane in lanes)}")
    assert sum(landed.values()) == N_KILLS
    assert landed["commit"] >= sum(k.mode == "commit" for k in plan) // 2, landed
    assert landed["call"] >= N_KILLS // 2, landed


def test_statement_timeout_mid_call_leaves_no_trace(lanes):
    lane = lanes[0]
    timeout_ms = max(50, int(lane.call_seconds * 1000 * 0.25))
    with psycopg.connect(lane.url) as conn, psycopg.connect(lane.url) as admin:
        conn.execute(f"set statement_timeout = {timeout_ms}")
        with pytest.raises(psycopg.errors.QueryCanceled):
            create_assets(conn, lane.tenant, lane.flow["discovery_flow_id"])
        conn.rollback()
        lane.assert_unchanged(admin, "a statement timeout mid-call")
    lane.vacuum()


def test_client_side_cancel_leaves_no_trace(lanes):
    """conn.cancel() mid-call (retried with an earlier moment should the call
    have returned first on a machine faster than the measurement)."""
    lane = lanes[0]
    with psycopg.connect(lane.url, autocommit=False) as admin:
        for fraction in (0.4, 0.2, 0.05):
            attempt = Attempt(lane, "call")
            attempt.start()
            time.sleep(lane.call_seconds * random.uniform(fraction / 2, fraction))
            attempt.conn.cancel()
            attempt.killed.set()
            attempt.join()
            lane.assert_unchanged(admin, "a client-side cancel", attempt.pid)
            if attempt.error is not None:
                break
        assert isinstance(attempt.error, psycopg.errors.QueryCanceled), repr(attempt.error)
    lane.vacuum()


def test_a_client_that_vanishes_mid_call_leaves_no_trace(lanes):
    """The caller's socket is shut down mid-call; the server notices (it polls
    the socket every 100 ms) and aborts."""
    lane = lanes[0]
    with psycopg.connect(lane.url, autocommit=False) as admin:
        attempt = Attempt(lane, "call", setup="set client_connection_check_interval = 100")
        attempt.start()
        time.sleep(lane.call_seconds * 0.3)
        sock = socket.socket(fileno=os.dup(attempt.conn.fileno()))
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        started = time.monotonic()
        attempt.killed.set()
        attempt.join()
        assert attempt.error is not None
        lane.assert_unchanged(admin, "the client vanished", attempt.pid)
        # noticed mid-call, not at the end of the call
        assert time.monotonic() - started < lane.call_seconds * 0.7 + 5
