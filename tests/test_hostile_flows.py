"""Hostile flows: malformed payloads, mapping attacks and state-machine abuse.

Every refused call is made by the backend's login role (``app_conn``: only
discovery_app) and must fail with its exact SQLSTATE (a WR code with DETAIL
and HINT, DESIGN.md "Errors") and change nothing: every row of every
`migration` table is compared before and after (``_support.refused``). The
calls that must succeed despite hostile input check what they wrote.
"""

from __future__ import annotations

import uuid

import pytest

from _support import (
    World,
    add_raw_records,
    assets_through_api,
    build_world,
    cleanse_records,
    cloned_database,
    create_assets,
    get_asset,
    j,
    list_assets,
    list_conflicts,
    list_data_imports,
    list_raw_records,
    new_tenant,
    persist_cleansed_data,
    records_of,
    refused,
    repair,
    resolve_conflict,
    run_flow,
    set_field_mappings,
    start_flow,
    suggest_field_mappings,
    unchanged,
    undo_import,
    val,
    warnings_of,
    wiring_health,
)


@pytest.fixture(scope="module")
def db_url(server_url, template_url):
    """One database for the module; each test builds its own tenant."""
    with cloned_database(server_url, template_url) as url:
        yield url


@pytest.fixture
def w(app_conn) -> World:
    return build_world(app_conn)


def call(app, sql: str, *params):
    """A call of the API with raw SQL (for payloads no helper would send)."""
    return val(app, sql, params)


def uuid_variant(value: str, how: str) -> str:
    return {"open": "{" + value, "close": value + "}", "upper": value.upper(), "braced": "{" + value + "}",
            "nohyphen": value.replace("-", "")}[how]


# -- malformed payloads --------------------------------------------------------------------------------------------

def _many(n: int) -> str:
    return "[" + ",".join(['{"hostname": "x"}'] * n) + "]"


ADD = ("select discovery.add_raw_records(p_client_account_id => %s::uuid, p_engagement_id => %s::uuid,"
       " p_data_import_id => %s::uuid, p_records => %s::jsonb)")
ADD_BULK = ("select discovery.add_raw_records_bulk(p_client_account_id => %s::uuid, p_engagement_id => %s::uuid,"
            " p_data_import_id => %s::uuid, p_records => %s::jsonb[])")


def add_payload(payload):
    return lambda app, w: call(app, ADD, *w.tenant, w.pending.data_import_id, payload)


def mappings(payload, defaults=None):
    return lambda app, w: call(
        app, "select discovery.set_field_mappings(p_client_account_id => %s::uuid, p_engagement_id => %s::uuid,"
             " p_data_import_id => %s::uuid, p_mappings => %s::jsonb, p_field_defaults => %s::jsonb)",
        *w.tenant, w.pending.data_import_id, payload if isinstance(payload, str) or payload is None else j(payload),
        defaults)


def cleansed(build):
    return lambda app, w: persist_cleansed_data(app, w.tenant, w.pending.discovery_flow_id, build(w))


def supplied(build, flow="pending", dry_run=False, on_match="refresh"):
    return lambda app, w: create_assets(app, w.tenant, getattr(w, flow).discovery_flow_id, build(w),
                                        dry_run=dry_run, on_match=on_match)


def first_pending(w, how=None):
    value = str(w.pending_records[0]["id"])
    return uuid_variant(value, how) if how else value


