"""resolve_asset_conflict: every action links the conflicted raw record (the
old platform never linked these), writes only what the action allows, and
logs each value it writes in asset_changes; create_new makes the record its
own asset; errors WR007 / WR006 / WR008 change nothing; the flow's inventory
phase completes exactly when its last pending conflict is resolved.

A conflict is built the way it happens under DESIGN.md's identity rules:
asset A (alpha.a.example.com) and, later, asset B (alpha.b.example.com)
exist; a record known only by the host name ALPHA shares its highest key (the
short name) with both, so both are candidates; A, the older, is the existing
asset.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest

from _support import (
    GAP_KEYS,
    T,
    asset,
    create_assets,
    independent_gaps,
    new_tenant,
    pending_conflicts,
    raises_wr,
    raw_records,
    resolve_conflict,
    row,
    rows,
    run_flow,
    snapshot,
    val,
    wiring_health,
)

ASSET_A = {"fqdn": "alpha.a.example.com", "ip_address": "10.0.0.1", "operating_system": "linux", "os_version": "8",
           "cpu_cores": "2", "memory_gb": "4", "environment": "dev", "location": "paris", "asset_type": "server",
           "team": "blue"}
ASSET_B = {"fqdn": "alpha.b.example.com", "ip_address": "10.0.0.2", "operating_system": "linux"}
# the conflicting record: identity fields that differ from A's, non-identity fields that
# differ, a source field with no column, and keys named like tenant and flow columns
NEW = {"hostname": "ALPHA", "ip_address": "10.0.0.3", "name": "alpha-renamed",
       "asset_type": "virtual_machine", "operating_system": "windows", "cpu_cores": "8", "environment": "prod",
       "criticality": "high", "owner_team": "red",
       "client_account_id": str(uuid.uuid4()), "engagement_id": str(uuid.uuid4()),
       "discovery_flow_id": str(uuid.uuid4()), "master_flow_id": str(uuid.uuid4()),
       "raw_import_records_id": str(uuid.uuid4()), "flow_id": str(uuid.uuid4())}

IDENTITY_AND_WIRING = ("client_account_id", "engagement_id", "id", "name", "hostname", "fqdn", "ip_address",
                       "external_ids", "discovery_flow_id", "master_flow_id", "flow_id", "raw_import_records_id",
                       "discovery_method", "created_at", "deleted_at")


@pytest.fixture
def t(conn) -> T:
    return new_tenant(conn)


def build_conflict(conn, tenant, new=NEW, extra_records=()):
    """Flow 1 makes A, flow 2 (committed later) makes B; flow 3's first record
    conflicts. Returns (flow 3, its conflict row, asset A, asset B, the conflicted record)."""
    first, _ = run_flow(conn, tenant, [ASSET_A], import_name="first")
    conn.commit()
    second, _ = run_flow(conn, tenant, [ASSET_B], import_name="second")
    conn.commit()
    a_id = raw_records(conn, first.data_import_id)[0]["asset_id"]
    b_id = raw_records(conn, second.data_import_id)[0]["asset_id"]
    third, result = run_flow(conn, tenant, [new, *extra_records], import_name="third")
    assert result["conflicts"] >= 1
    conflicts = pending_conflicts(conn, third.discovery_flow_id)
    record = raw_records(conn, third.data_import_id)[0]
    conflict = next(c for c in conflicts if c["raw_import_record_id"] == record["id"])
    assert conflict["existing_asset_id"] == a_id  # the older of two candidates of one rank
    assert set(conflict["candidate_asset_ids"]) == {a_id, b_id}
    assert record["processing_status"] == "conflict" and record["asset_id"] is None and record["is_processed"]
    return third, conflict, asset(conn, a_id), asset(conn, b_id), record


def assert_linked_and_resolved(conn, tenant, conflict, action, existing_id, returned):
    assert returned == existing_id
    record = row(conn, "select * from migration.raw_import_records where id = %s", (conflict["raw_import_record_id"],))
    assert record["asset_id"] == existing_id
    assert record["processing_status"] == "matched"
    assert record["is_processed"] and record["processed_at"] is not None
    done = row(conn, "select * from migration.asset_conflict_resolutions where id = %s", (conflict["id"],))
    assert done["resolution_status"] == "resolved"
    assert done["resolution_action"] == action
    assert done["resolved_at"] is not None
    assert done["resolved_asset_id"] == existing_id
    report = wiring_health(conn, tenant)
    assert report["health_status"] == "healthy", {k: report[k] for k in GAP_KEYS if report[k]}
    assert not any(independent_gaps(conn, tenant).values())


def test_keep_existing_links_the_record_and_leaves_the_asset_untouched(conn, t):
    flow, conflict, a, b, _ = build_conflict(conn, t)
    returned = resolve_conflict(conn, t, conflict["id"], "keep_existing")
    assert_linked_and_resolved(conn, t, conflict, "keep_existing", a["id"], returned)
    assert asset(conn, a["id"]) == a  # not a column touched, updated_at included
    assert asset(conn, b["id"]) == b


def test_replace_with_new_overwrites_only_non_identity_fields(conn, t):
    flow, conflict, a, b, _ = build_conflict(conn, t)
    returned = resolve_conflict(conn, t, conflict["id"], "replace_with_new")
    assert_linked_and_resolved(conn, t, conflict, "replace_with_new", a["id"], returned)
    after = asset(conn, a["id"])
    # identity, tenant and flow columns: never (not even filled: hostname stays empty)
    assert {c: after[c] for c in IDENTITY_AND_WIRING} == {c: a[c] for c in IDENTITY_AND_WIRING}
    assert after["hostname"] is None and after["ip_address"] == "10.0.0.1" and after["fqdn"] == "alpha.a.example.com"
    # the new data's other fields: yes, each logged as a change naming the conflict
    assert after["asset_type"] == "virtual_machine"
    assert after["operating_system"] == "windows"
    assert after["cpu_cores"] == 8
    assert after["environment"] == "prod"
    assert after["criticality"] == "high"
    assert after["custom_attributes"]["owner_team"] == "red"
    # fields the new data does not carry stay
    assert after["location"] == "paris" and after["os_version"] == "8" and after["memory_gb"] == 4
    assert after["custom_attributes"]["team"] == "blue"
    assert after["updated_at"] >= a["updated_at"]
    assert asset(conn, b["id"]) == b
    logged = {c["field"]: (c["old_value"], c["new_value"]) for c in rows(
        conn, "select * from migration.asset_changes where conflict_id = %s", (conflict["id"],))}
    assert logged["operating_system"] == ("linux", "windows") and logged["cpu_cores"] == (2, 8)
    assert logged["custom_attributes.owner_team"] == (None, "red")
    assert not set(logged) & {"hostname", "name", "fqdn", "ip_address"}


def test_create_new_makes_the_record_its_own_asset(conn, t):
    flow, conflict, a, b, record = build_conflict(conn, t)
    returned = resolve_conflict(conn, t, conflict["id"], "create_new")
    assert returned not in (a["id"], b["id"])
    made = asset(conn, returned)
    assert (made["hostname"], made["name"], made["operating_system"]) == ("ALPHA", "alpha-renamed", "windows")
    assert made["raw_import_records_id"] == record["id"] and made["discovery_flow_id"] == flow.discovery_flow_id
    assert made["discovery_method"] == "flow_based"
    linked = row(conn, "select * from migration.raw_import_records where id = %s", (record["id"],))
    assert (linked["asset_id"], linked["processing_status"]) == (returned, "created")
    done = row(conn, "select * from migration.asset_conflict_resolutions where id = %s", (conflict["id"],))
    assert (done["resolution_status"], done["resolution_action"], done["resolved_asset_id"]) == \
        ("resolved", "create_new", returned)
    assert asset(conn, a["id"]) == a and asset(conn, b["id"]) == b
    assert wiring_health(conn, t)["health_status"] == "healthy"


def test_keep_existing_of_an_asset_deleted_since_is_wr008(conn, t):
    flow, conflict, a, b, record = build_conflict(conn, t)
    conn.execute("update migration.assets set deleted_at = now() where id = %s", (a["id"],))
    before = snapshot(conn)
    for action in ("keep_existing", "replace_with_new"):
        with raises_wr(conn, "WR008"):
            resolve_conflict(conn, t, conflict["id"], action)
    assert snapshot(conn) == before
    assert resolve_conflict(conn, t, conflict["id"], "create_new") not in (a["id"], b["id"])


@pytest.mark.parametrize("fields, changed", [
    (["cpu_cores"], {"cpu_cores": 8}),
    (["operating_system", "environment"], {"operating_system": "windows", "environment": "prod"}),
    (["owner_team"], {}),
    (["criticality", "location"], {"criticality": "high"}),  # location: not in the new data, kept
])
def test_merge_copies_only_the_named_fields(conn, t, fields, changed):
    flow, conflict, a, b, _ = build_conflict(conn, t)
    returned = resolve_conflict(conn, t, conflict["id"], "merge", fields)
    assert_linked_and_resolved(conn, t, conflict, "merge", a["id"], returned)
    after = asset(conn, a["id"])
    ignore = {"updated_at", "custom_attributes"}
    expected = {k: v for k, v in a.items() if k not in ignore} | changed
    assert {k: v for k, v in after.items() if k not in ignore} == expected
    expected_custom = dict(a["custom_attributes"]) | ({"owner_team": "red"} if "owner_team" in fields else {})
    assert after["custom_attributes"] == expected_custom


@pytest.mark.parametrize("field", ["hostname", "name", "ip_address", "fqdn", "asset_type"])
def test_merge_of_an_identity_field_is_refused_and_changes_nothing(conn, t, field):
    flow, conflict, a, b, _ = build_conflict(conn, t)
    before = snapshot(conn)
    with raises_wr(conn, "WR006"):
        resolve_conflict(conn, t, conflict["id"], "merge", ["cpu_cores", field])
    assert snapshot(conn) == before


@pytest.mark.parametrize("fields", [None, [], "{}", [1]])
def test_merge_without_a_list_of_field_names_is_a_malformed_payload(conn, t, fields):
    flow, conflict, a, b, _ = build_conflict(conn, t)
    before = snapshot(conn)
    with raises_wr(conn, "WR005"):
        resolve_conflict(conn, t, conflict["id"], "merge", fields)
    assert snapshot(conn) == before


@pytest.mark.parametrize("action", ["delete", "KEEP_EXISTING", "", None])
def test_unknown_action_is_wr006_and_changes_nothing(conn, t, action):
    flow, conflict, a, b, _ = build_conflict(conn, t)
    before = snapshot(conn)
    with raises_wr(conn, "WR006"):
        resolve_conflict(conn, t, conflict["id"], action)
    assert snapshot(conn) == before
    assert pending_conflicts(conn, flow.discovery_flow_id)[0]["id"] == conflict["id"]


def test_unknown_conflict_is_wr007(conn, t):
    build_conflict(conn, t)
    before = snapshot(conn)
    with raises_wr(conn, "WR007") as info:
        resolve_conflict(conn, t, uuid.uuid4(), "keep_existing")
    assert "conflict" in info.value.diag.message_primary
    assert snapshot(conn) == before


@pytest.mark.parametrize("second_action", ["keep_existing", "replace_with_new", "merge"])
def test_an_already_resolved_conflict_is_wr007_and_changes_nothing(conn, t, second_action):
    flow, conflict, a, b, _ = build_conflict(conn, t)
    resolve_conflict(conn, t, conflict["id"], "keep_existing")
    before = snapshot(conn)
    with raises_wr(conn, "WR007") as info:
        resolve_conflict(conn, t, conflict["id"], second_action,
                         ["cpu_cores"] if second_action == "merge" else None)
    assert str(conflict["id"]) in info.value.diag.message_detail
    assert snapshot(conn) == before


def test_a_conflict_of_another_tenant_is_wr007(conn, t):
    _, conflict, a, _, _ = build_conflict(conn, t)
    other = new_tenant(conn, name="Other")
    same_client = new_tenant(conn, client_account_id=t.client_account_id, name="Same client")
    before = snapshot(conn)
    for tenant in (other, same_client):
        with raises_wr(conn, "WR007"):
            resolve_conflict(conn, tenant, conflict["id"], "replace_with_new")
    assert snapshot(conn) == before
    # and the owner still can
    assert resolve_conflict(conn, t, conflict["id"], "keep_existing") == a["id"]


def test_unknown_tenant_is_wr001(conn, t):
    _, conflict, _, _, _ = build_conflict(conn, t)
    with raises_wr(conn, "WR001"):
        resolve_conflict(conn, T(uuid.uuid4(), uuid.uuid4()), conflict["id"], "keep_existing")


def test_inventory_completes_exactly_when_the_last_pending_conflict_is_resolved(conn, t):
    extra = [{"hostname": "alpha", "operating_system": "aix"},  # conflict A/B again
             {"hostname": "gamma"},  # new
             {"fqdn": "alpha.b.example.com"}]  # matched B
    flow, conflict, a, b, _ = build_conflict(conn, t, extra_records=extra)

    def flow_state():
        return row(conn, "select asset_inventory_completed, status, current_phase from migration.discovery_flows"
                         " where id = %s", (flow.discovery_flow_id,))

    conflicts = pending_conflicts(conn, flow.discovery_flow_id)
    assert len(conflicts) == 2
    assert flow_state()["asset_inventory_completed"] is False
    actions = ["merge", "replace_with_new"]
    for k, c in enumerate(conflicts):
        resolve_conflict(conn, t, c["id"], actions[k], ["operating_system"] if actions[k] == "merge" else None)
        state = flow_state()
        last = k == len(conflicts) - 1
        assert state["asset_inventory_completed"] is last, (k, state)
        if last:
            assert state["status"] == "completed" and state["current_phase"] == "completed"
    assert pending_conflicts(conn, flow.discovery_flow_id) == []
    # every record of the flow is linked now, and a new call has nothing to do
    assert all(r["asset_id"] for r in raw_records(conn, flow.data_import_id))
    again = create_assets(conn, t, flow.discovery_flow_id)
    assert again["run_id"] is None
    assert wiring_health(conn, t)["health_status"] == "healthy"


def test_inventory_stays_incomplete_while_records_are_unhandled(conn, t):
    """Resolving the last conflict does not complete a flow that still has
    unprocessed records (added after its run)."""
    flow, conflict, a, b, _ = build_conflict(conn, t)
    from _support import add_raw_records
    add_raw_records(conn, t, flow.data_import_id, [{"hostname": "late"}])
    resolve_conflict(conn, t, conflict["id"], "keep_existing")
    assert val(conn, "select asset_inventory_completed from migration.discovery_flows where id = %s",
               (flow.discovery_flow_id,)) is False
    create_assets(conn, t, flow.discovery_flow_id)
    assert val(conn, "select asset_inventory_completed from migration.discovery_flows where id = %s",
               (flow.discovery_flow_id,)) is True


def test_a_conflict_across_three_assets_links_to_the_highest_ranked_one(conn, t):
    """Candidates found on different keys: each shares its highest key with the
    record (the short name for two FQDNs, the IP for an asset known only by
    it); the existing asset is the one of the highest-ranked key."""
    first, _ = run_flow(conn, t, [{"fqdn": "h1.a.example.com"}], import_name="first")
    conn.commit()
    second, _ = run_flow(conn, t, [{"fqdn": "h1.b.example.com"}, {"ip_address": "10.9.9.3"}], import_name="second")
    ids = [raw_records(conn, first.data_import_id)[0]["asset_id"],
           *(r["asset_id"] for r in raw_records(conn, second.data_import_id))]
    third, result = run_flow(conn, t, [{"hostname": "H1", "ip_address": "10.9.9.3"}], import_name="third")
    assert result["conflicts"] == 1
    (conflict,) = pending_conflicts(conn, third.discovery_flow_id)
    assert conflict["existing_asset_id"] == ids[0]
    assert set(conflict["candidate_asset_ids"]) == set(ids)
    returned = resolve_conflict(conn, t, conflict["id"], "replace_with_new")
    assert_linked_and_resolved(conn, t, conflict, "replace_with_new", conflict["existing_asset_id"], returned)


def test_resolutions_commit_and_are_seen_by_other_sessions(db_url, conn, t):
    """The caller's transaction is the unit of work: uncommitted, another
    session sees the conflict pending; committed, resolved and linked."""
    _, conflict, a, _, record = build_conflict(conn, t)
    conn.commit()
    resolve_conflict(conn, t, conflict["id"], "keep_existing")
    with psycopg.connect(db_url) as other:
        assert val(other, "select resolution_status from migration.asset_conflict_resolutions where id = %s",
                   (conflict["id"],)) == "pending"
        conn.commit()
        assert val(other, "select asset_id from migration.raw_import_records where id = %s",
                   (record["id"],)) == a["id"]
        assert rows(other, "select resolution_status from migration.asset_conflict_resolutions where id = %s",
                    (conflict["id"],)) == [{"resolution_status": "resolved"}]
