"""Legacy data and its repair (issue 3, acceptance 3).

Rows are restored the way the old platform's dump arrives: as a superuser
with ``session_replication_role = replica`` (no trigger, no foreign key
check), on top of flows made through the API. Each scenario builds exactly one
kind of gap (some gaps come in pairs by nature: a record that lost its
back-pointer is both ``links_disagree`` for its asset and a processed record
missing its asset), and states what wiring_health must count, which objects
its samples must name, what repair_wiring must repair, what must remain, and
which NOT VALID foreign keys stay blocked. The test body is the same for all:

1. wiring_health counts each key exactly, samples name exactly those objects,
   and an independent computation of the gaps agrees;
2. repair_wiring dry run (the default) changes nothing and reports what the
   real run then does; the real run commits (the deferred wiring checks
   accept it); certain gaps are gone, uncertain ones remain counted;
3. a second run repairs nothing and reports the same remaining gaps;
4. the NOT VALID foreign keys validate when no orphan reference remains, and
   the ones an orphan still breaks refuse to.

Then the combined scenario (every kind at once, two tenants), the sample cap,
and the CLI path ``discovery-wiring repair --all --apply --validate``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from discovery_wiring.migrate import validate_constraints

from _support import (
    GAP_KEYS,
    T,
    add_raw_records,
    create_assets,
    gap_counts,
    independent_gaps,
    new_tenant,
    not_valid_constraints,
    raises_wr,
    raw_records,
    repair,
    replica,
    row,
    rows,
    run_flow,
    snapshot,
    start_flow,
    wiring_health,
)

REPAIR_KINDS = ("discovery_flow_id_from_flow_id", "discovery_flow_id_from_legacy_flow_id",
                "discovery_flow_id_from_raw_import", "master_flow_id_from_discovery_flow",
                "asset_origin_from_back_pointer", "raw_back_pointer_from_asset_origin", "linked_by_identity")
FKEYS = {"assets_discovery_flow_fkey", "assets_master_flow_fkey", "assets_flow_agreement_fkey",
         "assets_raw_import_record_fkey", "raw_import_records_asset_fkey"}


def constraint_errors(conn) -> dict[str, str | None]:
    """{constraint: None when it validated, else the SQLSTATE} for each NOT
    VALID constraint of schema migration (discovery_wiring.migrate.validate_constraints)."""
    return {c.name: c.error.sqlstate if c.error else None for c in validate_constraints(conn)}


@dataclass
class Expect:
    gaps: dict[str, set] = field(default_factory=dict)        # key -> object ids, before repair
    repaired: dict[str, int] = field(default_factory=dict)    # kind -> count (the others 0)
    remaining: dict[str, set] = field(default_factory=dict)   # key -> object ids, after repair
    blocked: set[str] = field(default_factory=set)            # foreign keys that cannot validate after repair
    wired: set = field(default_factory=set)                   # assets that must be fully wired after repair

    def merge(self, other: Expect) -> Expect:
        def union(a, b):
            return {k: a.get(k, set()) | b.get(k, set()) for k in {*a, *b}}
        return Expect(union(self.gaps, other.gaps),
                      {k: self.repaired.get(k, 0) + other.repaired.get(k, 0)
                       for k in {*self.repaired, *other.repaired}},
                      union(self.remaining, other.remaining), self.blocked | other.blocked, self.wired | other.wired)


# -- building blocks -----------------------------------------------------------------------------------------

def settled(conn, t, p: str):
    """A flow run through the API: hosts p-a, p-b, p-c, p-dup and p-DUP (the
    last matched to the asset of the one before). Returns (flow, records)."""
    flow, _ = run_flow(conn, t, [{"hostname": f"{p}-a"}, {"hostname": f"{p}-b"}, {"hostname": f"{p}-c"},
                                 {"hostname": f"{p}-dup"}, {"hostname": f"{p}-DUP"}], import_name=p)
    records = raw_records(conn, flow.data_import_id)
    assert [r["processing_status"] for r in records] == ["created"] * 4 + ["matched"]
    return flow, records


def legacy(conn, query: str, params: Any = None) -> None:
    """One write as a restore does it: replica mode, then committed."""
    conn.commit()
    with replica(conn):
        conn.execute(query, params)
    conn.commit()


def legacy_asset(conn, t, **columns) -> uuid.UUID:
    """An asset row as the old platform left it."""
    asset_id = columns.pop("id", None) or uuid.uuid4()
    cols = {"client_account_id": t.client_account_id, "engagement_id": t.engagement_id, "id": asset_id, **columns}
    names = ", ".join(cols)
    marks = ", ".join(["%s"] * len(cols))
    legacy(conn, f"insert into migration.assets ({names}) values ({marks})", list(cols.values()))
    return asset_id


def legacy_flow(conn, t, p: str, hosts: list[str]):
    """An import and flow that never ran create_assets_from_discovery (its
    records unprocessed: pending, not a gap)."""
    flow = start_flow(conn, t, [{"hostname": h} for h in hosts], import_name=p)
    conn.commit()
    return flow, raw_records(conn, flow.data_import_id)


# -- the scenarios: each (conn, tenant, prefix) -> Expect ----------------------------------------------------

def flow_id_in_discovery_flow_id(conn, t, p):
    flow, recs = settled(conn, t, p)
    a = recs[0]["asset_id"]
    legacy(conn, "update migration.assets set discovery_flow_id = %s where id = %s", (flow.flow_id, a))
    assert flow.flow_id != flow.discovery_flow_id
    return Expect({"assets_with_unknown_discovery_flow_id": {a}}, {"discovery_flow_id_from_flow_id": 1}, wired={a})


def unknown_discovery_flow_id(conn, t, p):
    _, recs = settled(conn, t, p)
    a = recs[0]["asset_id"]
    legacy(conn, "update migration.assets set discovery_flow_id = %s where id = %s", (uuid.uuid4(), a))
    return Expect({"assets_with_unknown_discovery_flow_id": {a}}, {},
                  {"assets_with_unknown_discovery_flow_id": {a}},
                  blocked={"assets_discovery_flow_fkey", "assets_flow_agreement_fkey"})


def missing_discovery_flow_id(conn, t, p):
    _, recs = settled(conn, t, p)
    a = recs[1]["asset_id"]
    legacy(conn, "update migration.assets set discovery_flow_id = null where id = %s", (a,))
    return Expect({"assets_missing_discovery_flow_id": {a}}, {"discovery_flow_id_from_raw_import": 1}, wired={a})


def missing_discovery_flow_id_and_origin(conn, t, p):
    """A flow-based asset with neither flow nor record: nothing names one answer."""
    a = legacy_asset(conn, t, name=f"{p}-lost", hostname=f"{p}-lost", discovery_method="flow_based")
    both = {"assets_missing_discovery_flow_id": {a}, "assets_missing_raw_import_id": {a}}
    return Expect(both, {}, both)


def mismatched_master_flow_id(conn, t, p):
    _, recs = settled(conn, t, p)
    other, _ = settled(conn, t, p + "-other")
    a = recs[2]["asset_id"]
    legacy(conn, "update migration.assets set master_flow_id = %s where id = %s", (other.master_flow_id, a))
    return Expect({"assets_with_mismatched_master_flow_id": {a}}, {"master_flow_id_from_discovery_flow": 1}, wired={a})


def origin_lost_back_pointer_kept(conn, t, p):
    _, recs = settled(conn, t, p)
    a = recs[0]["asset_id"]
    legacy(conn, "update migration.assets set raw_import_records_id = null where id = %s", (a,))
    return Expect({"assets_missing_raw_import_id": {a}}, {"asset_origin_from_back_pointer": 1}, wired={a})


def made_before_linkage_one_candidate(conn, t, p):
    """A flow-based asset of a flow whose import holds exactly one unlinked
    record of its hostname (case differs): linked both ways."""
    flow, recs = legacy_flow(conn, t, p, [f"{p}-one", f"{p}-two", f"{p}-two"])
    a = legacy_asset(conn, t, name=f"{p}-ONE", hostname=f"{p}-ONE", discovery_method="flow_based",
                     discovery_flow_id=flow.discovery_flow_id, master_flow_id=flow.master_flow_id)
    return Expect({"assets_missing_raw_import_id": {a}}, {"linked_by_identity": 1}, wired={a})


def made_before_linkage_two_candidates(conn, t, p):
    flow, recs = legacy_flow(conn, t, p, [f"{p}-one", f"{p}-two", f"{p}-two"])
    a = legacy_asset(conn, t, name=f"{p}-two", hostname=f"{p}-two", discovery_method="flow_based",
                     discovery_flow_id=flow.discovery_flow_id, master_flow_id=flow.master_flow_id)
    return Expect({"assets_missing_raw_import_id": {a}}, {}, {"assets_missing_raw_import_id": {a}})


def orphan_origin_back_pointer_kept(conn, t, p):
    _, recs = settled(conn, t, p)
    a = recs[1]["asset_id"]
    legacy(conn, "update migration.assets set raw_import_records_id = %s where id = %s", (uuid.uuid4(), a))
    return Expect({"assets_with_orphan_raw_ref": {a}}, {"asset_origin_from_back_pointer": 1}, wired={a})


def orphan_origin_nobody_points_back(conn, t, p):
    flow, _ = settled(conn, t, p)
    a = legacy_asset(conn, t, name=f"{p}-gone", hostname=f"{p}-gone", discovery_method="flow_based",
                     discovery_flow_id=flow.discovery_flow_id, master_flow_id=flow.master_flow_id,
                     raw_import_records_id=uuid.uuid4())
    return Expect({"assets_with_orphan_raw_ref": {a}}, {}, {"assets_with_orphan_raw_ref": {a}},
                  blocked={"assets_raw_import_record_fkey"})


def back_pointer_null_asset_names_record(conn, t, p):
    _, recs = settled(conn, t, p)
    r, a = recs[0]["id"], recs[0]["asset_id"]
    legacy(conn, "update migration.raw_import_records set asset_id = null where id = %s", (r,))
    return Expect({"links_disagree": {a}, "processed_records_missing_asset_id": {r}},
                  {"raw_back_pointer_from_asset_origin": 1}, wired={a})


def back_pointer_orphan_asset_names_record(conn, t, p):
    _, recs = settled(conn, t, p)
    r, a = recs[2]["id"], recs[2]["asset_id"]
    legacy(conn, "update migration.raw_import_records set asset_id = %s where id = %s", (uuid.uuid4(), r))
    return Expect({"links_disagree": {a}, "raw_with_orphan_asset_ref": {r}},
                  {"raw_back_pointer_from_asset_origin": 1}, wired={a})


def back_pointer_to_another_asset(conn, t, p):
    """The record a names as origin points at b: two live answers, none certain."""
    _, recs = settled(conn, t, p)
    a, b = recs[0]["asset_id"], recs[1]["asset_id"]
    legacy(conn, "update migration.raw_import_records set asset_id = %s where id = %s", (b, recs[0]["id"]))
    return Expect({"links_disagree": {a}}, {}, {"links_disagree": {a}})


def processed_unlinked_nobody_names_it(conn, t, p):
    """A matched record that lost its link: no asset names it as origin."""
    _, recs = settled(conn, t, p)
    r = recs[4]["id"]
    legacy(conn, "update migration.raw_import_records set asset_id = null where id = %s", (r,))
    return Expect({"processed_records_missing_asset_id": {r}}, {}, {"processed_records_missing_asset_id": {r}})


def unprocessed_unlinked_asset_names_it(conn, t, p):
    """Marked unprocessed and unlinked, but its asset names it: certain."""
    _, recs = settled(conn, t, p)
    r, a = recs[3]["id"], recs[3]["asset_id"]
    legacy(conn, "update migration.raw_import_records set asset_id = null, is_processed = false,"
                 " processing_status = null, processed_at = null where id = %s", (r,))
    return Expect({"links_disagree": {a}, "raw_records_missing_asset_id": {r}},
                  {"raw_back_pointer_from_asset_origin": 1}, wired={a})


def left_behind_by_a_run(conn, t, p):
    """A record a run covered but did not handle (a supplied-mode run named only
    the one after it): no repair (create_assets handles it)."""
    flow, _ = settled(conn, t, p)
    add_raw_records(conn, t, flow.data_import_id, [{"hostname": f"{p}-late"}, {"hostname": f"{p}-later"}])
    late, later = raw_records(conn, flow.data_import_id)[-2:]
    create_assets(conn, t, flow.discovery_flow_id, [{"raw_import_record_id": str(later["id"]),
                                                     "hostname": f"{p}-later"}])
    conn.commit()
    r = late["id"]
    return Expect({"raw_records_missing_asset_id": {r}}, {}, {"raw_records_missing_asset_id": {r}})


def matched_record_orphan_pointer(conn, t, p):
    _, recs = settled(conn, t, p)
    r = recs[4]["id"]
    legacy(conn, "update migration.raw_import_records set asset_id = %s where id = %s", (uuid.uuid4(), r))
    return Expect({"raw_with_orphan_asset_ref": {r}}, {}, {"raw_with_orphan_asset_ref": {r}},
                  blocked={"raw_import_records_asset_fkey"})


def legacy_flow_id_only(conn, t, p):
    """A non-flow-based asset with only the legacy flow_id (the public flow_id)."""
    flow, _ = settled(conn, t, p)
    a = legacy_asset(conn, t, name=f"{p}-manual", discovery_method="manual", flow_id=flow.flow_id)
    return Expect({"assets_with_legacy_flow_id_only": {a}},
                  {"discovery_flow_id_from_legacy_flow_id": 1, "master_flow_id_from_discovery_flow": 1})


def legacy_flow_id_holding_the_discovery_flow_pk(conn, t, p):
    flow, _ = settled(conn, t, p)
    a = legacy_asset(conn, t, name=f"{p}-manual2", flow_id=flow.discovery_flow_id)
    return Expect({"assets_with_legacy_flow_id_only": {a}},
                  {"discovery_flow_id_from_legacy_flow_id": 1, "master_flow_id_from_discovery_flow": 1})


def legacy_flow_id_unknown(conn, t, p):
    a = legacy_asset(conn, t, name=f"{p}-stray", flow_id=uuid.uuid4())
    return Expect({"assets_with_legacy_flow_id_only": {a}}, {}, {"assets_with_legacy_flow_id_only": {a}})


def flow_based_with_only_legacy_flow_id(conn, t, p):
    """The 29 assets of the old platform: flow-based, only the legacy flow_id,
    no record; their flow's import holds one unlinked record of the hostname.
    One run chains: flow from flow_id, master follows, linked by identity."""
    flow, _ = legacy_flow(conn, t, p, [f"{p}-old", f"{p}-other"])
    a = legacy_asset(conn, t, name=f"{p}-old", hostname=f"{p}-old", discovery_method="flow_based",
                     flow_id=flow.flow_id)
    return Expect({"assets_missing_discovery_flow_id": {a}, "assets_missing_raw_import_id": {a},
                   "assets_with_legacy_flow_id_only": {a}},
                  {"discovery_flow_id_from_legacy_flow_id": 1, "master_flow_id_from_discovery_flow": 1,
                   "linked_by_identity": 1}, wired={a})


SCENARIOS: dict[str, Callable] = {f.__name__: f for f in (
    flow_id_in_discovery_flow_id, unknown_discovery_flow_id, missing_discovery_flow_id,
    missing_discovery_flow_id_and_origin, mismatched_master_flow_id, origin_lost_back_pointer_kept,
    made_before_linkage_one_candidate, made_before_linkage_two_candidates, orphan_origin_back_pointer_kept,
    orphan_origin_nobody_points_back, back_pointer_null_asset_names_record, back_pointer_orphan_asset_names_record,
    back_pointer_to_another_asset, processed_unlinked_nobody_names_it, unprocessed_unlinked_asset_names_it,
    left_behind_by_a_run, matched_record_orphan_pointer, legacy_flow_id_only,
    legacy_flow_id_holding_the_discovery_flow_pk, legacy_flow_id_unknown, flow_based_with_only_legacy_flow_id,
)}


# -- the common checks ---------------------------------------------------------------------------------------

def as_counts(gaps: dict[str, set]) -> dict[str, int]:
    return {k: len(gaps.get(k, ())) for k in GAP_KEYS}


def assert_health(conn, t, gaps: dict[str, set]) -> dict:
    report = wiring_health(conn, t, detail=True)
    assert {k: report[k] for k in GAP_KEYS} == as_counts(gaps)
    for key in GAP_KEYS:
        expected = sorted(str(i) for i in gaps.get(key, ()))
        sample = report["samples"][key]
        assert len(sample) == min(10, len(expected)), key
        assert set(sample) <= set(expected), key
        if len(expected) <= 10:
            assert sorted(sample) == expected, key
    assert gap_counts(independent_gaps(conn, t)) == as_counts(gaps)
    assert {k: {str(i) for i in v} for k, v in independent_gaps(conn, t).items()} == {
        k: {str(i) for i in gaps.get(k, ())} for k in GAP_KEYS}
    assert report["health_status"] == ("healthy" if not any(gaps.values()) else "unhealthy")
    return report


def assert_wired(conn, asset_id) -> None:
    a = row(conn, "select * from migration.assets where id = %s", (asset_id,))
    f = row(conn, "select * from migration.discovery_flows where id = %s", (a["discovery_flow_id"],))
    assert f is not None and a["master_flow_id"] == f["master_flow_id"]
    r = row(conn, "select * from migration.raw_import_records where id = %s", (a["raw_import_records_id"],))
    assert r is not None and r["asset_id"] == a["id"]
    assert r["is_processed"] and r["processing_status"] in ("created", "matched")


def check_repair(conn, t, expect: Expect, tenants_beside: tuple = ()) -> None:
    conn.commit()
    assert_health(conn, t, expect.gaps)
    beside = {b: wiring_health(conn, b) for b in tenants_beside}

    # the dry run is the default, writes nothing, and says what the real run does
    before = snapshot(conn)
    dry = repair(conn, t)
    assert repair(conn, t, dry_run=True) == dry
    assert snapshot(conn) == before
    assert dry["dry_run"] is True

    real = repair(conn, t, dry_run=False)
    conn.commit()  # the deferred wiring checks accept every repair
    assert real["dry_run"] is False
    assert {k: v for k, v in real.items() if k != "dry_run"} == {k: v for k, v in dry.items() if k != "dry_run"}
    assert set(real["repaired"]) == set(REPAIR_KINDS)
    assert real["repaired"] == {k: expect.repaired.get(k, 0) for k in REPAIR_KINDS}
    assert real["remaining"] == as_counts(expect.remaining)
    assert_health(conn, t, expect.remaining)
    for asset_id in expect.wired:
        assert_wired(conn, asset_id)
    for b, report in beside.items():
        assert wiring_health(conn, b) == report  # per tenant

    # a second run repairs nothing and reports the same
    after = snapshot(conn)
    second = repair(conn, t, dry_run=False)
    conn.commit()
    assert second["repaired"] == dict.fromkeys(REPAIR_KINDS, 0)
    assert second["remaining"] == real["remaining"]
    assert snapshot(conn) == after

    # the NOT VALID foreign keys validate unless an orphan reference remains
    assert {name for _, name in not_valid_constraints(conn)} >= FKEYS
    results = constraint_errors(conn)
    assert {name for name, error in results.items() if error} == expect.blocked, results
    assert all(error in (None, "23503") for error in results.values()), results
    conn.rollback()


@pytest.fixture
def t(conn) -> T:
    tenant = new_tenant(conn)
    conn.commit()
    return tenant


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_each_kind_of_legacy_gap_is_counted_and_repaired_or_reported(conn, t, scenario):
    expect = SCENARIOS[scenario](conn, t, "s")
    assert any(expect.gaps.values())
    check_repair(conn, t, expect)


def test_a_record_added_after_the_run_is_pending_not_a_gap(conn, t):
    """Appending to an import whose inventory ran leaves the tenant healthy: the
    record is pending until the next run, nothing was left behind."""
    flow, _ = settled(conn, t, "added")
    add_raw_records(conn, t, flow.data_import_id, [{"hostname": "added-late"}])
    conn.commit()
    report = assert_health(conn, t, {})
    assert report["raw_records_pending"] == 1 and report["health_status"] == "healthy"
    create_assets(conn, t, flow.discovery_flow_id)
    conn.commit()
    assert wiring_health(conn, t)["raw_records_pending"] == 0


def test_a_left_behind_record_is_handled_by_create_assets_not_repair(conn, t):
    expect = left_behind_by_a_run(conn, t, "late")
    check_repair(conn, t, expect)
    (flow_id,) = [r["id"] for r in rows(conn, "select id from migration.discovery_flows")]
    create_assets(conn, t, flow_id)
    conn.commit()
    assert_health(conn, t, {})


def test_every_kind_at_once_in_one_tenant_beside_a_healthy_one(conn, t):
    """All scenarios together (distinct hosts and imports), a healthy tenant
    of the same client account beside it: the counts add up, the repairs add
    up, the other tenant is untouched; with the uncertain ones left, exactly
    their orphan references block validation."""
    beside = new_tenant(conn, client_account_id=t.client_account_id, name="Beside")
    run_flow(conn, beside, [{"hostname": "s0-a"}, {"hostname": "s0-b"}])  # same hostnames as below: other tenant
    conn.commit()
    expect = Expect()
    for k, build in enumerate(SCENARIOS.values()):
        expect = expect.merge(build(conn, t, f"s{k}"))
    assert sum(as_counts(expect.gaps).values()) >= 20
    assert all(as_counts(expect.gaps)[k] for k in GAP_KEYS)  # every key at least once
    pending_before = wiring_health(conn, t)["raw_records_pending"]
    check_repair(conn, t, expect, tenants_beside=(beside,))
    # the two records linked by identity are no longer pending
    assert wiring_health(conn, t)["raw_records_pending"] == pending_before - 2


def test_with_only_certain_gaps_the_tenant_becomes_healthy_and_every_foreign_key_validates(conn, t):
    certain = [f for f in SCENARIOS.values() if f.__name__ in (
        "flow_id_in_discovery_flow_id", "missing_discovery_flow_id", "mismatched_master_flow_id",
        "origin_lost_back_pointer_kept", "made_before_linkage_one_candidate", "orphan_origin_back_pointer_kept",
        "back_pointer_null_asset_names_record", "back_pointer_orphan_asset_names_record",
        "unprocessed_unlinked_asset_names_it", "legacy_flow_id_only", "legacy_flow_id_holding_the_discovery_flow_pk",
        "flow_based_with_only_legacy_flow_id")]
    expect = Expect()
    for k, build in enumerate(certain):
        expect = expect.merge(build(conn, t, f"c{k}"))
    conn.commit()
    # before the repair, every orphan-breakable key refuses to validate
    assert {n for n, e in constraint_errors(conn).items() if e} == {
        "assets_discovery_flow_fkey", "assets_flow_agreement_fkey", "assets_raw_import_record_fkey",
        "raw_import_records_asset_fkey"}
    conn.rollback()
    assert expect.remaining == {} and not expect.blocked
    check_repair(conn, t, expect)
    assert wiring_health(conn, t)["health_status"] == "healthy"


def test_samples_hold_at_most_ten_of_the_right_ids(conn, t):
    flow, _ = run_flow(conn, t, [{"hostname": f"h{i}"} for i in range(13)])
    recs = raw_records(conn, flow.data_import_id)
    legacy(conn, "update migration.raw_import_records set asset_id = null where data_import_id = %s",
           (flow.data_import_id,))
    expect = Expect({"links_disagree": {r["asset_id"] for r in recs},
                     "processed_records_missing_asset_id": {r["id"] for r in recs}},
                    {"raw_back_pointer_from_asset_origin": 13}, wired={r["asset_id"] for r in recs})
    report = assert_health(conn, t, expect.gaps)
    assert report["links_disagree"] == 13 and len(report["samples"]["links_disagree"]) == 10
    assert "samples" not in wiring_health(conn, t)
    check_repair(conn, t, expect)


def test_repair_of_an_unknown_tenant_is_wr001(conn):
    with raises_wr(conn, "WR001"):
        repair(conn, T(uuid.uuid4(), uuid.uuid4()), dry_run=False)


# -- the CLI: discovery-wiring repair --all --apply --validate -----------------------------------------------

def cli(db_url, *args, expect: int):
    """The installed CLI in a subprocess (its console width is fixed at import:
    a wide one, so that names and UUIDs print whole)."""
    env = {**os.environ, "DISCOVERY_DATABASE_URL": db_url, "COLUMNS": "300"}
    result = subprocess.run([sys.executable, "-m", "discovery_wiring", "repair", *args], env=env,
                            capture_output=True, text=True, timeout=300)
    out = result.stdout + result.stderr
    assert result.returncode == expect, out
    return out


def test_cli_repairs_every_tenant_and_validates_the_foreign_keys(db_url, conn, t):
    other = new_tenant(conn, name="Second")
    conn.commit()
    expect_t = flow_based_with_only_legacy_flow_id(conn, t, "a").merge(
        back_pointer_null_asset_names_record(conn, t, "b"))
    expect_o = flow_id_in_discovery_flow_id(conn, other, "c").merge(
        back_pointer_orphan_asset_names_record(conn, other, "d"))
    conn.commit()
    before = snapshot(conn)
    conn.rollback()

    out = cli(db_url, "--all", expect=0)  # dry run: reports, writes nothing
    assert "dry run" in out
    assert snapshot(conn) == before
    conn.rollback()

    out = cli(db_url, "--all", "--apply", "--validate", expect=0)
    assert "validated" in out and "blocked" not in out
    assert_health(conn, t, {})
    assert_health(conn, other, {})
    for asset_id in expect_t.wired | expect_o.wired:
        assert_wired(conn, asset_id)
    assert not_valid_constraints(conn) == []
    conn.rollback()

    # again: nothing to repair, nothing left to validate
    after = snapshot(conn)
    conn.rollback()
    out = cli(db_url, "--all", "--apply", "--validate", expect=0)
    assert "Every constraint of schema migration is valid" in out
    assert snapshot(conn) == after
    conn.rollback()


def test_cli_validate_names_what_still_blocks_and_fails(db_url, conn, t):
    certain = back_pointer_null_asset_names_record(conn, t, "a")
    blocking = matched_record_orphan_pointer(conn, t, "b")
    conn.commit()
    out = cli(db_url, "--all", "--apply", "--validate", expect=1)
    assert "raw_import_records_asset_fkey" in out and "blocked" in out
    # the certain repair was applied all the same; the orphan is still reported
    assert_health(conn, t, blocking.gaps)
    for asset_id in certain.wired:
        assert_wired(conn, asset_id)
    remaining = {name for _, name in not_valid_constraints(conn)}
    assert remaining == {"raw_import_records_asset_fkey"}
    conn.rollback()


# -- repair and conflicts ------------------------------------------------------------------------------------

def test_repair_leaves_a_record_waiting_in_a_pending_conflict_to_its_resolver(conn, t):
    """A legacy asset of a flow whose only unlinked record of that hostname is
    a pending conflict: the record's identity is ambiguous by definition (a
    person decides), so repair must not link it by identity. Otherwise the
    conflict stays pending over a linked record, and resolve_asset_conflict
    then reports a link (its return value, resolved_asset_id) that the
    record does not have."""
    from _support import pending_conflicts, resolve_conflict
    run_flow(conn, t, [{"fqdn": "alpha.a.example.com", "ip_address": "10.0.0.1"},
                       {"fqdn": "alpha.b.example.com", "ip_address": "10.0.0.2"}], import_name="first")
    second, result = run_flow(conn, t, [{"hostname": "alpha", "ip_address": "10.0.0.2"}], import_name="second")
    assert result["conflicts"] == 1
    (conflict,) = pending_conflicts(conn, second.discovery_flow_id)
    conn.commit()
    legacy_id = legacy_asset(conn, t, name="alpha", hostname="alpha", discovery_method="flow_based",
                             discovery_flow_id=second.discovery_flow_id, master_flow_id=second.master_flow_id)
    repair(conn, t, dry_run=False)
    conn.commit()
    record = row(conn, "select * from migration.raw_import_records where id = %s", (conflict["raw_import_record_id"],))
    assert (record["asset_id"], record["processing_status"]) == (None, "conflict"), (
        f"repair linked the pending conflict's record to legacy asset {legacy_id}")
    linked_to = resolve_conflict(conn, t, conflict["id"], "keep_existing")
    record = row(conn, "select * from migration.raw_import_records where id = %s", (conflict["raw_import_record_id"],))
    assert record["asset_id"] == linked_to
