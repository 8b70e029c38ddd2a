"""The whole life of an import, driven as a backend drives it: through the
typed client, on a LOGIN role granted only ``discovery_app`` (no privilege on
any ``migration`` table), committing as that role after each step so that the
deferred wiring checks run as it too. Every ID the backend uses (raw records
to cleanse or to supply assets for, conflicts to resolve, the import to undo,
assets to read) it finds through the API. No query in this test runs as a
superuser; the database and the login role are made by the fixtures.

Load (add_raw_records and add_raw_records_bulk), map, cleanse, supply cleansed
data and assets, create with conflicts, resolve the four conflicts with the
four actions, list the imports, undo a wrong one, and read an asset's history.
"""

from __future__ import annotations

import uuid

from discovery_wiring import DiscoveryClient, Tenant

NAMES = ("alpha", "gamma", "delta", "omega")
MAPPING = {"Server": "hostname", "DNS": "fqdn", "IP": "ip_address", "OS": "operating_system", "Env": "environment"}


def every(page_call, **filters) -> list:
    """All items of a list_* call, page by page (pages of 200, the cap)."""
    items, page = [], 1
    while True:
        result = page_call(page=page, page_size=200, **filters)
        items += result.items
        if not result.has_next:
            return items
        page += 1


def test_the_life_of_an_import_as_the_app_role(app_conn):
    conn = app_conn
    assert conn.execute("SELECT current_user, current_setting('is_superuser')").fetchone() == ("dw_test_app", "off")
    app = DiscoveryClient(conn)
    tenant = Tenant(uuid.uuid4(), uuid.uuid4())
    app.register_tenant(tenant, "Backend client", "Backend engagement")
    conn.commit()

    def run_import(name, records, *, bulk=False):
        """Load, map (suggestions reviewed, then the backend's mapping approved), cleanse, commit."""
        data_import_id = app.create_data_import(tenant, name, "csv", f"{name}.csv", source_system="backend")
        if bulk:
            assert app.add_raw_records_bulk(tenant, data_import_id, records) == len(records)
        else:
            assert app.add_raw_records(tenant, data_import_id, records, chunk_size=4) == len(records)
        flow = app.start_discovery_flow(tenant, data_import_id, flow_name=name, user_id="backend")
        suggested = {s.source_field: s.target_field for s in app.suggest_field_mappings(tenant, data_import_id)}
        assert set(suggested) == {key for record in records for key in record}
        app.set_field_mappings(tenant, data_import_id, {s: t for s, t in MAPPING.items() if s in suggested})
        assert app.cleanse_records(tenant, flow.discovery_flow_id).cleansed == len(records)
        conn.commit()
        return data_import_id, flow

    # 1. the base inventory: two servers per short name, and web01
    base = [{"DNS": f"{name}.{zone}.example.com"} for name in NAMES for zone in ("a", "b")]
    base.append({"Server": "web01", "IP": "10.0.0.1", "OS": "Ubuntu 20.04", "Env": "dev"})
    _, base_flow = run_import("base", base)
    assert app.create_assets_from_discovery(tenant, base_flow.discovery_flow_id).created == 9
    conn.commit()

    # 2. a refresh, loaded as one jsonb[]: four records known only by a short name (conflicts),
    # web01 refreshed, one whose cleansing the backend does itself, one whose asset it computes
    refresh = [{"Server": name.upper(), "OS": f"{name}-os", "Env": "prod"} for name in NAMES]
    refresh += [{"Server": "web01", "OS": "Ubuntu 22.04"}, {"Server": "  app03 ", "OS": "n/a"}, {"Server": "cache01"}]
    refresh_import, flow = run_import("refresh", refresh, bulk=True)
    pending = {r["raw_data"]["Server"].strip(): r for r in every(
        lambda **kw: app.list_raw_records(tenant, **kw), flow_id=flow.flow_id, outcome="pending")}
    assert set(pending) == {"ALPHA", "GAMMA", "DELTA", "OMEGA", "web01", "app03", "cache01"}
    assert app.persist_cleansed_data(tenant, flow.discovery_flow_id, [
        {"raw_import_record_id": pending["app03"].id,
         "cleansed_data": {"hostname": "app03", "operating_system": "RHEL 9", "environment": "prod"}}]) == 1
    conn.commit()
    supplied = app.create_assets_from_discovery(tenant, flow.discovery_flow_id, assets=[
        {"raw_import_record_id": str(pending["cache01"].id), "hostname": "cache01", "asset_type": "server",
         "operating_system": "Alpine 3.20"}])
    assert (supplied.created, supplied.matched, supplied.conflicts) == (1, 0, 0)
    conn.commit()
    derived = app.create_assets_from_discovery(tenant, flow.discovery_flow_id)
    assert (derived.created, derived.matched, derived.conflicts, derived.updated) == (1, 1, 4, 1)
    conn.commit()

    # 3. the four conflicts, found through the API, each resolved with its own action
    conflicts = {c["new_asset_data"]["hostname"]: c
                 for c in every(lambda **kw: app.list_conflicts(tenant, **kw), flow_id=flow.discovery_flow_id)}
    assert set(conflicts) == {"ALPHA", "GAMMA", "DELTA", "OMEGA"}
    assert all(len(c.candidates) == 2 and c.raw_import_record_id == pending[h].id for h, c in conflicts.items())
    actions = {"ALPHA": ("keep_existing", None), "GAMMA": ("replace_with_new", None),
               "DELTA": ("merge", ["operating_system"]), "OMEGA": ("create_new", None)}
    linked = {}
    for host, (action, fields) in actions.items():
        linked[host] = app.resolve_asset_conflict(tenant, conflicts[host].id, action, merge_fields=fields)
        conn.commit()
    assert [linked[h] == conflicts[h].existing_asset_id for h in actions] == [True, True, True, False]

    alpha = app.get_asset(tenant, linked["ALPHA"])
    assert (alpha.asset["operating_system"], alpha.changes) == (None, [])
    assert pending["ALPHA"].id in {uuid.UUID(r["id"]) for r in alpha.records}
    gamma = app.get_asset(tenant, linked["GAMMA"])
    assert (gamma.asset["operating_system"], gamma.asset["environment"]) == ("gamma-os", "prod")
    assert {c["field"] for c in gamma.changes} == {"operating_system", "environment"}
    assert {c["conflict_id"] for c in gamma.changes} == {str(conflicts["GAMMA"].id)}
    delta = app.get_asset(tenant, linked["DELTA"])
    assert (delta.asset["operating_system"], delta.asset["environment"]) == ("delta-os", None)
    omega = app.get_asset(tenant, linked["OMEGA"])
    assert omega.asset["hostname"] == "OMEGA" and omega.lineage["raw_import_record_id"] == str(pending["OMEGA"].id)
    assert app.list_conflicts(tenant, flow_id=flow.flow_id).total_count == 0
    assert app.list_raw_records(tenant, flow_id=flow.flow_id, outcome="conflict").total_count == 0

    # 4. the imports, as listed
    imports = {i["import_name"]: i for i in every(lambda **kw: app.list_data_imports(tenant, **kw))}
    assert imports["refresh"].id == refresh_import
    assert imports["refresh"].outcomes == {"created": 3, "matched": 4, "conflict": 0, "invalid": 0, "discarded": 0,
                                           "pending": 0, "with_warnings": 0}
    assert (imports["refresh"]["status"], imports["refresh"]["flow_status"]) == ("completed", "completed")
    by_host = {a["hostname"]: a for a in every(lambda **kw: app.list_assets(tenant, **kw))}
    assert by_host["app03"]["operating_system"] == "RHEL 9"  # the cleansed data the backend supplied
    assert by_host["cache01"]["operating_system"] == "Alpine 3.20"  # the asset the backend computed
    health = app.wiring_health(tenant)
    assert health.healthy and health["import_quality"]["conflicts_pending"] == 0

    # 5. a wrong import, found in the list and undone: a dry run, then for real
    run_import("wrong", [{"Server": "junk1"}, {"Server": "junk2"}, {"Server": "web01", "OS": "WRONG"}])
    wrong_flow = app.list_data_imports(tenant).imports[0]
    assert wrong_flow["import_name"] == "wrong"
    result = app.create_assets_from_discovery(tenant, wrong_flow.discovery_flow_id)
    assert (result.created, result.matched, result.updated) == (2, 1, 1)
    conn.commit()
    assert by_host["web01"]["id"] in {a["id"] for a in app.list_assets(tenant, page_size=200).assets}
    dry = app.undo_import(tenant, wrong_flow.id)
    assert dry.dry_run and dry.counts == {"assets_deleted": 2, "changes_reverted": 1, "changes_kept": 0,
                                          "records_discarded": 3, "conflicts_closed": 0}
    conn.commit()
    assert app.undo_import(tenant, wrong_flow.id, dry_run=False).counts == dry.counts
    conn.commit()
    assert {a["hostname"] for a in every(lambda **kw: app.list_assets(tenant, **kw))} == set(by_host)
    assert app.list_raw_records(tenant, data_import_id=wrong_flow.id, outcome="discarded").total_count == 3
    assert app.wiring_health(tenant).healthy

    # 6. web01's history: created by the base import, refreshed, rewritten by the wrong import, reverted
    web01 = app.get_asset(tenant, by_host["web01"]["id"])
    assert web01.asset["operating_system"] == "Ubuntu 22.04" and not web01.deleted
    assert web01.lineage["data_import_id"] == str(imports["base"].id)
    assert [(c["old_value"], c["new_value"], c["reverted_at"] is not None) for c in web01.changes
            if c["field"] == "operating_system"] == [("WRONG", "Ubuntu 22.04", False),
                                                     ("Ubuntu 22.04", "WRONG", True),
                                                     ("Ubuntu 20.04", "Ubuntu 22.04", False)]
    assert [r["processing_status"] for r in web01.records] == ["created", "matched"]
