"""Hostile tenants: IDs of another tenant, and tenants that do not exist.

The backend's login role (``app_conn``) calls every API function for its own
tenant with the IDs of another tenant (another client account, or another
engagement of the same client account, which shares the primary keys' first
column), and for tenants nobody registered. Every call fails with the exact
SQLSTATE (WR001/WR002/WR003/WR004/WR007/WR009) and changes no row of any
`migration` table; the reads that succeed show nothing of the other tenant.
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from _support import (
    T,
    add_raw_records,
    assets_through_api,
    build_world,
    cleanse_records,
    cloned_database,
    create_assets,
    create_data_import,
    get_asset,
    list_assets,
    list_conflicts,
    list_data_imports,
    list_raw_records,
    new_tenant,
    persist_cleansed_data,
    refused,
    register_tenant,
    repair,
    resolve_conflict,
    resolve_flow,
    set_field_mappings,
    start_discovery_flow,
    suggest_field_mappings,
    undo_import,
    val,
    wiring_health,
)


@pytest.fixture(scope="module")
def db_url(server_url, template_url):
    """One database for the module; each test builds its own tenants."""
    with cloned_database(server_url, template_url) as url:
        yield url


@pytest.fixture
def mine(app_conn):
    return build_world(app_conn)


@pytest.fixture(params=["other-client", "same-client-other-engagement"])
def theirs(request, app_conn, mine):
    if request.param == "other-client":
        return build_world(app_conn)
    return build_world(app_conn, new_tenant(app_conn, mine.tenant.client_account_id))


def asset_of(world):
    return next(r["asset_id"] for r in world.done_records if r["asset_id"])


# (case, sqlstate, attempt(app, mine, theirs)): my tenant, their ID
CROSS = [
    ("add-records-to-their-import", "WR003",
     lambda app, m, t: add_raw_records(app, m.tenant, t.pending.data_import_id, [{"hostname": "x"}])),
    ("start-flow-on-their-import", "WR003",
     lambda app, m, t: start_discovery_flow(app, m.tenant, t.pending.data_import_id)),
    ("suggest-for-their-import", "WR003",
     lambda app, m, t: suggest_field_mappings(app, m.tenant, t.pending.data_import_id)),
    ("map-their-import", "WR003",
     lambda app, m, t: set_field_mappings(app, m.tenant, t.pending.data_import_id, {"hostname": "name"})),
    ("cleanse-their-flow", "WR002", lambda app, m, t: cleanse_records(app, m.tenant, t.pending.discovery_flow_id)),
    ("persist-into-their-flow", "WR002", lambda app, m, t: persist_cleansed_data(
        app, m.tenant, t.pending.discovery_flow_id,
        [{"raw_import_record_id": str(t.pending_records[0]["id"]), "cleansed_data": {"hostname": "x"}}])),
    ("persist-their-record-into-my-flow", "WR004", lambda app, m, t: persist_cleansed_data(
        app, m.tenant, m.pending.discovery_flow_id,
        [{"raw_import_record_id": str(t.pending_records[0]["id"]), "cleansed_data": {"hostname": "x"}}])),
    ("create-assets-of-their-flow", "WR002",
     lambda app, m, t: create_assets(app, m.tenant, t.pending.discovery_flow_id)),
    ("create-assets-of-their-flow-dry", "WR002",
     lambda app, m, t: create_assets(app, m.tenant, t.pending.discovery_flow_id, dry_run=True)),
    ("create-assets-of-their-master-flow", "WR002",
     lambda app, m, t: create_assets(app, m.tenant, t.pending.master_flow_id)),
    ("supply-their-record", "WR004", lambda app, m, t: create_assets(
        app, m.tenant, m.pending.discovery_flow_id,
        [{"raw_import_record_id": str(t.pending_records[0]["id"]), "hostname": "x"}])),
    ("resolve-their-conflict", "WR007",
     lambda app, m, t: resolve_conflict(app, m.tenant, t.conflict["id"], "create_new")),
    ("resolve-their-conflict-keep", "WR007",
     lambda app, m, t: resolve_conflict(app, m.tenant, t.conflict["id"], "keep_existing")),
    ("list-assets-of-their-flow", "WR002",
     lambda app, m, t: list_assets(app, m.tenant, flow_id=t.done.discovery_flow_id)),
    ("list-conflicts-of-their-flow", "WR002",
     lambda app, m, t: list_conflicts(app, m.tenant, flow_id=t.conflicted.flow_id)),
    ("list-records-of-their-import", "WR003",
     lambda app, m, t: list_raw_records(app, m.tenant, data_import_id=t.done.data_import_id)),
    ("list-records-of-their-flow", "WR002",
     lambda app, m, t: list_raw_records(app, m.tenant, flow_id=t.done.discovery_flow_id)),
    ("resolve-their-discovery-flow", "WR002", lambda app, m, t: resolve_flow(app, m.tenant, t.done.discovery_flow_id)),
    ("resolve-their-master-flow", "WR002", lambda app, m, t: resolve_flow(app, m.tenant, t.done.master_flow_id)),
    ("get-their-asset", "WR009", lambda app, m, t: get_asset(app, m.tenant, asset_of(t))),
    ("undo-their-import-dry", "WR003", lambda app, m, t: undo_import(app, m.tenant, t.done.data_import_id)),
    ("undo-their-import", "WR003",
     lambda app, m, t: undo_import(app, m.tenant, t.done.data_import_id, dry_run=False)),
    ("their-tenant-with-my-flow", "WR002",
     lambda app, m, t: create_assets(app, t.tenant, m.pending.discovery_flow_id)),
    ("their-tenant-with-my-import", "WR003",
     lambda app, m, t: add_raw_records(app, t.tenant, m.pending.data_import_id, [{"hostname": "x"}])),
]


@pytest.mark.parametrize(("sqlstate", "attempt"), [c[1:] for c in CROSS], ids=[c[0] for c in CROSS])
def test_an_id_of_another_tenant_is_not_found_and_changes_nothing(conn, app_conn, mine, theirs, sqlstate, attempt):
    with refused(conn, app_conn, sqlstate):
        attempt(app_conn, mine, theirs)


# (case, attempt(app, tenant, world)): every function of an unregistered tenant
UNKNOWN_TENANT = [
    ("create-data-import", lambda app, t, w: create_data_import(app, t)),
    ("add-records", lambda app, t, w: add_raw_records(app, t, w.pending.data_import_id, [{"hostname": "x"}])),
    ("start-flow", lambda app, t, w: start_discovery_flow(app, t, w.pending.data_import_id)),
    ("suggest", lambda app, t, w: suggest_field_mappings(app, t, w.pending.data_import_id)),
    ("map", lambda app, t, w: set_field_mappings(app, t, w.pending.data_import_id, {"a": "name"})),
    ("cleanse", lambda app, t, w: cleanse_records(app, t, w.pending.discovery_flow_id)),
    ("persist", lambda app, t, w: persist_cleansed_data(app, t, w.pending.discovery_flow_id, [])),
    ("create-assets", lambda app, t, w: create_assets(app, t, w.pending.discovery_flow_id)),
    ("resolve-conflict", lambda app, t, w: resolve_conflict(app, t, w.conflict["id"], "create_new")),
    ("list-assets", lambda app, t, w: list_assets(app, t)),
    ("list-conflicts", lambda app, t, w: list_conflicts(app, t)),
    ("list-records", lambda app, t, w: list_raw_records(app, t)),
    ("list-imports", lambda app, t, w: list_data_imports(app, t)),
    ("get-asset", lambda app, t, w: get_asset(app, t, asset_of(w))),
    ("resolve-flow", lambda app, t, w: resolve_flow(app, t, w.done.flow_id)),
    ("wiring-health", lambda app, t, w: wiring_health(app, t)),
    ("repair", lambda app, t, w: repair(app, t, dry_run=False)),
    ("undo", lambda app, t, w: undo_import(app, t, w.done.data_import_id, dry_run=False)),
]

UNKNOWN_KINDS = {
    "my-client-their-engagement": lambda w, other: T(w.tenant.client_account_id, other.tenant.engagement_id),
    "their-client-my-engagement": lambda w, other: T(other.tenant.client_account_id, w.tenant.engagement_id),
    "random": lambda w, other: T(uuid.uuid4(), uuid.uuid4()),
    "nil": lambda w, other: T(uuid.UUID(int=0), uuid.UUID(int=0)),
}


@pytest.mark.parametrize(("kind"), ["my-client-their-engagement", "their-client-my-engagement", "random", "nil"])
@pytest.mark.parametrize("attempt", [c[1] for c in UNKNOWN_TENANT], ids=[c[0] for c in UNKNOWN_TENANT])
def test_an_unregistered_tenant_is_refused_by_every_function(conn, app_conn, mine, attempt, kind):
    other = SimpleNamespace(tenant=new_tenant(app_conn))
    app_conn.commit()
    with refused(conn, app_conn, "WR001"):
        attempt(app_conn, UNKNOWN_KINDS[kind](mine, other), mine)


def test_null_tenant_ids_are_refused(conn, app_conn, mine):
    with refused(conn, app_conn, "WR001"):
        val(app_conn, "select discovery.list_assets(p_client_account_id => null::uuid, p_engagement_id => %s::uuid)",
            (mine.tenant.engagement_id,))


def test_another_clients_engagement_id_registered_under_my_client_sees_nothing_of_theirs(conn, app_conn, mine):
    theirs = build_world(app_conn)
    borrowed = T(mine.tenant.client_account_id, theirs.tenant.engagement_id)
    register_tenant(app_conn, borrowed)
    app_conn.commit()
    assert assets_through_api(app_conn, borrowed) == []
    assert list_data_imports(app_conn, borrowed)["imports"] == []
    assert list_conflicts(app_conn, borrowed)["conflicts"] == []
    assert list_raw_records(app_conn, borrowed)["records"] == []
    health = wiring_health(app_conn, borrowed)
    assert health["health_status"] == "healthy" and health["import_quality"]["conflicts_pending"] == 0
    with refused(conn, app_conn, "WR009"):
        get_asset(app_conn, borrowed, asset_of(theirs))


def test_my_reads_name_none_of_their_ids(app_conn, mine, theirs):
    their_ids = {str(r["id"]) for r in theirs.done_records + theirs.pending_records} | \
        {str(r["asset_id"]) for r in theirs.done_records if r["asset_id"]} | {str(theirs.conflict["id"])}
    seen = str([assets_through_api(app_conn, mine.tenant), list_conflicts(app_conn, mine.tenant, status=None),
                list_raw_records(app_conn, mine.tenant, page_size=200), list_data_imports(app_conn, mine.tenant),
                wiring_health(app_conn, mine.tenant, detail=True)])
    assert not [i for i in their_ids if i in seen]
