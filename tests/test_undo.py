"""undo_import through the client API.

Undoing imports newest first takes the tenant back to before the oldest: the
entries that log an undo's reverts are not changes someone made since.

On a real export: the RVTools workbook imported with a wrong
mapping (``Host`` → hostname, ``VM`` → a custom attribute: its 805 VMs
become one asset per ESXi host, and the records whose host the tenant knew
already rewrite that asset), then taken back through the client API. The
tenant is compared row by row with what it held before: live assets, the
records, flows, mappings, conflicts, changes and runs of every other import,
the counters, and the health. Then the right mapping (the rvtools_vinfo
profile's plan) makes the 805 assets.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest

from discovery_wiring import DiscoveryClient, Tenant
from discovery_wiring.profiles import catalog, plan_mappings
from discovery_wiring.readers import open_source

from _support import load_inventory, rows, run_import

WORKBOOK = Path(__file__).resolve().parent / "data" / "real-exports" / "rvtools-sizing-workshop" / \
    "SizingWorkshop-RVTools.xlsx"
WRONG_MAPPING = [{"source_field": "Host", "target_field": "hostname"},
                 {"source_field": "VM", "target_field": "vm_name"}]

# Every row of the tenant that does not belong to the import being undone
# (%(i)s its ID, %(f)s its discovery flow, %(m)s its master flow), per table.
OTHERS = {
    "data_imports": "id <> %(i)s",
    "raw_import_records": "data_import_id <> %(i)s",
    "import_field_mappings": "data_import_id <> %(i)s",
    "discovery_flows": "id <> %(f)s",
    "crewai_flow_state_extensions": "flow_id <> %(m)s",
    "asset_conflict_resolutions": "discovery_flow_id <> %(f)s",
    "asset_inventory_runs": "discovery_flow_id <> %(f)s",
    # the import's changes, and the entries that log their revert (no run, conflict or record;
    # written at the moment the import's changes were marked reverted)
    "asset_changes": "NOT EXISTS (SELECT FROM migration.asset_inventory_runs AS r WHERE r.client_account_id ="
                     " t.client_account_id AND r.id = t.run_id AND r.discovery_flow_id = %(f)s)"
                     " AND NOT (num_nonnulls(run_id, conflict_id, raw_import_record_id) = 0 AND changed_at IN ("
                     " SELECT c.reverted_at FROM migration.asset_changes AS c JOIN migration.asset_inventory_runs AS r"
                     " ON r.client_account_id = c.client_account_id AND r.id = c.run_id"
                     " WHERE r.discovery_flow_id = %(f)s))",
    "record_counts": "data_import_id <> %(i)s AND records <> 0",
    "asset_counts": "discovery_flow_id <> %(f)s AND live <> 0",
}


def others(conn, tenant, data_import_id=None, discovery_flow_id=None, master_flow_id=None) -> dict[str, list]:
    """The tenant's rows outside one import, per table, and its live assets
    (every column but updated_at, by ID)."""
    ids = {"c": tenant.client_account_id, "e": tenant.engagement_id, "i": data_import_id or uuid.uuid4(),
           "f": discovery_flow_id or uuid.uuid4(), "m": master_flow_id or uuid.uuid4()}
    found = {table: [r["row"] for r in rows(
        conn, f"SELECT to_jsonb(t) AS row FROM migration.{table} AS t WHERE client_account_id = %(c)s"
              f" AND engagement_id = %(e)s AND {where} ORDER BY 1", ids)]
        for table, where in OTHERS.items()}
    found["live assets"] = {r["id"]: r["row"] for r in rows(
        conn, "SELECT id, to_jsonb(a) - 'updated_at' AS row FROM migration.assets AS a WHERE client_account_id = %(c)s"
              " AND engagement_id = %(e)s AND deleted_at IS NULL", ids)}
    return found


def updated_at(conn, tenant) -> dict[uuid.UUID, object]:
    return {r["id"]: r["updated_at"] for r in rows(
        conn, "SELECT id, updated_at FROM migration.assets WHERE client_account_id = %s AND engagement_id = %s",
        tuple(tenant))}


def import_workbook(client, tenant, sheet: str, mappings, field_defaults=None, profile=None):
    source = open_source(WORKBOOK, sheet=sheet)
    data_import_id = client.create_data_import(tenant, f"RVTools {sheet}", "xlsx", WORKBOOK.name,
                                               source_system="RVTools")
    assert client.add_raw_records(tenant, data_import_id, source.records()) == sum(1 for _ in source.records())
    flow = client.start_discovery_flow(tenant, data_import_id)
    client.set_field_mappings(tenant, data_import_id, mappings, field_defaults=field_defaults, profile=profile)
    client.cleanse_records(tenant, flow.discovery_flow_id)
    return data_import_id, flow, client.create_assets_from_discovery(tenant, flow.discovery_flow_id)


def profile_plan(sheet: str, profile: str):
    plan = plan_mappings(open_source(WORKBOOK, sheet=sheet).headers, catalog().profile(profile))
    return {"mappings": plan.api_mappings(), "field_defaults": plan.field_defaults, "profile": plan.profile}


def test_undo_of_a_wrong_mapping_leaves_the_tenant_as_before(conn):
    client = DiscoveryClient(conn)
    # before: imports of other kinds (one with a pending conflict and a change), the ESXi hosts
    # from vHost, and a CMDB import that knows two of vInfo's hosts under other values
    inventory = load_inventory(client, conn.commit, conflicts=1)
    tenant = inventory.tenant
    known = client.create_data_import(tenant, "known hosts", "csv", "hosts.csv")
    client.add_raw_records(tenant, known, [
        {"hostname": "bovmsp-04.customer.com", "datacenter": "DC-old", "operating_system": "VMware ESXi 6.7",
         "asset_type": "esxi_host"},
        {"hostname": "bovmdmz4-01", "datacenter": "DC-old", "asset_type": "esxi_host"}])
    flow = client.start_discovery_flow(tenant, known)
    assert client.create_assets_from_discovery(tenant, flow.discovery_flow_id).created == 2
    *_, hosts = import_workbook(client, tenant, "vHost", **profile_plan("vHost", "rvtools_vhost"))
    assert hosts.created == 34
    conn.commit()
    before, health_before = others(conn, tenant), client.wiring_health(tenant, detail=True)
    stamps_before = updated_at(conn, tenant)
    assert len(before["live assets"]) == 4 + 2 + 34 and health_before.healthy
    assert health_before["import_quality"]["conflicts_pending"] == 1

    # the wrong mapping: one asset per ESXi host, and the known hosts rewritten by their VMs' rows
    wrong, flow, result = import_workbook(client, tenant, "vInfo", WRONG_MAPPING)
    conn.commit()
    assert result.created + result.matched == 805 and 25 <= result.created <= 38 and result.updated >= 2
    assert client.get_asset(tenant, next(a["id"] for a in client.list_assets(tenant, page_size=200).assets
                                         if a["hostname"] == "bovmsp-04.customer.com"))["asset"]["datacenter"] \
        == "Datacenter1"

    dry = client.undo_import(tenant, wrong)
    assert dry.dry_run and others(conn, tenant, wrong, flow.discovery_flow_id, flow.master_flow_id) != before
    applied = client.undo_import(tenant, wrong, dry_run=False)
    conn.commit()
    assert applied.counts == dry.counts
    assert applied.counts == {"assets_deleted": result.created, "changes_reverted": applied["changes_reverted"],
                              "changes_kept": 0, "records_discarded": 805, "conflicts_closed": 0}
    assert applied["changes_reverted"] >= result.updated

    after = others(conn, tenant, wrong, flow.discovery_flow_id, flow.master_flow_id)
    assert after.keys() == before.keys()
    for table in before:
        assert after[table] == before[table], table
    health_after = client.wiring_health(tenant, detail=True)
    assert health_after == health_before
    # the only trace on the assets it touched: the revert is a write, so their updated_at moved
    reverted = {r["asset_id"] for r in rows(
        conn, "SELECT DISTINCT c.asset_id FROM migration.asset_changes AS c JOIN migration.asset_inventory_runs AS r"
              " ON r.client_account_id = c.client_account_id AND r.id = c.run_id WHERE r.discovery_flow_id = %s",
        (flow.discovery_flow_id,))}
    stamps_after = updated_at(conn, tenant)
    assert {i for i, stamp in stamps_before.items() if stamps_after[i] != stamp} == reverted
    assert all(r.outcome == "discarded" for r in client.list_raw_records(tenant, data_import_id=wrong).records)
    statuses = {i.id: (i["status"], i["flow_status"]) for i in client.list_data_imports(tenant).imports}
    assert statuses[wrong] == ("undone", "undone")

    # the right mapping: one asset per VM
    _, right_flow, result = import_workbook(client, tenant, "vInfo", **profile_plan("vInfo", "rvtools_vinfo"))
    conn.commit()
    assert (result.created, result.matched, result.conflicts, result.invalid) == (805, 0, 0, 0)
    vms = client.list_assets(tenant, flow_id=right_flow.flow_id, asset_type="virtual_machine")
    assert vms.total_count == 805
    assert client.wiring_health(tenant).healthy


def test_undoing_imports_newest_first_restores_the_first_values(conn):
    client = DiscoveryClient(conn)
    tenant = Tenant(uuid.uuid4(), uuid.uuid4())
    client.register_tenant(tenant, "undo", "undo")
    run_import(client, tenant, "base", [{"hostname": "web01", "operating_system": "x", "environment": "dev"}])
    conn.commit()
    a = run_import(client, tenant, "A", [{"hostname": "web01", "operating_system": "y"}])
    conn.commit()
    b = run_import(client, tenant, "B", [{"hostname": "web01", "operating_system": "z", "environment": "prod"}])
    conn.commit()
    (asset_id,) = [x["id"] for x in client.list_assets(tenant).assets]

    def values():
        asset = client.get_asset(tenant, asset_id).asset
        return asset["operating_system"], asset["environment"]

    assert values() == ("z", "prod")
    assert client.undo_import(tenant, b.data_import_id, dry_run=False).counts["changes_reverted"] == 2
    conn.commit()
    assert values() == ("y", "dev")
    undo_a = client.undo_import(tenant, a.data_import_id, dry_run=False)
    conn.commit()
    assert (undo_a["changes_reverted"], undo_a["changes_kept"]) == (1, 0)
    assert values() == ("x", "dev")


def test_a_change_made_after_the_import_is_kept(conn):
    client = DiscoveryClient(conn)
    tenant = Tenant(uuid.uuid4(), uuid.uuid4())
    client.register_tenant(tenant, "undo", "undo")
    run_import(client, tenant, "base", [{"hostname": "web01", "operating_system": "x"}])
    conn.commit()
    a = run_import(client, tenant, "A", [{"hostname": "web01", "operating_system": "y", "environment": "dev"}])
    conn.commit()
    run_import(client, tenant, "B", [{"hostname": "web01", "operating_system": "z"}])
    conn.commit()
    undo_a = client.undo_import(tenant, a.data_import_id, dry_run=False)
    conn.commit()
    assert (undo_a["changes_reverted"], undo_a["changes_kept"]) == (1, 1)  # environment reverted, the OS kept
    asset = client.list_assets(tenant).assets[0]
    assert (asset["operating_system"], asset["environment"]) == ("z", None)


def pending_check_writes(conn) -> int:
    """A count of the row versions written to the tenants' pending wiring
    checks (migration.wiring_checks_pending) that grows by this transaction's
    writes: the server adds earlier transactions' until it reports its
    statistics, which it does only outside a transaction, so the difference
    of two readings in one transaction is exact. The table is found in the
    catalog: the backend's role may not name schema migration."""
    return conn.execute(
        "SELECT pg_stat_get_xact_tuples_inserted(c.oid) + pg_stat_get_xact_tuples_updated(c.oid)"
        " FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'migration' AND c.relname = 'wiring_checks_pending'").fetchone()[0]


