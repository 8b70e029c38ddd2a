"""The flow lifecycle (DESIGN.md, "Flow lifecycle"), walked transition by
transition through the client API: a discovery flow's status, current phase,
inventory flag and phase_state, its master flow's flow_status and its
import's status move together through conflicts, their resolution, records
added to a completed import, and undo_import (from a completed flow, and from
one whose conflicts are pending). The state is read from the tables after
every step; the steps are API calls only."""

from __future__ import annotations

import uuid

import pytest

from discovery_wiring import ConflictNotFound, DiscoveryClient, FlowStateForbids, Tenant

from _support import CONFLICT_NAMES, row


def state(conn, data_import_id) -> dict:
    """The import's status and, once it has a flow, the flow's and master flow's."""
    found = row(conn, """
        SELECT i.status AS import, f.status AS flow, f.current_phase AS phase,
               f.asset_inventory_completed AS inventory_completed,
               CASE WHEN f.id IS NOT NULL
                    THEN coalesce((f.phase_state ->> 'conflict_resolution_pending')::boolean, false)
               END AS conflicts_pending,
               CASE WHEN f.id IS NOT NULL
                    THEN coalesce((f.phase_state ->> 'records_unhandled')::boolean, false)
               END AS records_unhandled,
               m.flow_status AS master
          FROM migration.data_imports AS i
          LEFT JOIN migration.discovery_flows AS f
            ON f.client_account_id = i.client_account_id AND f.data_import_id = i.id
          LEFT JOIN migration.crewai_flow_state_extensions AS m
            ON m.client_account_id = f.client_account_id AND m.flow_id = f.master_flow_id
         WHERE i.id = %s""", (data_import_id,))
    return {k: v for k, v in found.items() if v is not None}


def lifecycle(flow: str, phase: str, master: str, import_: str, *, completed: bool = False,
              conflicts: bool = False, unhandled: bool = False) -> dict:
    return {"import": import_, "flow": flow, "phase": phase, "inventory_completed": completed,
            "conflicts_pending": conflicts, "records_unhandled": unhandled, "master": master}


ACTIVE_WITH_CONFLICTS = lifecycle("active", "asset_inventory", "active", "processing", conflicts=True)
REOPENED = lifecycle("active", "asset_inventory", "active", "processing", unhandled=True)
COMPLETED = lifecycle("completed", "completed", "completed", "completed", completed=True)
UNDONE = lifecycle("undone", "undone", "undone", "undone")


@pytest.fixture
def api(conn):
    client = DiscoveryClient(conn)
    tenant = Tenant(uuid.uuid4(), uuid.uuid4())
    client.register_tenant(tenant, "lifecycle", "lifecycle")
    base = client.create_data_import(tenant, "base", "json", "base.json")
    client.add_raw_records(tenant, base, [{"fqdn": f"{name}.{zone}.example.com"}
                                          for name in CONFLICT_NAMES for zone in ("a", "b")])
    flow = client.start_discovery_flow(tenant, base)
    assert client.create_assets_from_discovery(tenant, flow.discovery_flow_id).created == 8
    conn.commit()
    return client, tenant


def pending(client, tenant, flow) -> list:
    return client.list_conflicts(tenant, flow_id=flow.flow_id).conflicts


