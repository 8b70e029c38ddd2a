"""A property-based stateful test (issue 3): random sequences of import, add
records, start flow, cleanse, create assets (sometimes after a dry run),
conflict resolution, legacy corruption (as a superuser in replica mode) and
repair; after every step the invariants of DESIGN.md hold:

(a) every flow-based asset the API committed, and no corruption touched, is
    wired (its discovery flow exists, master_flow_id is that flow's, its raw
    record exists and points back);
(b) wiring_health says healthy exactly when all ten counts are zero and an
    independent computation (tests/_support.py, not discovery._wiring_gaps) finds
    no gap;
(c) each count equals that independent computation;
(d) within the tenant no live hostname has two assets, unless a restored
    legacy row brought the second one;
(e) a pending conflict's raw record is unlinked and marked conflict; a
    resolved conflict's record is linked to the asset resolve_asset_conflict
    returned; no raw record is the origin of two assets.

Every API call commits (the caller's transaction is the unit of work); an API
error fails the test. One database per test; one tenant per example.
"""

from __future__ import annotations

import os
import uuid

import psycopg
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from _support import (
    GAP_KEYS,
    add_raw_records,
    cleanse_records,
    create_assets,
    create_data_import,
    duplicate_live_hostnames,
    independent_gaps,
    new_tenant,
    records_linked_twice,
    repair,
    resolve_conflict,
    row,
    rows,
    snapshot,
    start_discovery_flow,
    wiring_health,
)

HOSTS = ["alpha", "ALPHA", "beta", "gamma", "delta"]
IPS = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]

record_strategy = st.fixed_dictionaries(
    {},
    optional={
        "hostname": st.sampled_from(HOSTS),
        "ip_address": st.sampled_from(IPS),
        "operating_system": st.sampled_from(["linux", "windows", " aix "]),
        "environment": st.sampled_from(["prod", "dev", ""]),
        "asset_type": st.sampled_from(["server", "vm"]),
    })
records_strategy = st.lists(record_strategy, min_size=1, max_size=5)