def servers(n: int) -> list[dict]:
    return [{"hostname": f"srv-{i}"} for i in range(n)]


def test_undo_of_a_big_import_writes_the_pending_check_once_not_once_per_row(app_conn):
    """Undoing an import soft-deletes its assets and discards its records, one
    row at a time for the wiring triggers, which note wired assets for the
    check at COMMIT. Before migration 0014 each note rewrote the tenant's one
    pending-check row, and the n-th rewrite walked the n versions before it
    (none removable before the transaction ends): the dry run of an undo of
    100,000 records took 7 min 53 s. Through the backend's role, as a user
    undoes an import."""
    client = DiscoveryClient(app_conn)
    tenant = Tenant(uuid.uuid4(), uuid.uuid4())
    client.register_tenant(tenant, "undo", "undo")
    run = run_import(client, tenant, "big", servers(1500))
    app_conn.commit()
    assert run.result.created == 1500

    before = pending_check_writes(app_conn)
    counts = client.undo_import(tenant, run.data_import_id, dry_run=False).counts
    writes = pending_check_writes(app_conn) - before
    app_conn.commit()
    assert (counts["assets_deleted"], counts["records_discarded"]) == (1500, 1500)
    # it was 3,000 writes (two notes per asset); now at most the row inserted and its count set unknown
    # once (none here: a soft-deleted asset is not noted)
    assert writes <= 2, writes
    assert client.list_assets(tenant).total_count == 0
    assert client.wiring_health(tenant).healthy