MALFORMED = [
    # (case, sqlstate, call, detail contains)
    ("add-null", "WR005", add_payload(None), "p_records is null"),
    ("add-object", "WR005", add_payload('{"hostname": "x"}'), "object"),
    ("add-string", "WR005", add_payload('"x"'), "string"),
    ("add-number", "WR005", add_payload("42"), "number"),
    ("add-array-of-numbers", "WR005", add_payload("[1, 2]"), "element 1"),
    ("add-null-element", "WR005", add_payload('[{"hostname": "x"}, null]'), "element 2"),
    ("add-array-element", "WR005", add_payload('[[{"hostname": "x"}]]'), "element 1"),
    ("add-50001", "WR005", add_payload(_many(50_001)), "50001"),
    ("add-nul-character", "22P05", add_payload('[{"hostname": "a\\u0000b"}]'), None),
    ("add-not-json", "22P02", add_payload('[{"hostname": '), None),
    ("bulk-null", "WR005", lambda app, w: call(app, ADD_BULK, *w.tenant, w.pending.data_import_id, None), None),
    ("bulk-null-element", "WR005",
     lambda app, w: call(app, ADD_BULK, *w.tenant, w.pending.data_import_id, ['{"hostname": "x"}', None]), None),
    ("bulk-array-element", "WR005",
     lambda app, w: call(app, ADD_BULK, *w.tenant, w.pending.data_import_id, ['[1]']), None),
    ("map-null", "WR005", mappings(None), None),
    ("map-object", "WR005", mappings('{"source_field": "a", "target_field": "b"}'), None),
    ("map-no-target", "WR005", mappings([{"source_field": "a"}]), "element 1"),
    ("map-target-number", "WR005", mappings([{"source_field": "a", "target_field": 7}]), "element 1"),
    ("map-target-blank", "WR005", mappings([{"source_field": "a", "target_field": " \u3000 "}]), "element 1"),
    ("map-source-blank", "WR005", mappings([{"source_field": "\t", "target_field": "name"}]), "element 1"),
    ("map-target-1001", "WR005", mappings([{"source_field": "a", "target_field": "t" * 1001}]), "element 1"),
    ("map-status", "WR005", mappings([{"source_field": "a", "target_field": "name", "status": "maybe"}]), None),
    ("map-unit", "WR005", mappings([{"source_field": "a", "target_field": "memory_gb", "unit": "XB"}]), None),
    ("map-priority-0", "WR005", mappings([{"source_field": "a", "target_field": "name", "priority": 0}]), None),
    ("map-priority-101", "WR005", mappings([{"source_field": "a", "target_field": "name", "priority": 101}]), None),
    ("map-priority-text", "WR005", mappings([{"source_field": "a", "target_field": "name", "priority": "1"}]), None),
    ("map-priority-fraction", "WR005",
     mappings([{"source_field": "a", "target_field": "name", "priority": 1.5}]), None),
    ("map-priority-huge", "WR005",
     mappings([{"source_field": "a", "target_field": "name", "priority": 99999999999}]), None),
    ("map-confidence-text", "WR005",
     mappings([{"source_field": "a", "target_field": "name", "confidence_score": "high"}]), None),
    ("map-value-key-number", "WR005",
     mappings([{"source_field": "a", "target_field": "name", "value_key": 5}]), None),
    ("map-source-twice-by-case", "WR005",
     mappings([{"source_field": "Host", "target_field": "hostname"}, {"source_field": " host ", "target_field": "x"}]),
     "host"),
    ("map-two-sources-one-target", "WR005",
     mappings([{"source_field": "a", "target_field": "hostname"}, {"source_field": "b", "target_field": "HOSTNAME"}]),
     "hostname"),
    ("map-external-ids", "WR005", mappings([{"source_field": "serial", "target_field": "external_ids"}]),
     "external_ids"),
    ("map-external-ids-dot", "WR005", mappings([{"source_field": "serial", "target_field": " External_IDs. "}]),
     "external_ids"),
    ("map-defaults-array", "WR005", mappings([{"source_field": "a", "target_field": "name"}], '["x"]'),
     "p_field_defaults"),
    ("defaults-bad-ip", "WR005", mappings([], '{"ip_address": "1::2::3"}'), "p_field_defaults.ip_address"),
    ("defaults-cores", "WR005", mappings([], '{"cpu_cores": "99999999999"}'), "p_field_defaults.cpu_cores"),
    ("defaults-cores-fraction", "WR005", mappings([], '{"cpu_cores": 2.5}'), "p_field_defaults.cpu_cores"),
    ("defaults-memory", "WR005", mappings([], '{"memory_gb": "1e400"}'), "p_field_defaults.memory_gb"),
    ("defaults-long-type", "WR005", mappings([], j({"asset_type": "t" * 256})), "p_field_defaults.asset_type"),
    ("defaults-long-text", "WR005", mappings([], j({"Environment": "e" * 10001})), "p_field_defaults.Environment"),
    ("defaults-object", "WR005", mappings([], '{"hostname": {"a": 1}}'), "p_field_defaults.hostname"),
    ("defaults-long-external-id", "WR005", mappings([], j({"external_ids.serial": "s" * 256})), "external_ids.serial"),
    ("persist-null", "WR005", lambda app, w: persist_cleansed_data(app, w.tenant, w.pending.discovery_flow_id, "null"),
     None),
    ("persist-uuid-open-brace", "WR005",
     cleansed(lambda w: [{"raw_import_record_id": first_pending(w, "open"), "cleansed_data": {}}]), "{"),
    ("persist-uuid-close-brace", "WR005",
     cleansed(lambda w: [{"raw_import_record_id": first_pending(w, "close"), "cleansed_data": {}}]), "}"),
    ("persist-not-uuid", "WR005", cleansed(lambda w: [{"raw_import_record_id": "web01", "cleansed_data": {}}]),
     "web01"),
    ("persist-uuid-number", "WR005", cleansed(lambda w: [{"raw_import_record_id": 1, "cleansed_data": {}}]), None),
    ("persist-no-data", "WR005", cleansed(lambda w: [{"raw_import_record_id": first_pending(w)}]), None),
    ("persist-data-array", "WR005",
     cleansed(lambda w: [{"raw_import_record_id": first_pending(w), "cleansed_data": ["x"]}]), None),
    ("persist-errors-object", "WR005",
     cleansed(lambda w: [{"raw_import_record_id": first_pending(w), "cleansed_data": {}, "validation_errors": {}}]),
     None),
    ("persist-twice-by-case", "WR005",
     cleansed(lambda w: [{"raw_import_record_id": first_pending(w), "cleansed_data": {"hostname": "a"}},
                         {"raw_import_record_id": first_pending(w, "upper"), "cleansed_data": {"hostname": "b"}}]),
     None),
    ("persist-twice-braced", "WR005",
     cleansed(lambda w: [{"raw_import_record_id": first_pending(w, "braced"), "cleansed_data": {}},
                         {"raw_import_record_id": first_pending(w, "nohyphen"), "cleansed_data": {}}]), None),
    ("persist-record-of-another-import", "WR004",
     cleansed(lambda w: [{"raw_import_record_id": str(w.done_records[0]["id"]), "cleansed_data": {}}]), None),
    ("persist-unknown-record", "WR004",
     cleansed(lambda w: [{"raw_import_record_id": str(uuid.uuid4()), "cleansed_data": {}}]), None),
    ("persist-processed-record", "WR008",
     lambda app, w: persist_cleansed_data(app, w.tenant, w.done.discovery_flow_id, [
         {"raw_import_record_id": w.record("created"), "cleansed_data": {"hostname": "x"}}]), None),
    ("assets-object", "WR005", supplied(lambda w: '{"hostname": "x"}'), None),
    ("assets-no-record-id", "WR005", supplied(lambda w: [{"hostname": "x"}]), "element 1"),
    ("assets-uuid-open-brace", "WR005",
     supplied(lambda w: [{"raw_import_record_id": first_pending(w, "open"), "hostname": "x"}]), "{"),
    ("assets-uuid-close-brace", "WR005",
     supplied(lambda w: [{"raw_import_record_id": first_pending(w, "close"), "hostname": "x"}]), "}"),
    ("assets-twice-by-case", "WR005",
     supplied(lambda w: [{"raw_import_record_id": first_pending(w), "hostname": "x"},
                         {"raw_import_record_id": first_pending(w, "upper"), "hostname": "y"}]), None),
    ("assets-record-of-another-import", "WR004",
     supplied(lambda w: [{"raw_import_record_id": str(w.done_records[0]["id"]), "hostname": "x"}]), None),
    ("assets-conflict-record", "WR008",
     supplied(lambda w: [{"raw_import_record_id": str(w.conflict["raw_import_record_id"]), "hostname": "x"}],
              flow="conflicted"), "conflict"),
    ("assets-dry-run-null", "WR006", supplied(lambda w: None, dry_run=None), "p_dry_run"),
    ("assets-on-match-unknown", "WR006", supplied(lambda w: None, on_match="overwrite"), "overwrite"),
    ("assets-on-match-null", "WR006", supplied(lambda w: None, on_match=None), "p_on_match"),
    ("resolve-unknown-action", "WR006", lambda app, w: resolve_conflict(app, w.tenant, w.conflict["id"], "delete"),
     "delete"),
    ("resolve-null-action", "WR006", lambda app, w: resolve_conflict(app, w.tenant, w.conflict["id"], None), None),
    ("resolve-merge-object", "WR005",
     lambda app, w: resolve_conflict(app, w.tenant, w.conflict["id"], "merge", {"cpu_cores": 1}), None),
    ("resolve-merge-numbers", "WR005", lambda app, w: resolve_conflict(app, w.tenant, w.conflict["id"], "merge", [1]),
     None),
    ("resolve-merge-empty", "WR005", lambda app, w: resolve_conflict(app, w.tenant, w.conflict["id"], "merge", []),
     None),
    ("resolve-unknown-conflict", "WR007", lambda app, w: resolve_conflict(app, w.tenant, uuid.uuid4(), "create_new"),
     None),
    ("resolve-record-id-as-conflict", "WR007",
     lambda app, w: resolve_conflict(app, w.tenant, w.conflict["raw_import_record_id"], "create_new"), None),
    ("list-assets-page-0", "WR006", lambda app, w: list_assets(app, w.tenant, page=0), "p_page"),
    ("list-assets-page-negative", "WR006", lambda app, w: list_assets(app, w.tenant, page=-2147483648), None),
    ("list-assets-size-0", "WR006", lambda app, w: list_assets(app, w.tenant, page_size=0), None),
    ("list-conflicts-status", "WR006", lambda app, w: list_conflicts(app, w.tenant, status="open"), "open"),
    ("list-raw-outcome", "WR006", lambda app, w: list_raw_records(app, w.tenant, outcome="deleted"), "deleted"),
    ("list-imports-page-0", "WR006", lambda app, w: list_data_imports(app, w.tenant, page=0), None),
    ("undo-dry-run-null", "WR006", lambda app, w: undo_import(app, w.tenant, w.done.data_import_id, None),
     "p_dry_run"),
    ("repair-dry-run-null", "WR006",
     lambda app, w: call(app, "select discovery.repair_wiring(p_client_account_id => %s::uuid,"
                              " p_engagement_id => %s::uuid, p_dry_run => null)", *w.tenant), "p_dry_run"),
    ("flow-id-of-an-import", "WR002", lambda app, w: create_assets(app, w.tenant, w.pending.data_import_id), None),
    ("cleanse-master-flow-id", "WR002", lambda app, w: cleanse_records(app, w.tenant, w.pending.data_import_id), None),
]