class WiringMachine(RuleBasedStateMachine):
    conn: psycopg.Connection  # set by the test

    @initialize()
    def new_tenant(self):
        self.conn.rollback()
        self.tenant = new_tenant(self.conn)
        self.conn.commit()
        self.imports: list[uuid.UUID] = []
        self.flows: dict[uuid.UUID, dict] = {}       # data_import_id -> flow ids
        self.api_assets: set[uuid.UUID] = set()      # made by create_assets_from_discovery
        self.touched_assets: set[uuid.UUID] = set()  # corrupted, or their origin record was
        self.legacy_hosts: set[str] = set()          # hostnames of restored legacy rows
        self.resolved: dict[uuid.UUID, uuid.UUID] = {}  # conflict -> asset returned

    # -- helpers ---------------------------------------------------------------------------------------------
    @property
    def t(self):
        return self.tenant

    def q(self, query, params=None):
        return rows(self.conn, query, params)

    def tenant_assets(self):
        return self.q("select * from migration.assets where client_account_id = %s and engagement_id = %s",
                      (self.t.client_account_id, self.t.engagement_id))

    def tenant_records(self, where="true"):
        return self.q(f"select * from migration.raw_import_records where client_account_id = %s"
                      f" and engagement_id = %s and {where} order by created_at, row_number",
                      (self.t.client_account_id, self.t.engagement_id))

    def legacy_write(self, query, params):
        self.conn.execute("set session_replication_role = replica")
        self.conn.execute(query, params)
        self.conn.execute("set session_replication_role = origin")
        self.conn.commit()

    # -- the import side -------------------------------------------------------------------------------------
    @rule(records=records_strategy)
    def new_import(self, records):
        data_import_id = create_data_import(self.conn, self.t, import_name=f"import {len(self.imports)}")
        add_raw_records(self.conn, self.t, data_import_id, records)
        self.conn.commit()
        self.imports.append(data_import_id)

    @precondition(lambda self: self.imports)
    @rule(data=st.data(), records=records_strategy)
    def add_records(self, data, records):
        data_import_id = data.draw(st.sampled_from(self.imports))
        add_raw_records(self.conn, self.t, data_import_id, records)
        self.conn.commit()

    @precondition(lambda self: any(i not in self.flows for i in self.imports))
    @rule(data=st.data())
    def start_flow(self, data):
        data_import_id = data.draw(st.sampled_from([i for i in self.imports if i not in self.flows]))
        self.flows[data_import_id] = start_discovery_flow(self.conn, self.t, data_import_id)
        self.conn.commit()

    @precondition(lambda self: self.flows)
    @rule(data=st.data())
    def cleanse(self, data):
        flow = data.draw(st.sampled_from(list(self.flows.values())))
        cleanse_records(self.conn, self.t, flow["discovery_flow_id"])
        self.conn.commit()

    @precondition(lambda self: self.flows)
    @rule(data=st.data(), dry_run_first=st.booleans())
    def create(self, data, dry_run_first):
        flow = data.draw(st.sampled_from(list(self.flows.values())))
        before_ids = {a["id"] for a in self.tenant_assets()}
        if dry_run_first:
            before = snapshot(self.conn)
            dry = create_assets(self.conn, self.t, flow["discovery_flow_id"], dry_run=True)
            assert snapshot(self.conn) == before, "a dry run wrote"
            assert dry["run_id"] is None
        result = create_assets(self.conn, self.t, flow["discovery_flow_id"])
        self.conn.commit()
        keys = ("created", "matched", "conflicts", "invalid", "already_linked")
        if dry_run_first:
            assert {k: result[k] for k in keys} == {k: dry[k] for k in keys}
        new_ids = {a["id"] for a in self.tenant_assets()} - before_ids
        assert len(new_ids) == result["created"]
        self.api_assets |= new_ids
        # called again at once, it has nothing to do
        again = create_assets(self.conn, self.t, flow["discovery_flow_id"])
        self.conn.commit()
        assert again["run_id"] is None and again["created"] == again["matched"] == again["conflicts"] == 0

    @precondition(lambda self: self.flows)
    @rule(data=st.data(), action=st.sampled_from(["keep_existing", "replace_with_new", "merge"]),
          fields=st.lists(st.sampled_from(["operating_system", "environment", "cpu_cores"]), min_size=1,
                          unique=True))
    def resolve(self, data, action, fields):
        pending = self.q("select id from migration.asset_conflict_resolutions where client_account_id = %s"
                         " and engagement_id = %s and resolution_status = 'pending' order by id",
                         (self.t.client_account_id, self.t.engagement_id))
        if not pending:
            return
        conflict_id = data.draw(st.sampled_from([p["id"] for p in pending]))
        linked = resolve_conflict(self.conn, self.t, conflict_id, action, fields if action == "merge" else None)
        self.conn.commit()
        self.resolved[conflict_id] = linked

    # -- legacy corruption (a restore of the old platform's rows) --------------------------------------------
    @precondition(lambda self: self.flows)
    @rule(data=st.data(), kind=st.sampled_from(["clear_back_pointer", "null_origin", "flow_id_as_discovery_flow_id",
                                                 "processed_without_link", "restore_legacy_asset"]))
    def corrupt(self, data, kind):
        if kind == "clear_back_pointer":
            linked = self.tenant_records("asset_id is not null")
            if linked:
                r = data.draw(st.sampled_from(linked))
                self.legacy_write("update migration.raw_import_records set asset_id = null where id = %s", (r["id"],))
                self.touched_assets.add(r["asset_id"])
        elif kind in ("null_origin", "flow_id_as_discovery_flow_id"):
            assets = [a for a in self.tenant_assets() if a["discovery_flow_id"] is not None]
            if assets:
                a = data.draw(st.sampled_from(assets))
                if kind == "null_origin":
                    self.legacy_write("update migration.assets set raw_import_records_id = null where id = %s",
                                      (a["id"],))
                else:
                    flow_id = next((f["flow_id"] for f in self.flows.values()
                                    if f["discovery_flow_id"] == a["discovery_flow_id"]), None)
                    if flow_id is None:
                        return
                    self.legacy_write("update migration.assets set discovery_flow_id = %s where id = %s",
                                      (flow_id, a["id"]))
                self.touched_assets.add(a["id"])
        elif kind == "processed_without_link":
            unprocessed = self.tenant_records("not is_processed")
            if unprocessed:
                r = data.draw(st.sampled_from(unprocessed))
                status = data.draw(st.sampled_from(["created", "matched"]))
                self.legacy_write("update migration.raw_import_records set is_processed = true, processed_at = now(),"
                                  " processing_status = %s where id = %s", (status, r["id"]))
        else:  # an asset made before the linkage existed: flow-based, no record, maybe only the legacy flow_id
            data_import_id = data.draw(st.sampled_from(list(self.flows)))
            flow = self.flows[data_import_id]
            # a hostname of that import's records, most of the time (what repair links by identity)
            seen = sorted({r["raw_data"].get("hostname") for r in self.tenant_records(
                f"data_import_id = '{data_import_id}'") if r["raw_data"].get("hostname")})
            host = data.draw(st.sampled_from(seen + HOSTS[:1]) if seen else st.sampled_from(HOSTS))
            only_legacy = data.draw(st.booleans())
            asset_id = uuid.uuid4()
            self.legacy_write(
                "insert into migration.assets (client_account_id, engagement_id, id, name, hostname, discovery_method,"
                " discovery_flow_id, master_flow_id, flow_id) values (%s, %s, %s, %s, %s, 'flow_based', %s, %s, %s)",
                (self.t.client_account_id, self.t.engagement_id, asset_id, host, host,
                 None if only_legacy else flow["discovery_flow_id"], None if only_legacy else flow["master_flow_id"],
                 flow["flow_id"] if only_legacy else None))
            self.legacy_hosts.add(host.lower())
            self.touched_assets.add(asset_id)

    @rule()
    def repair(self):
        dry = repair(self.conn, self.t)
        real = repair(self.conn, self.t, dry_run=False)
        self.conn.commit()
        assert {k: v for k, v in real.items() if k != "dry_run"} == {k: v for k, v in dry.items() if k != "dry_run"}
        second = repair(self.conn, self.t, dry_run=False)
        self.conn.commit()
        assert not any(second["repaired"].values()), second
        assert second["remaining"] == real["remaining"]
        report = wiring_health(self.conn, self.t)
        assert {k: report[k] for k in GAP_KEYS} == real["remaining"]

    # -- invariants ------------------------------------------------------------------------------------------
    @invariant()
    def api_assets_are_wired(self):
        if not hasattr(self, "tenant"):
            return
        for asset_id in self.api_assets - self.touched_assets:
            a = row(self.conn, "select * from migration.assets where id = %s", (asset_id,))
            assert a["discovery_method"] == "flow_based"
            f = row(self.conn, "select * from migration.discovery_flows where client_account_id = %s"
                               " and engagement_id = %s and id = %s",
                    (a["client_account_id"], a["engagement_id"], a["discovery_flow_id"]))
            assert f is not None and a["master_flow_id"] == f["master_flow_id"], a
            r = row(self.conn, "select * from migration.raw_import_records where client_account_id = %s"
                               " and engagement_id = %s and id = %s",
                    (a["client_account_id"], a["engagement_id"], a["raw_import_records_id"]))
            assert r is not None and r["asset_id"] == a["id"], (a, r)
            assert r["data_import_id"] == f["data_import_id"]
        self.conn.rollback()

    @invariant()
    def health_matches_an_independent_computation(self):
        if not hasattr(self, "tenant"):
            return
        report = wiring_health(self.conn, self.t, detail=True)
        gaps = independent_gaps(self.conn, self.t)
        assert {k: report[k] for k in GAP_KEYS} == {k: len(v) for k, v in gaps.items()}
        for key in GAP_KEYS:
            assert {uuid.UUID(s) for s in report["samples"][key]} <= gaps[key], key
            assert len(report["samples"][key]) == min(10, len(gaps[key]))
        nothing = not any(gaps.values()) and not any(report[k] for k in GAP_KEYS)
        assert (report["health_status"] == "healthy") == nothing, report
        self.conn.rollback()

    @invariant()
    def one_live_asset_per_hostname(self):
        if not hasattr(self, "tenant"):
            return
        duplicates = {d["host"] for d in duplicate_live_hostnames(self.conn, self.t)}
        assert duplicates <= self.legacy_hosts, duplicates
        self.conn.rollback()

    @invariant()
    def conflicts_and_links_agree(self):
        if not hasattr(self, "tenant"):
            return
        for c in self.q("select c.*, r.asset_id as record_asset, r.processing_status as record_status"
                        " from migration.asset_conflict_resolutions c join migration.raw_import_records r"
                        " on r.client_account_id = c.client_account_id and r.id = c.raw_import_record_id"
                        " where c.client_account_id = %s and c.engagement_id = %s",
                        (self.t.client_account_id, self.t.engagement_id)):
            if c["resolution_status"] == "pending":
                assert c["record_asset"] is None and c["record_status"] == "conflict", c
            elif c["id"] in self.resolved:
                assert c["record_asset"] == self.resolved[c["id"]] == c["resolved_asset_id"], c
        assert records_linked_twice(self.conn, self.t) == 0
        self.conn.rollback()


def test_random_sequences_keep_the_invariants(db_url):
    with psycopg.connect(db_url, autocommit=False) as conn:
        WiringMachine.conn = conn
        run_state_machine_as_test(WiringMachine, settings=settings(
            max_examples=int(os.environ.get("DW_STATEFUL_EXAMPLES", "25")), stateful_step_count=15, deadline=None,
            database=None, derandomize=not os.environ.get("DW_STATEFUL_RANDOM"),
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]))