def test_many_assets_noted_row_by_row_are_all_checked_at_commit(conn):
    """When notes leave the count of live notes unknown, the check at COMMIT
    reads them all: rewired in the same transaction, the commit passes;
    unwired, it is refused and changes nothing."""
    client = DiscoveryClient(conn)
    tenant = Tenant(uuid.uuid4(), uuid.uuid4())
    client.register_tenant(tenant, "unwire", "unwire")
    run = run_import(client, tenant, "big", servers(300))
    conn.commit()
    links = "SELECT id, asset_id FROM migration.raw_import_records WHERE data_import_id = %s ORDER BY id"
    linked = conn.execute(links, (run.data_import_id,)).fetchall()

    before = pending_check_writes(conn)
    conn.execute("UPDATE migration.raw_import_records SET asset_id = NULL WHERE data_import_id = %s",
                 (run.data_import_id,))
    conn.execute("UPDATE migration.raw_import_records AS r SET asset_id = a.id FROM migration.assets AS a"
                 " WHERE r.data_import_id = %s AND a.client_account_id = r.client_account_id"
                 " AND a.raw_import_records_id = r.id", (run.data_import_id,))
    assert pending_check_writes(conn) - before <= 2  # it was one write per record
    conn.commit()
    assert conn.execute(links, (run.data_import_id,)).fetchall() == linked

    before = pending_check_writes(conn)
    conn.execute("UPDATE migration.raw_import_records SET asset_id = NULL WHERE data_import_id = %s"
                 " AND row_number > 1", (run.data_import_id,))
    assert pending_check_writes(conn) - before <= 2
    with pytest.raises(psycopg.errors.CheckViolation) as refused:
        conn.commit()
    assert refused.value.diag.constraint_name == "assets_flow_based_wired"
    assert conn.execute(links, (run.data_import_id,)).fetchall() == linked
    assert client.wiring_health(tenant).healthy