def test_every_transition_through_conflicts_added_records_and_undo(conn, api):
    client, tenant = api

    def step(expected: dict) -> None:
        conn.commit()
        assert state(conn, imp) == expected

    imp = client.create_data_import(tenant, "servers", "csv", "servers.csv")
    step({"import": "pending"})
    client.add_raw_records(tenant, imp, [{"Host": "ALPHA"}, {"Host": "GAMMA"}, {"Host": "web01"}])
    step({"import": "imported"})
    flow = client.start_discovery_flow(tenant, imp)
    step(lifecycle("active", "field_mapping", "active", "imported"))
    client.set_field_mappings(tenant, imp, {"Host": "hostname"})
    step(lifecycle("active", "data_cleansing", "active", "imported"))
    client.cleanse_records(tenant, flow.discovery_flow_id)
    step(lifecycle("active", "asset_inventory", "active", "imported"))

    # conflicts pending: active, and phase_state says so
    result = client.create_assets_from_discovery(tenant, flow.discovery_flow_id)
    assert (result.created, result.conflicts) == (1, 2)
    step(ACTIVE_WITH_CONFLICTS)
    first, second = pending(client, tenant, flow)
    client.resolve_asset_conflict(tenant, first.id, "keep_existing")
    step(ACTIVE_WITH_CONFLICTS)
    client.resolve_asset_conflict(tenant, second.id, "merge", merge_fields=["operating_system"])
    step(COMPLETED)  # the last pending conflict resolved: all three complete

    # records added to the completed import reopen all three
    client.add_raw_records(tenant, imp, [{"Host": "DELTA"}, {"Host": "web02"}])
    step(REOPENED)
    client.cleanse_records(tenant, flow.discovery_flow_id)
    step(REOPENED)
    result = client.create_assets_from_discovery(tenant, flow.discovery_flow_id)
    assert (result.created, result.conflicts) == (1, 1)
    step(ACTIVE_WITH_CONFLICTS)
    (third,) = pending(client, tenant, flow)
    client.resolve_asset_conflict(tenant, third.id, "create_new")
    step(COMPLETED)
    client.add_raw_records(tenant, imp, [{"Host": "web03"}])
    step(REOPENED)
    client.cleanse_records(tenant, flow.discovery_flow_id)
    assert client.create_assets_from_discovery(tenant, flow.discovery_flow_id).created == 1
    step(COMPLETED)  # no conflict this time: complete at once

    # undo: a dry run changes nothing; applying it makes all three undone, for good
    dry = client.undo_import(tenant, imp)
    step(COMPLETED)
    assert client.undo_import(tenant, imp, dry_run=False).counts == dry.counts
    step(UNDONE)
    for refused in (lambda: client.add_raw_records(tenant, imp, [{"Host": "web04"}]),
                    lambda: client.create_assets_from_discovery(tenant, flow.discovery_flow_id),
                    lambda: client.undo_import(tenant, imp)):
        with pytest.raises(FlowStateForbids), conn.transaction():
            refused()
    step(UNDONE)
    listed = next(i for i in client.list_data_imports(tenant).imports if i.id == imp)
    assert (listed["status"], listed["flow_status"]) == ("undone", "undone")
    assert client.wiring_health(tenant).healthy


def test_undo_while_conflicts_are_pending_closes_them(conn, api):
    client, tenant = api
    imp = client.create_data_import(tenant, "pending", "json", "pending.json")
    client.add_raw_records(tenant, imp, [{"hostname": "OMEGA"}, {"hostname": "beta"}])
    flow = client.start_discovery_flow(tenant, imp)
    assert client.create_assets_from_discovery(tenant, flow.discovery_flow_id).conflicts == 1
    conn.commit()
    assert state(conn, imp) == ACTIVE_WITH_CONFLICTS
    (conflict,) = pending(client, tenant, flow)

    report = client.undo_import(tenant, imp, dry_run=False)
    conn.commit()
    assert report.counts == {"assets_deleted": 1, "changes_reverted": 0, "changes_kept": 0,
                             "records_discarded": 2, "conflicts_closed": 1}
    assert state(conn, imp) == UNDONE
    assert pending(client, tenant, flow) == []
    (closed,) = client.list_conflicts(tenant, flow_id=flow.flow_id, status="resolved").conflicts
    assert closed.id == conflict.id and closed["resolution_note"] == "closed by undo_import"
    with pytest.raises(ConflictNotFound), conn.transaction():
        client.resolve_asset_conflict(tenant, conflict.id, "keep_existing")
    assert client.wiring_health(tenant)["import_quality"]["conflicts_pending"] == 0