@pytest.mark.parametrize(("sqlstate", "attempt", "detail"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_a_malformed_call_is_refused_and_changes_nothing(conn, app_conn, w, sqlstate, attempt, detail):
    with refused(conn, app_conn, sqlstate, detail):
        attempt(app_conn, w)


def test_good_field_defaults_fill_what_no_key_filled(conn, app_conn, w):
    defaults = {"asset_type": "virtual_machine", "cpu_cores": "4", "memory_gb": "16384 MB", "ip_address": " 10.1.1.1 ",
                "Environment": "prod", "notes": {"any": ["json"]}}
    val(app_conn, "select discovery.set_field_mappings(p_client_account_id => %s::uuid, p_engagement_id => %s::uuid,"
                  " p_data_import_id => %s::uuid, p_mappings => '[]'::jsonb, p_field_defaults => %s::jsonb)",
        (*w.tenant, w.pending.data_import_id, j(defaults)))
    result = create_assets(app_conn, w.tenant, w.pending.discovery_flow_id)
    app_conn.commit()
    assert result["created"] == 2
    record = next(r for r in records_of(app_conn, w.tenant, w.pending.data_import_id) if r["row_number"] == 1)
    made = get_asset(app_conn, w.tenant, record["asset_id"])["asset"]
    assert (made["asset_type"], made["cpu_cores"], float(made["memory_gb"]), made["environment"],
            made["ip_address"], made["custom_attributes"]["notes"]) == \
        ("virtual_machine", 4, 16.0, "prod", "10.1.1.1", {"any": ["json"]})


def test_a_long_header_is_a_mapping_like_any_other(conn, app_conn, w):
    header = "H" * 3000
    add_raw_records(app_conn, w.tenant, w.pending.data_import_id, [{header: "web-long-header"}])
    assert set_field_mappings(app_conn, w.tenant, w.pending.data_import_id, {header: "hostname"}) == 1
    result = create_assets(app_conn, w.tenant, w.pending.discovery_flow_id)
    app_conn.commit()
    assert (result["created"], result["invalid"]) == (3, 0)
    assert "web-long-header" in {a["hostname"] for a in assets_through_api(app_conn, w.tenant)}


# -- mapping attacks -----------------------------------------------------------------------------------------------

def test_a_changed_mapping_after_the_inventory_ran_is_refused(conn, app_conn, w):
    with refused(conn, app_conn, "WR008", str(w.done.data_import_id)):
        set_field_mappings(app_conn, w.tenant, w.done.data_import_id, {"comment": "name"})


@pytest.mark.parametrize("target", ["hostname", " hostname ", "HOSTNAME", "\u00a0Hostname\t"])
def test_the_same_mapping_sent_again_after_the_inventory_ran_is_no_change(conn, app_conn, target):
    tenant = new_tenant(app_conn)
    flow, result = run_flow(app_conn, tenant, [{"Server": "web01"}], mappings={"Server": "hostname"})
    app_conn.commit()
    assert result["created"] == 1
    assert set_field_mappings(app_conn, tenant, flow.data_import_id, {"Server": target}) == 1
    app_conn.commit()


def test_a_remapped_field_is_cleansed_again_with_the_new_mapping(conn, app_conn):
    tenant = new_tenant(app_conn)
    flow = start_flow(app_conn, tenant, [{"Server": "web01.corp.example.com"}], mappings={"Server": "hostname"})
    assert cleanse_records(app_conn, tenant, flow.discovery_flow_id)["cleansed"] == 1
    set_field_mappings(app_conn, tenant, flow.data_import_id, {"Server": "fqdn"})
    result = create_assets(app_conn, tenant, flow.discovery_flow_id)
    app_conn.commit()
    assert result["created"] == 1
    (made,) = assets_through_api(app_conn, tenant)
    full = get_asset(app_conn, tenant, made["id"])["asset"]
    assert (full["hostname"], full["fqdn"]) == (None, "web01.corp.example.com")
    assert "fqdn" in str(full["field_mappings_used"]) and "hostname" not in str(full["field_mappings_used"])


def test_cleansed_data_keys_match_columns_whatever_their_case(conn, app_conn, w):
    record_id = str(w.pending_records[0]["id"])
    persist_cleansed_data(app_conn, w.tenant, w.pending.discovery_flow_id, [
        {"raw_import_record_id": record_id, "cleansed_data": {"HOSTNAME": "db01", " Cpu_Cores ": "16"}}])
    result = create_assets(app_conn, w.tenant, w.pending.discovery_flow_id)
    app_conn.commit()
    assert result["created"] == 2
    record = next(r for r in records_of(app_conn, w.tenant, w.pending.data_import_id) if r["id"] == record_id)
    made = get_asset(app_conn, w.tenant, record["asset_id"])["asset"]
    assert (made["hostname"], made["cpu_cores"]) == ("db01", 16) and warnings_of(record) == []


def test_colliding_cleansed_data_keys_keep_one_value_and_note_the_other(conn, app_conn, w):
    record_id = str(w.pending_records[0]["id"])
    persist_cleansed_data(app_conn, w.tenant, w.pending.discovery_flow_id, [
        {"raw_import_record_id": record_id, "cleansed_data": {"hostname": "db01", "HOSTNAME": "db99"}}])
    app_conn.commit()
    record = next(r for r in records_of(app_conn, w.tenant, w.pending.data_import_id) if r["id"] == record_id)
    (warning,) = warnings_of(record)
    assert warning["field"] == "hostname" and "also filled by another column" in warning["error"]


@pytest.mark.parametrize(("host", "server", "hostname", "kept"), [
    ("web-a", "web-b", "web-a", {"Server": "web-b"}),
    ("  ", "web-b", "web-b", {}),
    ("N/A", "web-b", "web-b", {}),
])
def test_two_sources_of_one_field_keep_the_other_value(conn, app_conn, host, server, hostname, kept):
    tenant = new_tenant(app_conn)
    flow, result = run_flow(app_conn, tenant, [{"Host": host, "Server": server}], mappings=[
        {"source_field": "Host", "target_field": "hostname", "priority": 1},
        {"source_field": "Server", "target_field": "hostname", "priority": 2}])
    app_conn.commit()
    assert result["created"] == 1
    (made,) = assets_through_api(app_conn, tenant)
    full = get_asset(app_conn, tenant, made["id"])["asset"]
    assert full["hostname"] == hostname
    assert {k: v for k, v in full["custom_attributes"].items() if k in ("Server", "Host")} == kept


def test_every_proposal_is_accepted_as_it_is_proposed(conn, app_conn):
    tenant = new_tenant(app_conn)
    flow = start_flow(app_conn, tenant, [{"hostname": "web01", "   ": "x", "": "y", "#": "z", "Server": "s"}])
    proposals = suggest_field_mappings(app_conn, tenant, flow.data_import_id)
    assert {p["source_field"] for p in proposals} == {"hostname", "#", "Server"}, proposals
    set_field_mappings(app_conn, tenant, flow.data_import_id,
                       [{"source_field": p["source_field"], "target_field": p["target_field"]} for p in proposals])
    result = create_assets(app_conn, tenant, flow.discovery_flow_id)
    app_conn.commit()
    assert result["created"] == 1
    (record,) = records_of(app_conn, tenant, flow.data_import_id)
    assert "a column without a name" in " ".join(w["error"] for w in warnings_of(record))


def test_a_csv_with_blank_and_repeated_headers_keeps_every_column(tmp_path):
    from discovery_wiring.readers import iter_records
    path = tmp_path / "hostile.csv"
    path.write_text("Name,,Name,\u200b,IP\nweb01,a,b,c,10.0.0.1\n", encoding="utf-8")
    (record,) = list(iter_records(path))
    assert record == {"Name": "web01", "column_2": "a", "Name (2)": "b", "column_4": "c", "IP": "10.0.0.1"}


def test_the_import_pipeline_takes_a_csv_with_blank_repeated_and_huge_headers(conn, app_conn, tmp_path):
    """What ``discovery-wiring run`` does with such a file, as the backend's role."""
    from discovery_wiring import DiscoveryClient, Tenant
    from discovery_wiring.pipeline import plan_import, run_import
    path = tmp_path / "hostile.csv"
    huge = "Notes " + "x" * 3000
    path.write_text(f'Hostname,,Hostname,   ,IP Address,{huge}\n'
                    f'web01,a,web01-again,b,10.0.0.1,n\n'
                    f'{"h" * 3000},c,d,e,N/A,n\n'
                    f'web03,f,g,h,1::2::3,n\n', encoding="utf-8")
    client = DiscoveryClient(app_conn)
    tenant = Tenant(uuid.uuid4(), uuid.uuid4())
    client.register_tenant(tenant, "CSV client", "CSV engagement")
    run = run_import(client, tenant, plan_import(path))
    app_conn.commit()
    assert (run.loaded, run.result.created, run.result.invalid) == (3, 2, 1), run.result
    records = records_of(app_conn, tenant, run.data_import_id)
    assert [r["processing_status"] for r in records] == ["created", "invalid", "created"]
    assert "hostname" in {w["field"] for w in warnings_of(records[1])}
    assert "ip_address" in {w["field"] for w in warnings_of(records[2])}
    made = get_asset(app_conn, tenant, records[0]["asset_id"])["asset"]
    assert made["hostname"] == "web01" and "web01-again" in made["custom_attributes"].values()


def test_a_mapping_to_an_internal_column_name_is_a_custom_attribute(conn, app_conn):
    tenant = new_tenant(app_conn)
    flow, result = run_flow(app_conn, tenant, [{"hostname": "web01", "owner": str(uuid.uuid4())}],
                            mappings={"owner": "client_account_id"})
    app_conn.commit()
    (made,) = assets_through_api(app_conn, tenant)
    full = get_asset(app_conn, tenant, made["id"])["asset"]
    assert "client_account_id" in full["custom_attributes"]
    assert val(conn, "select client_account_id from migration.assets where id = %s", (made["id"],)) == \
        tenant.client_account_id


# -- numbers that used to fail a batch -------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [2147483648, 99999999999, "99999999999", -2147483649])
def test_an_out_of_range_number_in_cleansed_data_is_a_warning(conn, app_conn, w, value):
    record_id = str(w.pending_records[0]["id"])
    persist_cleansed_data(app_conn, w.tenant, w.pending.discovery_flow_id, [
        {"raw_import_record_id": record_id, "cleansed_data": {"hostname": "db01", "cpu_cores": value}}])
    result = create_assets(app_conn, w.tenant, w.pending.discovery_flow_id)
    app_conn.commit()
    assert result["created"] == 2
    record = next(r for r in records_of(app_conn, w.tenant, w.pending.data_import_id) if r["id"] == record_id)
    (warning,) = warnings_of(record)
    assert warning["field"] == "cpu_cores"
    assert get_asset(app_conn, w.tenant, record["asset_id"])["asset"]["cpu_cores"] is None


@pytest.mark.parametrize("value", [2147483648, 1e300, "99999999999"])
def test_an_out_of_range_number_in_p_assets_is_a_warning(conn, app_conn, w, value):
    assets = [{"raw_import_record_id": str(r["id"]).upper(), "hostname": r["raw_data"]["hostname"],
               "cpu_cores": value} for r in w.pending_records]
    result = create_assets(app_conn, w.tenant, w.pending.discovery_flow_id, assets)
    app_conn.commit()
    assert result["created"] == 2
    for record in records_of(app_conn, w.tenant, w.pending.data_import_id):
        assert [x["field"] for x in warnings_of(record)] == ["cpu_cores"]


def test_a_conflict_holding_an_out_of_range_number_can_be_replaced(conn, app_conn):
    tenant = new_tenant(app_conn)
    run_flow(app_conn, tenant, [{"fqdn": "alpha.a.example.com"}, {"fqdn": "alpha.b.example.com"}])
    _, result = run_flow(app_conn, tenant, [{"hostname": "alpha", "cpu_cores": 99999999999, "memory_gb": "1e400",
                                             "operating_system": "linux"}], import_name="second")
    assert result["conflicts"] == 1
    (conflict,) = list_conflicts(app_conn, tenant)["conflicts"]
    asset_id = resolve_conflict(app_conn, tenant, conflict["id"], "replace_with_new")
    app_conn.commit()
    made = get_asset(app_conn, tenant, asset_id)["asset"]
    assert (made["operating_system"], made["cpu_cores"], made["memory_gb"]) == ("linux", None, None)


# -- state-machine abuse ---------------------------------------------------------------------------------------------

def test_p_dry_run_true_writes_nothing(conn, app_conn, w):
    with unchanged(conn):
        result = create_assets(app_conn, w.tenant, w.pending.discovery_flow_id, dry_run=True)
        app_conn.commit()
    assert result["created"] == 2 and result["run_id"] is None


def test_p_assets_naming_an_invalid_record_handles_it_again(conn, app_conn, w):
    invalid = w.record("invalid")
    result = create_assets(app_conn, w.tenant, w.done.discovery_flow_id,
                           [{"raw_import_record_id": invalid, "hostname": "now-named"}])
    app_conn.commit()
    assert (result["created"], result["already_linked"]) == (1, 0), result
    record = next(r for r in records_of(app_conn, w.tenant, w.done.data_import_id) if r["id"] == invalid)
    assert record["processing_status"] == "created" and record["asset_id"]


def test_p_assets_naming_a_linked_record_counts_it_as_already_linked(conn, app_conn, w):
    created = w.record("created")
    with unchanged(conn, outside=w.tenant.client_account_id):
        result = create_assets(app_conn, w.tenant, w.done.discovery_flow_id,
                               [{"raw_import_record_id": created, "hostname": "renamed"}])
        app_conn.commit()
    assert (result["created"], result["matched"], result["already_linked"]) == (0, 0, 1), result
    assert "renamed" not in {a["hostname"] for a in assets_through_api(app_conn, w.tenant)}


def undone(app, w):
    undo_import(app, w.tenant, w.done.data_import_id, dry_run=False)
    app.commit()


UNDONE = [
    ("create-assets", "WR008", lambda app, w: create_assets(app, w.tenant, w.done.discovery_flow_id)),
    ("undo-again", "WR008", lambda app, w: undo_import(app, w.tenant, w.done.data_import_id, dry_run=False)),
    ("undo-again-dry", "WR008", lambda app, w: undo_import(app, w.tenant, w.done.data_import_id)),
    ("add-records", "WR008", lambda app, w: add_raw_records(app, w.tenant, w.done.data_import_id, [{"hostname": "z"}])),
    ("set-mappings", "WR008", lambda app, w: set_field_mappings(app, w.tenant, w.done.data_import_id, {"a": "name"})),
    ("p-assets", "WR008", lambda app, w: create_assets(app, w.tenant, w.done.discovery_flow_id, [
        {"raw_import_record_id": w.record("created"), "hostname": "again"}])),
    ("persist", "WR008", lambda app, w: persist_cleansed_data(app, w.tenant, w.done.discovery_flow_id, [
        {"raw_import_record_id": w.record("created"), "cleansed_data": {"hostname": "again"}}])),
]


@pytest.mark.parametrize(("sqlstate", "attempt"), [c[1:] for c in UNDONE], ids=[c[0] for c in UNDONE])
def test_an_undone_import_refuses_every_write(conn, app_conn, w, sqlstate, attempt):
    undone(app_conn, w)
    with refused(conn, app_conn, sqlstate):
        attempt(app_conn, w)


@pytest.mark.parametrize("action", ["keep_existing", "replace_with_new", "merge"])
def test_a_conflict_whose_asset_was_deleted_since_is_not_linked_to_it(conn, app_conn, action):
    tenant = new_tenant(app_conn)
    first, _ = run_flow(app_conn, tenant, [{"fqdn": "alpha.a.example.com"}, {"fqdn": "alpha.b.example.com"}])
    run_flow(app_conn, tenant, [{"hostname": "alpha", "cpu_cores": "2"}], import_name="second")
    (conflict,) = list_conflicts(app_conn, tenant)["conflicts"]
    undo_import(app_conn, tenant, first.data_import_id, dry_run=False)  # soft-deletes both candidates
    app_conn.commit()
    with refused(conn, app_conn, "WR008", str(conflict["existing_asset_id"])):
        resolve_conflict(app_conn, tenant, conflict["id"], action, ["cpu_cores"] if action == "merge" else None)
    assert resolve_conflict(app_conn, tenant, conflict["id"], "create_new")
    app_conn.commit()


def test_a_resolved_conflict_cannot_be_resolved_again(conn, app_conn, w):
    resolve_conflict(app_conn, w.tenant, w.conflict["id"], "keep_existing")
    app_conn.commit()
    with refused(conn, app_conn, "WR007", str(w.conflict["id"])):
        resolve_conflict(app_conn, w.tenant, w.conflict["id"], "create_new")


def test_records_appended_after_the_inventory_ran_leave_the_tenant_healthy(conn, app_conn, w):
    add_raw_records(app_conn, w.tenant, w.done.data_import_id, [{"hostname": "late01"}, {"hostname": "late02"}])
    app_conn.commit()
    health = wiring_health(app_conn, w.tenant)
    assert health["health_status"] == "healthy" and health["raw_records_missing_asset_id"] == 0, health
    result = create_assets(app_conn, w.tenant, w.done.discovery_flow_id)
    app_conn.commit()
    assert result["created"] == 2 and wiring_health(app_conn, w.tenant)["health_status"] == "healthy"


def test_a_second_run_with_nothing_to_handle_writes_nothing(conn, app_conn, w):
    with unchanged(conn):
        result = create_assets(app_conn, w.tenant, w.done.discovery_flow_id)
        app_conn.commit()
    assert result["run_id"] is None and result["created"] == 0


def test_repair_of_a_healthy_tenant_writes_nothing(conn, app_conn, w):
    with unchanged(conn):
        report = repair(app_conn, w.tenant, dry_run=False)
        app_conn.commit()
    assert not any(report["repaired"].values())
