"""The `discovery` API, function by function, called directly in SQL with named
arguments and explicit casts (DESIGN.md, "The API"; issue 2)."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from _support import (
    T,
    add_raw_records,
    asset,
    assets_of_tenant,
    cleanse_records,
    counts,
    create_assets,
    create_data_import,
    j,
    list_assets,
    new_tenant,
    persist_cleansed_data,
    raises_wr,
    raw_records,
    register_tenant,
    resolve_flow,
    row,
    rows,
    run_flow,
    set_field_mappings,
    snapshot,
    start_discovery_flow,
    start_flow,
    suggest_field_mappings,
    val,
    wiring_health,
)

GAP_KEYS = (
    "assets_missing_discovery_flow_id", "assets_with_unknown_discovery_flow_id",
    "assets_with_mismatched_master_flow_id", "assets_missing_raw_import_id", "assets_with_orphan_raw_ref",
    "links_disagree", "raw_records_missing_asset_id", "processed_records_missing_asset_id",
    "raw_with_orphan_asset_ref", "assets_with_legacy_flow_id_only",
)
ZERO = {"created": 0, "matched": 0, "conflicts": 0, "invalid": 0, "already_linked": 0, "updated": 0}


@pytest.fixture
def t(conn) -> T:
    return new_tenant(conn)


def flow_row(conn, discovery_flow_id):
    return row(conn, "select * from migration.discovery_flows where id = %s::uuid", (discovery_flow_id,))


def mappings_dict(value) -> dict:
    """field_mappings_used as {source_field: target_field}, whatever JSON shape it has."""
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return {m["source_field"]: m["target_field"] for m in value}
    raise AssertionError(f"field_mappings_used has an unexpected shape: {value!r}")


def replica(conn):
    """Triggers and foreign keys off for this session (a restore of legacy rows)."""
    conn.execute("set session_replication_role = replica")


def origin(conn):
    conn.execute("set session_replication_role = origin")


# -- register_tenant, create_data_import ------------------------------------------------

def test_register_tenant_creates_both_rows_and_is_idempotent(conn):
    tenant = T(uuid.uuid4(), uuid.uuid4())
    register_tenant(conn, tenant, "  Acme  ", "Cloud move")
    conn.commit()
    assert rows(conn, "select name from migration.client_accounts where id = %s", (tenant.client_account_id,)) \
        == [{"name": "Acme"}]
    assert rows(conn, "select name from migration.engagements where client_account_id = %s and id = %s",
                (tenant.client_account_id, tenant.engagement_id)) == [{"name": "Cloud move"}]
    before = snapshot(conn)
    register_tenant(conn, tenant, "  Acme  ", "Cloud move")
    conn.commit()
    assert snapshot(conn) == before
    register_tenant(conn, tenant, "Acme renamed", "Other name")  # still no error, still one row each
    assert val(conn, "select count(*) from migration.client_accounts where id = %s", (tenant.client_account_id,)) == 1
    assert val(conn, "select count(*) from migration.engagements where client_account_id = %s",
               (tenant.client_account_id,)) == 1


def test_register_tenant_second_engagement_of_a_client(conn, t):
    other = T(t.client_account_id, uuid.uuid4())
    register_tenant(conn, other, "Client", "Second engagement")
    assert val(conn, "select count(*) from migration.client_accounts where id = %s", (t.client_account_id,)) == 1
    assert val(conn, "select count(*) from migration.engagements where client_account_id = %s",
               (t.client_account_id,)) == 2
    # each engagement is a tenant of its own
    assert create_data_import(conn, other) is not None


@pytest.mark.parametrize("client_name,engagement_name", [("", "E"), ("C", "  "), (None, "E")])
def test_register_tenant_requires_names(conn, client_name, engagement_name):
    with raises_wr(conn, "WR006"):
        register_tenant(conn, T(uuid.uuid4(), uuid.uuid4()), client_name, engagement_name)


def test_create_data_import(conn, t):
    user = uuid.uuid4()
    first = create_data_import(conn, t, "CMDB export", "cmdb", "cmdb.csv", imported_by=user, source_system="snow")
    second = create_data_import(conn, t, "CMDB export", "cmdb", "cmdb.csv")
    assert isinstance(first, uuid.UUID) and first != second
    imp = row(conn, "select * from migration.data_imports where id = %s", (first,))
    assert (imp["client_account_id"], imp["engagement_id"]) == tuple(t)
    assert (imp["import_name"], imp["import_type"], imp["filename"], imp["imported_by"], imp["source_system"]) \
        == ("CMDB export", "cmdb", "cmdb.csv", user, "snow")
    assert imp["master_flow_id"] is None
    assert imp["total_records"] == 0
    assert val(conn, "select count(*) from migration.raw_import_records where data_import_id = %s", (first,)) == 0


def test_create_data_import_requires_name_and_type(conn, t):
    with raises_wr(conn, "WR006"):
        create_data_import(conn, t, "  ", "cmdb")
    with raises_wr(conn, "WR006"):
        create_data_import(conn, t, "name", "")


# -- add_raw_records ------------------------------------------------------------------------

def test_add_raw_records_appends_and_continues_row_numbers(conn, t):
    imp = create_data_import(conn, t)
    other = create_data_import(conn, t)
    assert add_raw_records(conn, t, imp, [{"a": 1}, {"a": 2}, {"a": 3}]) == 3
    assert add_raw_records(conn, t, other, [{"b": 1}]) == 1
    assert add_raw_records(conn, t, imp, [{"a": 4}, {"a": 5, "nested": {"x": [1, None]}}]) == 2
    records = raw_records(conn, imp)
    assert [r["row_number"] for r in records] == [1, 2, 3, 4, 5]
    assert [r["raw_data"]["a"] for r in records] == [1, 2, 3, 4, 5]
    assert records[4]["raw_data"] == {"a": 5, "nested": {"x": [1, None]}}
    assert all((r["client_account_id"], r["engagement_id"]) == tuple(t) for r in records)
    assert all(not r["is_processed"] and r["asset_id"] is None and r["processing_status"] is None
               for r in records)
    assert [r["row_number"] for r in raw_records(conn, other)] == [1]
    assert val(conn, "select total_records from migration.data_imports where id = %s", (imp,)) == 5
    assert add_raw_records(conn, t, imp, []) == 0
    assert len(raw_records(conn, imp)) == 5


@pytest.mark.parametrize("payload", ['{"a": 1}', '[{"a": 1}, 2]', '["x"]', '"text"', '[[]]'])
def test_add_raw_records_malformed_payload(conn, t, payload):
    imp = create_data_import(conn, t)
    with raises_wr(conn, "WR005"):
        add_raw_records(conn, t, imp, payload)
    assert raw_records(conn, imp) == []


def test_add_raw_records_over_50000_elements(conn, t):
    imp = create_data_import(conn, t)
    with raises_wr(conn, "WR005"):
        add_raw_records(conn, t, imp, "[" + ",".join(["{}"] * 50_001) + "]")
    assert raw_records(conn, imp) == []


def test_add_raw_records_after_flow_start_carry_master_flow(conn, t):
    """Records added after the flow started carry its master flow at once; the
    others get it in the one write that handles them (no rewrite at start)."""
    flow = start_flow(conn, t, [{"hostname": "a"}])
    add_raw_records(conn, t, flow.data_import_id, [{"hostname": "b"}])
    assert [r["master_flow_id"] for r in raw_records(conn, flow.data_import_id)] == [None, flow.master_flow_id]
    create_assets(conn, t, flow.discovery_flow_id)
    assert [r["master_flow_id"] for r in raw_records(conn, flow.data_import_id)] == [flow.master_flow_id] * 2


# -- start_discovery_flow ----------------------------------------------------------------------

def test_start_discovery_flow_links_import_and_all_records(conn, t):
    imp = create_data_import(conn, t)
    add_raw_records(conn, t, imp, [{"hostname": f"h{i}"} for i in range(3)])
    add_raw_records(conn, t, imp, [{"hostname": "h3"}])
    ids = start_discovery_flow(conn, t, imp, flow_name="My discovery", user_id="alice")
    assert ids["flow_id"] == ids["master_flow_id"]
    assert ids["discovery_flow_id"] != ids["flow_id"]
    flow = flow_row(conn, ids["discovery_flow_id"])
    assert (flow["client_account_id"], flow["engagement_id"]) == tuple(t)
    assert (flow["flow_id"], flow["master_flow_id"], flow["data_import_id"]) == \
        (ids["flow_id"], ids["master_flow_id"], imp)
    master = row(conn, "select * from migration.crewai_flow_state_extensions where flow_id = %s",
                 (ids["master_flow_id"],))
    assert master is not None and (master["client_account_id"], master["engagement_id"]) == tuple(t)
    assert val(conn, "select master_flow_id from migration.data_imports where id = %s", (imp,)) == ids["flow_id"]
    records = raw_records(conn, imp)
    assert len(records) == 4
    assert {r["master_flow_id"] for r in records} == {None}  # stamped when handled, in the same write
    create_assets(conn, t, ids["discovery_flow_id"])
    assert {r["master_flow_id"] for r in raw_records(conn, imp)} == {ids["master_flow_id"]}


def test_start_discovery_flow_twice_returns_the_same_flow(conn, t):
    imp = create_data_import(conn, t)
    add_raw_records(conn, t, imp, [{"hostname": "a"}])
    first = start_discovery_flow(conn, t, imp)
    conn.commit()
    before = snapshot(conn)
    assert start_discovery_flow(conn, t, imp) == first
    assert snapshot(conn) == before


def test_start_discovery_flow_on_empty_import(conn, t):
    imp = create_data_import(conn, t)
    ids = start_discovery_flow(conn, t, imp)
    assert ids["flow_id"] == ids["master_flow_id"]
    assert val(conn, "select master_flow_id from migration.data_imports where id = %s", (imp,)) == ids["flow_id"]


# -- suggest_field_mappings ------------------------------------------------------------------------

SYNONYMS = {
    "Server Name": "hostname", "Host": "hostname", "hostname": "hostname",
    "IP Address": "ip_address", "Primary IPv4": "ip_address",
    "OS": "operating_system", "Platform": "operating_system",
}
COLUMN_NAMES = ("fqdn", "asset_type", "cpu_cores", "memory_gb", "environment", "mac_address", "name")


def test_suggest_field_mappings_synonyms_and_column_names(conn, t):
    imp = create_data_import(conn, t)
    keys = list(SYNONYMS) + list(COLUMN_NAMES) + ["Owner Team"]
    # every key appears in some record, not all in every record
    add_raw_records(conn, t, imp, [dict.fromkeys(keys[:6], "x"), dict.fromkeys(keys[6:], "y"), {"Only Here": 1}])
    suggestions = {s["source_field"]: s for s in suggest_field_mappings(conn, t, imp)}
    assert set(suggestions) == set(keys) | {"Only Here"}
    # one source per asset column: the best (a column's own name, else the first synonym by name);
    # the other synonyms are proposed as custom attributes
    for target in set(SYNONYMS.values()):
        sources = sorted(s for s, t_ in SYNONYMS.items() if t_ == target)
        best = target if target in sources else sources[0]
        assert suggestions[best]["target_field"] == target, best
        for other in set(sources) - {best}:
            assert suggestions[other]["target_field"] not in (target, ""), other
            assert suggestions[other]["confidence_score"] < 0.5, other
    for column in COLUMN_NAMES + ("hostname",):
        assert suggestions[column]["target_field"] == column
        assert suggestions[column]["confidence_score"] == 1
    for s in suggestions.values():
        assert s["target_field"], s
        assert 0 <= s["confidence_score"] <= 1, s
    assert val(conn, "select count(*) from migration.import_field_mappings where data_import_id = %s", (imp,)) == 0


def test_suggest_field_mappings_is_deterministic(conn, t):
    keys = list(SYNONYMS) + ["Owner Team", "Rack", "cpu_cores"]
    first = create_data_import(conn, t)
    add_raw_records(conn, t, first, [{k: f"v{i}" for i, k in enumerate(keys)}])
    second = create_data_import(conn, t)  # same headers, other order and values
    add_raw_records(conn, t, second, [dict.fromkeys(reversed(keys), "other"), {keys[0]: ""}])
    one = suggest_field_mappings(conn, t, first)
    assert suggest_field_mappings(conn, t, first) == one
    key = lambda s: s["source_field"]  # noqa: E731
    assert sorted(suggest_field_mappings(conn, t, second), key=key) == sorted(one, key=key)


# -- set_field_mappings -------------------------------------------------------------------------------

def mapping_rows(conn, imp):
    return {m["source_field"]: (m["target_field"], m["status"]) for m in rows(
        conn, "select * from migration.import_field_mappings where data_import_id = %s", (imp,))}


def test_set_field_mappings_upserts_with_approved_default(conn, t):
    imp = create_data_import(conn, t)
    assert set_field_mappings(conn, t, imp, [
        {"source_field": "Server Name", "target_field": "hostname"},
        {"source_field": "IP Address", "target_field": "ip_address"},
        {"source_field": "Team", "target_field": "department", "status": "suggested"},
    ]) == 3
    assert mapping_rows(conn, imp) == {"Server Name": ("hostname", "approved"),
                                       "IP Address": ("ip_address", "approved"),
                                       "Team": ("department", "suggested")}
    assert set_field_mappings(conn, t, imp, [
        {"source_field": "Server Name", "target_field": "name"},
        {"source_field": "Team", "target_field": "department"},
        {"source_field": "IP Address", "target_field": "ip_address", "status": "rejected"},
    ]) == 3
    assert mapping_rows(conn, imp) == {"Server Name": ("name", "approved"),
                                       "IP Address": ("ip_address", "rejected"),
                                       "Team": ("department", "approved")}
    assert val(conn, "select count(*) from migration.import_field_mappings where data_import_id = %s", (imp,)) == 3


@pytest.mark.parametrize("payload", [
    '{"source_field": "a", "target_field": "b"}',
    '[{"source_field": "a"}]',
    '[{"target_field": "b"}]',
    '[{"source_field": "a", "target_field": 3}]',
    '[{"source_field": "a", "target_field": "b", "status": "maybe"}]',
    '[1]',
])
def test_set_field_mappings_malformed(conn, t, payload):
    imp = create_data_import(conn, t)
    with raises_wr(conn, "WR005"):
        set_field_mappings(conn, t, imp, payload)
    assert mapping_rows(conn, imp) == {}


def test_set_field_mappings_change_after_inventory_is_wr008(conn, t):
    flow = start_flow(conn, t, [{"Server Name": "web01"}], mappings={"Server Name": "hostname"})
    # before the inventory ran, mappings may change freely
    set_field_mappings(conn, t, flow.data_import_id, {"Server Name": "name"})
    set_field_mappings(conn, t, flow.data_import_id, {"Server Name": "hostname"})
    cleanse_records(conn, t, flow.discovery_flow_id)
    set_field_mappings(conn, t, flow.data_import_id, {"Server Name": "hostname"})
    create_assets(conn, t, flow.discovery_flow_id)
    # the same mapping again changes nothing: allowed
    set_field_mappings(conn, t, flow.data_import_id, {"Server Name": "hostname"})
    before = mapping_rows(conn, flow.data_import_id)
    for change in ({"source_field": "Server Name", "target_field": "name"},
                   {"source_field": "Server Name", "target_field": "hostname", "status": "rejected"},
                   {"source_field": "OS", "target_field": "operating_system"}):
        with raises_wr(conn, "WR008"):
            set_field_mappings(conn, t, flow.data_import_id, [change])
    assert mapping_rows(conn, flow.data_import_id) == before == {"Server Name": ("hostname", "approved")}


# -- cleanse_records ----------------------------------------------------------------------------------------

CLEANSE_RECORDS = [
    {"Server Name": "  web01  ", "IP Address": " 10.0.0.1 ", "OS": "", "Owner Team": " web ", "Team": "ops"},
    {"Server Name": "db01", "IP Address": "300.1.1.1"},
    {"Server Name": " ", "IP Address": "", "Owner Team": "nobody"},
    {"Server Name": "app01", "IP Address": "10.0.0.4", "OS": "RHEL 9"},
]
CLEANSE_MAPPINGS = [
    {"source_field": "Server Name", "target_field": "hostname"},
    {"source_field": "IP Address", "target_field": "ip_address"},
    {"source_field": "OS", "target_field": "operating_system"},
    {"source_field": "Owner Team", "target_field": "business_owner", "status": "rejected"},
    {"source_field": "Team", "target_field": "department", "status": "suggested"},
]


def test_cleanse_records_maps_trims_nulls_and_validates(conn, t):
    """A bad optional value (an IP that is not one) is a warning and the record
    stays valid; only a record with no identity at all is invalid."""
    flow = start_flow(conn, t, CLEANSE_RECORDS, mappings=CLEANSE_MAPPINGS)
    assert cleanse_records(conn, t, flow.discovery_flow_id) == {"cleansed": 3, "invalid": 1}
    web, db, empty, app = raw_records(conn, flow.data_import_id)
    assert web["raw_data"] == CLEANSE_RECORDS[0]  # raw data is kept as it came
    data = web["cleansed_data"]
    assert data["hostname"] == "web01" and data["ip_address"] == "10.0.0.1"
    assert data.get("operating_system") is None  # "" became null
    assert "Server Name" not in data and "IP Address" not in data and "OS" not in data
    # rejected and suggested mappings are not applied: the keys stay as they are
    assert data["Owner Team"] == "web" and "business_owner" not in data
    assert data["Team"] == "ops" and "department" not in data
    assert web["is_valid"] is True and not web["validation_errors"]
    assert app["is_valid"] is True and app["cleansed_data"]["operating_system"] == "RHEL 9"
    assert db["is_valid"] is True and db["cleansed_data"]["hostname"] == "db01"
    assert "ip_address" not in db["cleansed_data"]
    assert [(w["field"], w["severity"], w["value"]) for w in db["validation_errors"]] == \
        [("ip_address", "warning", "300.1.1.1")]
    assert empty["is_valid"] is False and empty["validation_errors"]
    assert [w["severity"] for w in empty["validation_errors"]] == ["error"]
    assert empty["cleansed_data"].get("hostname") is None and empty["cleansed_data"].get("ip_address") is None
    assert all(not r["is_processed"] for r in (web, db, empty, app))

    result = create_assets(conn, t, flow.discovery_flow_id)
    assert counts(result) == {**ZERO, "created": 3, "invalid": 1}
    web, db, empty, app = raw_records(conn, flow.data_import_id)
    assert empty["processing_status"] == "invalid" and empty["asset_id"] is None
    assert empty["is_processed"] and empty["processing_notes"]
    assert db["processing_status"] == "created" and asset(conn, db["asset_id"])["ip_address"] is None
    made = asset(conn, web["asset_id"])
    assert (made["hostname"], made["ip_address"], made["operating_system"]) == ("web01", "10.0.0.1", None)
    assert made["custom_attributes"]["Owner Team"] == "web"


def test_cleanse_records_only_touches_unprocessed_records(conn, t):
    flow = start_flow(conn, t, CLEANSE_RECORDS, mappings=CLEANSE_MAPPINGS)
    cleanse_records(conn, t, flow.discovery_flow_id)
    create_assets(conn, t, flow.discovery_flow_id)
    before = raw_records(conn, flow.data_import_id)
    add_raw_records(conn, t, flow.data_import_id, [{"Server Name": " late01 ", "IP Address": "10.0.0.9"}])
    assert cleanse_records(conn, t, flow.discovery_flow_id) == {"cleansed": 1, "invalid": 0}
    after = raw_records(conn, flow.data_import_id)
    assert after[:4] == before
    assert after[4]["cleansed_data"]["hostname"] == "late01" and after[4]["is_valid"] is True


# -- persist_cleansed_data -----------------------------------------------------------------------------------

def test_persist_cleansed_data_writes_results_used_by_create_assets(conn, t):
    flow = start_flow(conn, t, [{"hostname": "raw1"}, {"hostname": "raw2"}, {"hostname": "raw3"}])
    r1, r2, r3 = raw_records(conn, flow.data_import_id)
    written = persist_cleansed_data(conn, t, flow.discovery_flow_id, [
        {"raw_import_record_id": str(r1["id"]), "cleansed_data": {"hostname": "clean1", "ip_address": "10.1.1.1"}},
        {"raw_import_record_id": str(r2["id"]), "cleansed_data": {"hostname": "clean2"},
         "validation_errors": [{"field": "ip_address", "error": "missing"}]},
    ])
    assert written == 2
    r1, r2, r3 = raw_records(conn, flow.data_import_id)
    assert r1["cleansed_data"] == {"hostname": "clean1", "ip_address": "10.1.1.1"}
    assert r1["is_valid"] is True and not r1["validation_errors"]
    assert r2["is_valid"] is False and r2["validation_errors"] == [{"field": "ip_address", "error": "missing"}]
    assert r3["cleansed_data"] is None and r3["is_valid"] is None
    assert r1["raw_data"] == {"hostname": "raw1"}

    result = create_assets(conn, t, flow.discovery_flow_id)
    assert counts(result) == {**ZERO, "created": 2, "invalid": 1}
    r1, r2, r3 = raw_records(conn, flow.data_import_id)
    assert asset(conn, r1["asset_id"])["hostname"] == "clean1"  # cleansed_data wins over raw_data
    assert asset(conn, r3["asset_id"])["hostname"] == "raw3"
    assert r2["processing_status"] == "invalid" and r2["asset_id"] is None


def test_persist_cleansed_data_foreign_record_is_wr004(conn, t):
    flow = start_flow(conn, t, [{"hostname": "a"}])
    other_import = start_flow(conn, t, [{"hostname": "b"}])
    other_tenant = new_tenant(conn, name="Other")
    foreign_flow = start_flow(conn, other_tenant, [{"hostname": "c"}])
    sibling = new_tenant(conn, client_account_id=t.client_account_id, name="Sibling")
    sibling_flow = start_flow(conn, sibling, [{"hostname": "d"}])
    own = raw_records(conn, flow.data_import_id)[0]["id"]
    for foreign in (raw_records(conn, other_import.data_import_id)[0]["id"],
                    raw_records(conn, foreign_flow.data_import_id)[0]["id"],
                    raw_records(conn, sibling_flow.data_import_id)[0]["id"],
                    uuid.uuid4()):
        with raises_wr(conn, "WR004") as info:
            persist_cleansed_data(conn, t, flow.discovery_flow_id, [
                {"raw_import_record_id": str(own), "cleansed_data": {"hostname": "x"}},
                {"raw_import_record_id": str(foreign), "cleansed_data": {"hostname": "y"}}])
        assert str(foreign) in info.value.diag.message_detail
    assert all(r["cleansed_data"] is None for r in raw_records(conn, flow.data_import_id))


def test_persist_cleansed_data_processed_record_is_wr008(conn, t):
    flow, _ = run_flow(conn, t, [{"hostname": "a"}])
    add_raw_records(conn, t, flow.data_import_id, [{"hostname": "b"}])
    processed, fresh = raw_records(conn, flow.data_import_id)
    with raises_wr(conn, "WR008"):
        persist_cleansed_data(conn, t, flow.discovery_flow_id, [
            {"raw_import_record_id": str(fresh["id"]), "cleansed_data": {"hostname": "b2"}},
            {"raw_import_record_id": str(processed["id"]), "cleansed_data": {"hostname": "a2"}}])
    assert raw_records(conn, flow.data_import_id) == [processed, fresh]


@pytest.mark.parametrize("element", [
    {"cleansed_data": {"hostname": "x"}},
    {"raw_import_record_id": "not-a-uuid", "cleansed_data": {"hostname": "x"}},
    {"raw_import_record_id": 42, "cleansed_data": {"hostname": "x"}},
    {"raw_import_record_id": "{id}"},
    {"raw_import_record_id": "{id}", "cleansed_data": "hostname=x"},
    {"raw_import_record_id": "{id}", "cleansed_data": {"hostname": "x"}, "validation_errors": "bad"},
    "duplicate",
    "not-an-array",
])
def test_persist_cleansed_data_malformed_is_wr005(conn, t, element):
    flow = start_flow(conn, t, [{"hostname": "a"}])
    rid = str(raw_records(conn, flow.data_import_id)[0]["id"])
    good = {"raw_import_record_id": rid, "cleansed_data": {"hostname": "x"}}
    if element == "duplicate":
        payload = j([good, good])
    elif element == "not-an-array":
        payload = j(good)
    else:
        payload = j([json.loads(json.dumps(element).replace("{id}", rid))])
    with raises_wr(conn, "WR005"):
        persist_cleansed_data(conn, t, flow.discovery_flow_id, payload)
    assert raw_records(conn, flow.data_import_id)[0]["cleansed_data"] is None


# -- create_assets_from_discovery: derived mode --------------------------------------------------------------

def test_derived_mode_creates_and_wires_assets(conn, t):
    records = [
        {"Server Name": "web01", "ip_address": "10.0.0.1", "operating_system": "Ubuntu", "asset_type": "server",
         "Owner Team": "web", "rack": "R1", "cpu_cores": "4"},
        {"name": "Billing DB", "Server Name": "db01", "fqdn": "db01.example.com"},
    ]
    flow = start_flow(conn, t, records, mappings={"Server Name": "hostname"})
    result = create_assets(conn, t, flow.discovery_flow_id)
    assert counts(result) == {**ZERO, "created": 2}
    assert isinstance(result["run_id"], uuid.UUID)
    web, db = raw_records(conn, flow.data_import_id)
    for rec in (web, db):
        assert rec["is_processed"] is True and rec["processing_status"] == "created"
        assert rec["processed_at"] is not None and rec["processing_notes"]
        assert rec["asset_id"] is not None
        made = asset(conn, rec["asset_id"])
        assert (made["client_account_id"], made["engagement_id"]) == tuple(t)
        assert made["raw_import_records_id"] == rec["id"]
        assert made["discovery_flow_id"] == flow.discovery_flow_id
        assert made["master_flow_id"] == flow.master_flow_id
        assert made["discovery_method"] == "flow_based"
        assert made["flow_id"] is None  # legacy column: never written
        assert made["deleted_at"] is None
        assert mappings_dict(made["field_mappings_used"]) == {"Server Name": "hostname"}
    w = asset(conn, web["asset_id"])
    assert (w["name"], w["hostname"], w["ip_address"], w["operating_system"], w["asset_type"], w["cpu_cores"]) \
        == ("web01", "web01", "10.0.0.1", "Ubuntu", "server", 4)
    assert w["custom_attributes"] == {"Owner Team": "web", "rack": "R1"}
    d = asset(conn, db["asset_id"])
    assert (d["name"], d["hostname"], d["fqdn"]) == ("Billing DB", "db01", "db01.example.com")
    assert d["custom_attributes"] == {}
    assert len(assets_of_tenant(conn, t)) == 2


def test_asset_name_falls_back_hostname_fqdn_ip(conn, t):
    flow, result = run_flow(conn, t, [
        {"name": "Named", "hostname": "h-named", "fqdn": "named.example", "ip_address": "10.0.1.1"},
        {"hostname": "h-only", "fqdn": "h-only.example", "ip_address": "10.0.1.2"},
        {"fqdn": "fq.example", "ip_address": "10.0.1.3"},
        {"ip_address": "10.0.1.4"},
    ])
    assert result["created"] == 4
    names = [asset(conn, r["asset_id"])["name"] for r in raw_records(conn, flow.data_import_id)]
    assert names == ["Named", "h-only", "fq.example", "10.0.1.4"]


def test_column_names_need_no_mapping_case_insensitively(conn, t):
    flow, result = run_flow(conn, t, [{"HostName": "web01", "IP_ADDRESS": "10.0.0.1", "Extra": "e"}])
    assert result["created"] == 1
    made = asset(conn, raw_records(conn, flow.data_import_id)[0]["asset_id"])
    assert (made["hostname"], made["ip_address"]) == ("web01", "10.0.0.1")
    assert made["custom_attributes"] == {"Extra": "e"}


def test_within_call_grouping_first_by_row_number_creates(conn, t):
    flow = start_flow(conn, t, [
        {"hostname": "web01", "marker": 1},
        {"hostname": "WEB01", "marker": 2},
        {"hostname": "web02", "marker": 3},
        {"hostname": "web01", "marker": 4},
        {"name": "billing", "asset_type": "application", "marker": 5},
        {"name": "billing", "asset_type": "application", "marker": 6},
    ])
    # move row 1 to the end of the heap: the planner's physical order is not row_number order
    conn.execute("update migration.raw_import_records set raw_data = raw_data"
                 " where data_import_id = %s and row_number = 1", (flow.data_import_id,))
    result = create_assets(conn, t, flow.discovery_flow_id)
    assert counts(result) == {**ZERO, "created": 3, "matched": 3}
    r = raw_records(conn, flow.data_import_id)
    assert [x["processing_status"] for x in r] == ["created", "matched", "created", "matched", "created", "matched"]
    assert r[1]["asset_id"] == r[3]["asset_id"] == r[0]["asset_id"]
    assert r[5]["asset_id"] == r[4]["asset_id"]
    assert len({r[0]["asset_id"], r[2]["asset_id"], r[4]["asset_id"]}) == 3
    web = asset(conn, r[0]["asset_id"])
    assert web["raw_import_records_id"] == r[0]["id"] and web["custom_attributes"]["marker"] == 1
    assert asset(conn, r[4]["asset_id"])["raw_import_records_id"] == r[4]["id"]
    assert all(x["processing_notes"] for x in r)
    assert len(assets_of_tenant(conn, t)) == 3


def test_within_call_grouping_is_by_highest_ranked_key(conn, t):
    flow, result = run_flow(conn, t, [
        {"hostname": "a", "ip_address": "10.9.9.9"},
        {"hostname": "b", "ip_address": "10.9.9.9"},
        {"name": "svc", "asset_type": "application"},
        {"name": "svc", "asset_type": "database"},
    ])
    assert counts(result) == {**ZERO, "created": 4}
    assert len({r["asset_id"] for r in raw_records(conn, flow.data_import_id)}) == 4


@pytest.mark.parametrize("existing,incoming,updated", [
    ({"hostname": "Alpha01"}, {"hostname": "alpha01", "ip_address": "10.5.5.5"}, 1),  # fills the empty IP
    ({"fqdn": "alpha.example.com"}, {"fqdn": "alpha.example.com", "name": "other name"}, 0),  # name: identity
    ({"ip_address": "10.5.5.5"}, {"ip_address": "10.5.5.5", "name": "other name"}, 0),
    ({"name": "billing", "asset_type": "application"}, {"name": "billing", "asset_type": "application"}, 0),
], ids=["hostname-case-insensitive", "fqdn", "ip_address", "name+asset_type"])
def test_matches_existing_asset_by_each_identity_key(conn, t, existing, incoming, updated):
    first, _ = run_flow(conn, t, [existing], import_name="first")
    origin_record = raw_records(conn, first.data_import_id)[0]
    second, result = run_flow(conn, t, [incoming], import_name="second")
    assert counts(result) == {**ZERO, "matched": 1, "updated": updated}
    rec = raw_records(conn, second.data_import_id)[0]
    assert rec["processing_status"] == "matched" and rec["is_processed"] and rec["processing_notes"]
    assert rec["asset_id"] == origin_record["asset_id"]
    kept = asset(conn, origin_record["asset_id"])
    assert kept["raw_import_records_id"] == origin_record["id"]  # the asset keeps its origin
    assert kept["discovery_flow_id"] == first.discovery_flow_id
    assert len(assets_of_tenant(conn, t)) == 1


def test_name_with_other_asset_type_does_not_match(conn, t):
    run_flow(conn, t, [{"name": "billing", "asset_type": "application"}])
    _, result = run_flow(conn, t, [{"name": "billing", "asset_type": "database"}])
    assert counts(result) == {**ZERO, "created": 1}


def test_matching_ignores_soft_deleted_assets_and_other_tenants(conn, t):
    first, _ = run_flow(conn, t, [{"hostname": "gone01"}])
    conn.execute("update migration.assets set deleted_at = now() where id = %s",
                 (raw_records(conn, first.data_import_id)[0]["asset_id"],))
    other = new_tenant(conn, name="Other")
    run_flow(conn, other, [{"hostname": "theirs01"}])
    sibling = new_tenant(conn, client_account_id=t.client_account_id, name="Sibling")
    run_flow(conn, sibling, [{"hostname": "sibling01"}])
    flow, result = run_flow(conn, t, [{"hostname": "gone01"}, {"hostname": "theirs01"}, {"hostname": "sibling01"}])
    assert counts(result) == {**ZERO, "created": 3}
    for rec in raw_records(conn, flow.data_import_id):
        made = asset(conn, rec["asset_id"])
        assert (made["client_account_id"], made["engagement_id"]) == tuple(t)
        assert made["deleted_at"] is None


@pytest.mark.parametrize("hostname_asset_first", [True, False])
def test_keys_hitting_two_assets_is_a_pending_conflict(conn, t, hostname_asset_first):
    """existing_asset_id is the asset found by the highest-ranked key (hostname
    before ip_address), whichever of the two is older."""
    order = [[{"hostname": "h-conf"}], [{"ip_address": "10.7.7.7"}]]
    made = []
    for records in order if hostname_asset_first else order[::-1]:
        flow, _ = run_flow(conn, t, records)
        made.append(raw_records(conn, flow.data_import_id)[0]["asset_id"])
        conn.commit()  # distinct created_at
    by_hostname = made[0] if hostname_asset_first else made[1]
    by_ip = made[1] if hostname_asset_first else made[0]

    flow, result = run_flow(conn, t, [{"hostname": "H-CONF", "ip_address": "10.7.7.7", "note": "n"},
                                      {"hostname": "fine01"}])
    assert counts(result) == {**ZERO, "created": 1, "conflicts": 1}
    rec, fine = raw_records(conn, flow.data_import_id)
    assert rec["processing_status"] == "conflict" and rec["asset_id"] is None
    assert rec["is_processed"] and rec["processed_at"] is not None and rec["processing_notes"]
    conflicts = rows(conn, "select * from migration.asset_conflict_resolutions where raw_import_record_id = %s",
                     (rec["id"],))
    assert len(conflicts) == 1
    c = conflicts[0]
    assert c["resolution_status"] == "pending" and c["resolution_action"] is None and c["resolved_at"] is None
    assert c["discovery_flow_id"] == flow.discovery_flow_id
    assert c["existing_asset_id"] == by_hostname
    assert c["conflict_type"]
    assert (c["client_account_id"], c["engagement_id"]) == tuple(t)
    assert c["new_asset_data"]["hostname"] == "H-CONF"
    assert len(assets_of_tenant(conn, t)) == 3  # two existing + fine01
    assert {a["id"] for a in assets_of_tenant(conn, t)} >= {by_hostname, by_ip}
    assert flow_row(conn, flow.discovery_flow_id)["asset_inventory_completed"] is False
    assert wiring_health(conn, t)["health_status"] == "healthy"


def test_already_linked_record_is_never_relinked(conn, t):
    first, _ = run_flow(conn, t, [{"hostname": "x1"}])
    x_origin = raw_records(conn, first.data_import_id)[0]
    x = x_origin["asset_id"]
    flow = start_flow(conn, t, [{"hostname": "y1"}, {"hostname": "z1"}])
    linked, _ = raw_records(conn, flow.data_import_id)
    conn.execute("update migration.raw_import_records set asset_id = %s where id = %s", (x, linked["id"]))
    result = create_assets(conn, t, flow.discovery_flow_id)
    assert counts(result) == {**ZERO, "created": 1, "already_linked": 1}
    linked, z = raw_records(conn, flow.data_import_id)
    assert linked["asset_id"] == x and linked["is_processed"] and linked["processing_notes"]
    assert not [a for a in assets_of_tenant(conn, t) if a["hostname"] == "y1"]
    assert asset(conn, x)["raw_import_records_id"] == x_origin["id"]

    # supplied mode: records that already have an asset are not relinked either
    result = create_assets(conn, t, flow.discovery_flow_id, [
        {"raw_import_record_id": str(linked["id"]), "hostname": "brand-new-1"},
        {"raw_import_record_id": str(z["id"]), "hostname": "x1"},
    ])
    assert counts(result) == {**ZERO, "already_linked": 2}
    assert [r["asset_id"] for r in raw_records(conn, flow.data_import_id)] == [x, z["asset_id"]]
    assert len(assets_of_tenant(conn, t)) == 2
    assert wiring_health(conn, t)["health_status"] == "healthy"


# -- create_assets_from_discovery: supplied mode -------------------------------------------------------------

def test_supplied_mode_handles_only_the_given_records(conn, t):
    flow = start_flow(conn, t, [{"hostname": "raw-1"}, {"hostname": "raw-2"}, {"hostname": "raw-3"}])
    r1, r2, r3 = raw_records(conn, flow.data_import_id)
    result = create_assets(conn, t, flow.discovery_flow_id, [
        {"raw_import_record_id": str(r1["id"]), "hostname": "sup-1", "asset_type": "server", "extra": "e"},
        {"raw_import_record_id": str(r2["id"]), "name": "n2", "ip_address": "10.3.3.3"},
    ])
    assert counts(result) == {**ZERO, "created": 2}
    assert isinstance(result["run_id"], uuid.UUID)
    r1, r2, r3 = raw_records(conn, flow.data_import_id)
    a1, a2 = asset(conn, r1["asset_id"]), asset(conn, r2["asset_id"])
    assert (a1["name"], a1["hostname"], a1["asset_type"], a1["custom_attributes"]) == \
        ("sup-1", "sup-1", "server", {"extra": "e"})  # the caller's fields, not raw_data
    assert (a2["name"], a2["ip_address"], a2["hostname"]) == ("n2", "10.3.3.3", None)
    for rec, made in ((r1, a1), (r2, a2)):
        assert rec["processing_status"] == "created" and rec["is_processed"]
        assert made["raw_import_records_id"] == rec["id"]
        assert (made["discovery_flow_id"], made["master_flow_id"], made["discovery_method"]) == \
            (flow.discovery_flow_id, flow.master_flow_id, "flow_based")
    assert not r3["is_processed"] and r3["asset_id"] is None and r3["processing_status"] is None
    assert flow_row(conn, flow.discovery_flow_id)["asset_inventory_completed"] is False

    result = create_assets(conn, t, flow.discovery_flow_id,
                           [{"raw_import_record_id": str(r3["id"]), "hostname": "SUP-1"}])
    assert counts(result) == {**ZERO, "matched": 1}
    assert raw_records(conn, flow.data_import_id)[2]["asset_id"] == a1["id"]
    assert flow_row(conn, flow.discovery_flow_id)["asset_inventory_completed"] is True


def test_supplied_mode_foreign_record_is_wr004(conn, t):
    flow = start_flow(conn, t, [{"hostname": "a"}])
    own = raw_records(conn, flow.data_import_id)[0]["id"]
    other_import = start_flow(conn, t, [{"hostname": "b"}])
    other_tenant = new_tenant(conn, name="Other")
    foreign_flow = start_flow(conn, other_tenant, [{"hostname": "c"}])
    sibling = new_tenant(conn, client_account_id=t.client_account_id, name="Sibling")
    sibling_flow = start_flow(conn, sibling, [{"hostname": "d"}])
    for foreign in (raw_records(conn, other_import.data_import_id)[0]["id"],
                    raw_records(conn, foreign_flow.data_import_id)[0]["id"],
                    raw_records(conn, sibling_flow.data_import_id)[0]["id"],
                    uuid.uuid4()):
        for dry_run in (False, True):
            with raises_wr(conn, "WR004") as info:
                create_assets(conn, t, flow.discovery_flow_id, [
                    {"raw_import_record_id": str(own), "hostname": "a"},
                    {"raw_import_record_id": str(foreign), "hostname": "zz"}], dry_run=dry_run)
            assert str(foreign) in info.value.diag.message_detail
    assert raw_records(conn, flow.data_import_id)[0]["is_processed"] is False
    assert assets_of_tenant(conn, t) == []


@pytest.mark.parametrize("payload", [
    "not-an-array", "missing-id", "bad-uuid", "numeric-id", "not-an-object", "duplicate", "too-many",
])
def test_supplied_mode_malformed_is_wr005(conn, t, payload):
    flow = start_flow(conn, t, [{"hostname": "a"}])
    rid = str(raw_records(conn, flow.data_import_id)[0]["id"])
    good = {"raw_import_record_id": rid, "hostname": "a"}
    text = {
        "not-an-array": j(good),
        "missing-id": j([{"hostname": "a"}]),
        "bad-uuid": j([{"raw_import_record_id": "1234", "hostname": "a"}]),
        "numeric-id": j([{"raw_import_record_id": 1234, "hostname": "a"}]),
        "not-an-object": j([good, "x"]),
        "duplicate": j([good, {**good, "hostname": "b"}]),
        "too-many": "[" + ",".join([j(good)] + ["{}"] * 50_000) + "]",
    }[payload]
    with raises_wr(conn, "WR005"):
        create_assets(conn, t, flow.discovery_flow_id, text)
    assert raw_records(conn, flow.data_import_id)[0]["is_processed"] is False
    assert assets_of_tenant(conn, t) == []


# -- idempotence, dry run, run rows, flow phase --------------------------------------------------------------

def rich_flow(conn, t):
    """A committed flow whose inventory gives every outcome once; the assets it
    meets were committed before. Expected: created 1, matched 2, conflict 1,
    invalid 1, already_linked 1."""
    old, _ = run_flow(conn, t, [{"hostname": "old-h"}, {"fqdn": "dup.a.example.com"},
                                {"fqdn": "dup.b.example.com"}, {"hostname": "linked-src"}], import_name="old")
    conn.commit()
    flow = start_flow(conn, t, [
        {"hostname": "new-a", "asset_type": "server"},     # created
        {"hostname": "NEW-A"},                              # matched in the call
        {"hostname": "old-h", "os": "x"},                   # matched an existing asset (and adds "os")
        {"hostname": "dup"},                                # conflict: the short name of two FQDNs
        {"Owner": "nobody"},                                # invalid: no name, no identity
        {"hostname": "to-be-linked"},                       # already linked
    ], import_name="rich")
    linked_asset = raw_records(conn, old.data_import_id)[3]["asset_id"]
    conn.execute("update migration.raw_import_records set asset_id = %s where data_import_id = %s"
                 " and row_number = 6", (linked_asset, flow.data_import_id))
    conn.commit()
    return flow


RICH = {"created": 1, "matched": 2, "conflicts": 1, "invalid": 1, "already_linked": 1, "updated": 1}


def test_rich_flow_outcomes(conn, t):
    flow = rich_flow(conn, t)
    result = create_assets(conn, t, flow.discovery_flow_id)
    assert counts(result) == RICH
    assert [r["processing_status"] for r in raw_records(conn, flow.data_import_id)][:5] == \
        ["created", "matched", "matched", "conflict", "invalid"]
    assert all(r["is_processed"] for r in raw_records(conn, flow.data_import_id))
    assert wiring_health(conn, t)["health_status"] == "healthy"


def test_second_call_changes_nothing(conn, t):
    flow = rich_flow(conn, t)
    first = create_assets(conn, t, flow.discovery_flow_id)
    assert counts(first) == RICH
    conn.commit()
    before = snapshot(conn)
    again = create_assets(conn, t, flow.discovery_flow_id)
    assert again == {"run_id": None, **ZERO}
    assert snapshot(conn) == before
    conn.commit()
    assert snapshot(conn) == before


def test_dry_run_returns_the_real_counts_and_writes_nothing(conn, t):
    flow = rich_flow(conn, t)
    before = snapshot(conn)
    dry = create_assets(conn, t, flow.discovery_flow_id, dry_run=True)
    assert dry["run_id"] is None
    assert snapshot(conn) == before
    real = create_assets(conn, t, flow.discovery_flow_id)
    assert counts(dry) == counts(real) == RICH
    assert real["run_id"] is not None


def test_supplied_dry_run_returns_the_real_counts_and_writes_nothing(conn, t):
    run_flow(conn, t, [{"hostname": "old-h"}])
    flow = start_flow(conn, t, [{"hostname": "x"}, {"hostname": "y"}, {"hostname": "z"}])
    conn.commit()
    r = raw_records(conn, flow.data_import_id)
    payload = [{"raw_import_record_id": str(r[0]["id"]), "hostname": "n1"},
               {"raw_import_record_id": str(r[1]["id"]), "hostname": "OLD-H"},
               {"raw_import_record_id": str(r[2]["id"]), "hostname": "n1"}]
    before = snapshot(conn)
    dry = create_assets(conn, t, flow.discovery_flow_id, payload, dry_run=True)
    assert snapshot(conn) == before
    real = create_assets(conn, t, flow.discovery_flow_id, payload)
    assert counts(dry) == counts(real) == {**ZERO, "created": 1, "matched": 2}


def runs_of(conn, discovery_flow_id):
    return rows(conn, "select * from migration.asset_inventory_runs where discovery_flow_id = %s"
                      " order by started_at, finished_at", (discovery_flow_id,))


def test_one_run_row_per_handling_call(conn, t):
    flow = rich_flow(conn, t)
    add_raw_records(conn, t, flow.data_import_id, [{"hostname": "later"}])
    later = raw_records(conn, flow.data_import_id)[-1]
    supplied = create_assets(conn, t, flow.discovery_flow_id,
                             [{"raw_import_record_id": str(later["id"]), "hostname": "new-a"}])
    assert counts(supplied) == {**ZERO, "created": 1}
    conn.commit()
    derived = create_assets(conn, t, flow.discovery_flow_id)
    conn.commit()
    create_assets(conn, t, flow.discovery_flow_id)  # nothing to handle: no row
    create_assets(conn, t, flow.discovery_flow_id, dry_run=True)  # dry run: no row
    runs = runs_of(conn, flow.discovery_flow_id)
    assert [r["id"] for r in runs] == [supplied["run_id"], derived["run_id"]]
    for run, result in zip(runs, (supplied, derived)):
        assert (run["client_account_id"], run["engagement_id"]) == tuple(t)
        assert {k: run[k] for k in ZERO} == counts(result)
        assert run["started_at"] is not None and run["finished_at"] >= run["started_at"]
    # "new-a" existed before (created by the supplied call), so the derived call matched it,
    # and refreshed it with the asset_type of its first row
    assert counts(derived) == {**RICH, "created": 0, "matched": 3, "updated": 2}


def test_inventory_completed_only_when_nothing_unhandled_and_no_conflict_pending(conn, t):
    clean = start_flow(conn, t, [{"hostname": "c1"}, {"bogus": ""}])
    assert flow_row(conn, clean.discovery_flow_id)["asset_inventory_completed"] is False
    create_assets(conn, t, clean.discovery_flow_id)
    assert flow_row(conn, clean.discovery_flow_id)["asset_inventory_completed"] is True  # invalid is handled
    add_raw_records(conn, t, clean.data_import_id, [{"hostname": "c2"}])
    assert flow_row(conn, clean.discovery_flow_id)["asset_inventory_completed"] is False
    create_assets(conn, t, clean.discovery_flow_id)
    assert flow_row(conn, clean.discovery_flow_id)["asset_inventory_completed"] is True

    rich = rich_flow(conn, t)
    create_assets(conn, t, rich.discovery_flow_id)
    assert flow_row(conn, rich.discovery_flow_id)["asset_inventory_completed"] is False  # conflict pending


def test_create_assets_on_an_empty_import(conn, t):
    flow = start_flow(conn, t, [])
    before = snapshot(conn)
    assert create_assets(conn, t, flow.discovery_flow_id) == {"run_id": None, **ZERO}
    assert snapshot(conn) == before


# -- list_assets ---------------------------------------------------------------------------------------------

REQUIRED_ASSET_KEYS = {"id", "name", "asset_type", "hostname", "ip_address", "discovery_flow_id",
                       "master_flow_id", "status", "created_at"}


def test_list_assets_pagination(conn, t):
    run_flow(conn, t, [{"hostname": f"h{i}"} for i in range(5)])
    page1 = list_assets(conn, t, page=1, page_size=2)
    assert set(page1) >= {"assets", "pagination", "metadata", "filters"}
    assert page1["pagination"] == {"page": 1, "page_size": 2, "total_count": 5, "total_pages": 3,
                                   "has_next": True, "has_prev": False}
    assert page1["metadata"] == {"page_size_capped": False, "max_page_size": 200}
    page3 = list_assets(conn, t, page=3, page_size=2)
    assert page3["pagination"] == {"page": 3, "page_size": 2, "total_count": 5, "total_pages": 3,
                                   "has_next": False, "has_prev": True}
    pages = [list_assets(conn, t, page=p, page_size=2)["assets"] for p in (1, 2, 3)]
    assert [len(p) for p in pages] == [2, 2, 1]
    ids = [a["id"] for p in pages for a in p]
    assert len(set(ids)) == 5
    assert list_assets(conn, t, page=4, page_size=2)["assets"] == []
    for a in pages[0]:
        assert set(a) >= REQUIRED_ASSET_KEYS


def test_list_assets_caps_page_size_at_200(conn, t):
    run_flow(conn, t, [{"hostname": f"host-{i:03d}"} for i in range(205)])
    capped = list_assets(conn, t, page_size=500)
    assert len(capped["assets"]) == 200
    assert capped["pagination"]["page_size"] == 200
    assert capped["pagination"]["total_count"] == 205 and capped["pagination"]["total_pages"] == 2
    assert capped["pagination"]["has_next"] is True
    assert capped["metadata"] == {"page_size_capped": True, "max_page_size": 200}
    assert len(list_assets(conn, t, page=2, page_size=500)["assets"]) == 5
    exact = list_assets(conn, t, page_size=200)
    assert exact["metadata"]["page_size_capped"] is False and len(exact["assets"]) == 200


def test_list_assets_order_newest_first_then_id_desc(conn, t):
    for batch in range(3):
        run_flow(conn, t, [{"hostname": f"b{batch}-{i}"} for i in range(3)], import_name=f"batch {batch}")
        conn.commit()
    listed = list_assets(conn, t)["assets"]
    db = assets_of_tenant(conn, t)
    expected = [str(a["id"]) for a in sorted(db, key=lambda a: (a["created_at"], a["id"]), reverse=True)]
    assert [a["id"] for a in listed] == expected
    assert {a["hostname"] for a in listed[:3]} == {"b2-0", "b2-1", "b2-2"}
    assert len({a["created_at"] for a in db}) == 3  # the ordering is on created_at, then on id


def test_list_assets_excludes_soft_deleted_and_other_tenants(conn, t):
    flow, _ = run_flow(conn, t, [{"hostname": "keep"}, {"hostname": "drop"}])
    run_flow(conn, new_tenant(conn, name="Other"), [{"hostname": "theirs"}])
    run_flow(conn, new_tenant(conn, client_account_id=t.client_account_id, name="Sibling"), [{"hostname": "sib"}])
    drop = raw_records(conn, flow.data_import_id)[1]["asset_id"]
    conn.execute("update migration.assets set deleted_at = now() where id = %s", (drop,))
    for page in (list_assets(conn, t), list_assets(conn, t, flow_id=flow.discovery_flow_id)):
        assert [a["hostname"] for a in page["assets"]] == ["keep"]
        assert page["pagination"]["total_count"] == 1


def test_list_assets_by_any_flow_id(conn, t):
    a, _ = run_flow(conn, t, [{"hostname": "a1"}, {"hostname": "a2"}], import_name="a")
    b, _ = run_flow(conn, t, [{"hostname": "b1"}], import_name="b")
    expected = {str(r["asset_id"]) for r in raw_records(conn, a.data_import_id)}
    for any_id in (a.discovery_flow_id, a.flow_id, a.master_flow_id):
        page = list_assets(conn, t, flow_id=any_id)
        assert {x["id"] for x in page["assets"]} == expected
        assert page["pagination"]["total_count"] == 2
        assert all(x["discovery_flow_id"] == str(a.discovery_flow_id) for x in page["assets"])
        assert all(x["master_flow_id"] == str(a.master_flow_id) for x in page["assets"])
    assert [x["hostname"] for x in list_assets(conn, t, flow_id=b.flow_id)["assets"]] == ["b1"]
    assert list_assets(conn, t)["pagination"]["total_count"] == 3


def test_list_assets_filters(conn, t):
    run_flow(conn, t, [
        {"hostname": "s1", "asset_type": "server"},
        {"hostname": "s2", "asset_type": "server", "status": "retired"},
        {"hostname": "d1", "asset_type": "database"},
    ])
    servers = list_assets(conn, t, asset_type="server")
    assert sorted(a["hostname"] for a in servers["assets"]) == ["s1", "s2"]
    assert servers["pagination"]["total_count"] == 2
    assert servers["filters"]["asset_type"] == "server"
    retired = list_assets(conn, t, status="retired")
    assert [a["hostname"] for a in retired["assets"]] == ["s2"]
    assert [a["hostname"] for a in list_assets(conn, t, asset_type="server", status="active")["assets"]] == ["s1"]
    assert list_assets(conn, t, asset_type="router")["assets"] == []


@pytest.mark.parametrize("page,page_size", [(0, 10), (-1, 10), (1, 0), (1, -5)])
def test_list_assets_bad_paging_is_wr006(conn, t, page, page_size):
    with raises_wr(conn, "WR006"):
        list_assets(conn, t, page=page, page_size=page_size)


def test_list_assets_unknown_flow_is_wr002(conn, t):
    other = new_tenant(conn, name="Other")
    foreign, _ = run_flow(conn, other, [{"hostname": "x"}])
    for flow_id in (uuid.uuid4(), foreign.discovery_flow_id, foreign.flow_id):
        with raises_wr(conn, "WR002"):
            list_assets(conn, t, flow_id=flow_id)


# -- wiring_health -------------------------------------------------------------------------------------------

def test_wiring_health_healthy_on_clean_data(conn, t):
    flow = rich_flow(conn, t)
    create_assets(conn, t, flow.discovery_flow_id)
    pending = start_flow(conn, t, [{"hostname": "p1"}, {"hostname": "p2"}], import_name="not run yet")
    report = wiring_health(conn, t)
    assert set(report) >= set(GAP_KEYS) | {"health_status", "raw_records_pending", "tenant"}
    assert {k: report[k] for k in GAP_KEYS} == dict.fromkeys(GAP_KEYS, 0)
    assert report["health_status"] == "healthy"
    assert report["raw_records_pending"] == 2
    assert report["tenant"] == {"client_account_id": str(t.client_account_id),
                                "engagement_id": str(t.engagement_id)}
    assert "samples" not in report
    create_assets(conn, t, pending.discovery_flow_id)
    assert wiring_health(conn, t)["raw_records_pending"] == 0


def test_wiring_health_on_an_empty_tenant(conn, t):
    report = wiring_health(conn, t, detail=True)
    assert report["health_status"] == "healthy"
    assert {k: report[k] for k in GAP_KEYS} == dict.fromkeys(GAP_KEYS, 0)
    assert set(report["samples"]) >= set(GAP_KEYS)


def test_wiring_health_reports_gaps_with_samples(conn, t):
    flow, _ = run_flow(conn, t, [{"hostname": "h1"}, {"hostname": "h2"}])
    other = new_tenant(conn, name="Other")
    run_flow(conn, other, [{"hostname": "o1"}])
    r1, r2 = raw_records(conn, flow.data_import_id)
    legacy = uuid.uuid4()
    replica(conn)  # a restored legacy database: no trigger, no foreign key
    conn.execute("update migration.raw_import_records set asset_id = null where id = %s", (r1["id"],))
    conn.execute("update migration.assets set discovery_flow_id = %s where id = %s", (flow.flow_id, r2["asset_id"]))
    conn.execute("insert into migration.assets (client_account_id, engagement_id, id, name, flow_id)"
                 " values (%s, %s, %s, 'legacy', %s)", (*t, legacy, flow.flow_id))
    origin(conn)
    report = wiring_health(conn, t, detail=True)
    assert report["health_status"] == "unhealthy"
    expected = dict.fromkeys(GAP_KEYS, 0) | {"links_disagree": 1, "processed_records_missing_asset_id": 1,
                                             "assets_with_unknown_discovery_flow_id": 1,
                                             "assets_with_legacy_flow_id_only": 1}
    assert {k: report[k] for k in GAP_KEYS} == expected
    samples = report["samples"]
    assert samples["links_disagree"] == [str(r1["asset_id"])]
    assert samples["processed_records_missing_asset_id"] == [str(r1["id"])]
    assert samples["assets_with_unknown_discovery_flow_id"] == [str(r2["asset_id"])]
    assert samples["assets_with_legacy_flow_id_only"] == [str(legacy)]
    assert samples["raw_with_orphan_asset_ref"] == []
    assert wiring_health(conn, other)["health_status"] == "healthy"  # per tenant

    # soft-deleted assets are no gap
    replica(conn)  # (the rows above are this transaction's: their foreign keys would be rechecked)
    conn.execute("update migration.assets set deleted_at = now() where id = any(%s)",
                 ([r1["asset_id"], r2["asset_id"], legacy],))
    origin(conn)
    report = wiring_health(conn, t)
    assert report["links_disagree"] == report["assets_with_unknown_discovery_flow_id"] == 0
    assert report["assets_with_legacy_flow_id_only"] == 0


def test_wiring_health_samples_hold_at_most_ten_ids(conn, t):
    flow, _ = run_flow(conn, t, [{"hostname": f"h{i}"} for i in range(12)])
    replica(conn)
    conn.execute("update migration.raw_import_records set asset_id = null where data_import_id = %s",
                 (flow.data_import_id,))
    origin(conn)
    report = wiring_health(conn, t, detail=True)
    assert report["processed_records_missing_asset_id"] == 12 and report["links_disagree"] == 12
    assert len(report["samples"]["processed_records_missing_asset_id"]) == 10
    ids = {str(r["id"]) for r in raw_records(conn, flow.data_import_id)}
    assert set(report["samples"]["processed_records_missing_asset_id"]) <= ids


# -- resolve_flow --------------------------------------------------------------------------------------------

def test_resolve_flow_maps_every_id_kind_to_the_same_triple(conn, t):
    flow = start_flow(conn, t, [{"hostname": "a"}])
    start_flow(conn, t, [{"hostname": "b"}])  # another flow of the tenant
    triple = {"discovery_flow_id": flow.discovery_flow_id, "flow_id": flow.flow_id,
              "master_flow_id": flow.master_flow_id}
    for any_id in (flow.discovery_flow_id, flow.flow_id, flow.master_flow_id):
        assert resolve_flow(conn, t, any_id) == triple


def test_resolve_flow_unknown_is_wr002(conn, t):
    other = new_tenant(conn, name="Other")
    foreign = start_flow(conn, other, [{"hostname": "a"}])
    sibling = new_tenant(conn, client_account_id=t.client_account_id, name="Sibling")
    sibling_flow = start_flow(conn, sibling, [{"hostname": "a"}])
    for any_id in (uuid.uuid4(), foreign.discovery_flow_id, foreign.flow_id, sibling_flow.discovery_flow_id,
                   sibling_flow.flow_id):
        with raises_wr(conn, "WR002"):
            resolve_flow(conn, t, any_id)


# -- errors common to every function -------------------------------------------------------------------------

X = uuid.uuid4()  # any UUID: the tenant check comes first
API_CALLS = {
    "create_data_import": ("select discovery.create_data_import(p_client_account_id => %s::uuid,"
                           " p_engagement_id => %s::uuid, p_import_name => 'i'::text, p_import_type => 'csv'::text,"
                           " p_filename => 'f.csv'::text)", ()),
    "add_raw_records": ("select discovery.add_raw_records(p_client_account_id => %s::uuid,"
                        " p_engagement_id => %s::uuid, p_data_import_id => %s::uuid, p_records => %s::jsonb)",
                        (X, '[{"hostname": "a"}]')),
    "start_discovery_flow": ("select * from discovery.start_discovery_flow(p_client_account_id => %s::uuid,"
                             " p_engagement_id => %s::uuid, p_data_import_id => %s::uuid)", (X,)),
    "suggest_field_mappings": ("select * from discovery.suggest_field_mappings(p_client_account_id => %s::uuid,"
                               " p_engagement_id => %s::uuid, p_data_import_id => %s::uuid)", (X,)),
    "set_field_mappings": ("select discovery.set_field_mappings(p_client_account_id => %s::uuid,"
                           " p_engagement_id => %s::uuid, p_data_import_id => %s::uuid, p_mappings => %s::jsonb)",
                           (X, '[{"source_field": "a", "target_field": "hostname"}]')),
    "cleanse_records": ("select * from discovery.cleanse_records(p_client_account_id => %s::uuid,"
                        " p_engagement_id => %s::uuid, p_discovery_flow_id => %s::uuid)", (X,)),
    "persist_cleansed_data": ("select discovery.persist_cleansed_data(p_client_account_id => %s::uuid,"
                              " p_engagement_id => %s::uuid, p_discovery_flow_id => %s::uuid,"
                              " p_cleansed => %s::jsonb)", (X, "[]")),
    "create_assets_from_discovery": ("select * from discovery.create_assets_from_discovery("
                                     "p_client_account_id => %s::uuid, p_engagement_id => %s::uuid,"
                                     " p_discovery_flow_id => %s::uuid)", (X,)),
    "list_assets": ("select discovery.list_assets(p_client_account_id => %s::uuid, p_engagement_id => %s::uuid)",
                    ()),
    "wiring_health": ("select discovery.wiring_health(p_client_account_id => %s::uuid,"
                      " p_engagement_id => %s::uuid)", ()),
    "resolve_flow": ("select * from discovery.resolve_flow(p_client_account_id => %s::uuid,"
                     " p_engagement_id => %s::uuid, p_any_flow_id => %s::uuid)", (X,)),
    "resolve_asset_conflict": ("select discovery.resolve_asset_conflict(p_client_account_id => %s::uuid,"
                               " p_engagement_id => %s::uuid, p_conflict_id => %s::uuid,"
                               " p_action => 'keep_existing'::text)", (X,)),
    "repair_wiring": ("select discovery.repair_wiring(p_client_account_id => %s::uuid,"
                      " p_engagement_id => %s::uuid, p_dry_run => true::boolean)", ()),
    "add_raw_records_bulk": ("select discovery.add_raw_records_bulk(p_client_account_id => %s::uuid,"
                             " p_engagement_id => %s::uuid, p_data_import_id => %s::uuid,"
                             " p_records => array[%s::jsonb])", (X, '{"hostname": "a"}')),
    "list_conflicts": ("select discovery.list_conflicts(p_client_account_id => %s::uuid,"
                       " p_engagement_id => %s::uuid)", ()),
    "list_raw_records": ("select discovery.list_raw_records(p_client_account_id => %s::uuid,"
                         " p_engagement_id => %s::uuid)", ()),
    "list_data_imports": ("select discovery.list_data_imports(p_client_account_id => %s::uuid,"
                          " p_engagement_id => %s::uuid)", ()),
    "get_asset": ("select discovery.get_asset(p_client_account_id => %s::uuid, p_engagement_id => %s::uuid,"
                  " p_asset_id => %s::uuid)", (X,)),
    "undo_import": ("select discovery.undo_import(p_client_account_id => %s::uuid, p_engagement_id => %s::uuid,"
                    " p_data_import_id => %s::uuid)", (X,)),
}
# register_tenant is the one function that takes an unregistered tenant: it registers it.


def test_every_public_function_is_covered_by_the_tenant_check_tests(conn):
    public = {r["proname"] for r in rows(
        conn, "select proname from pg_catalog.pg_proc where pronamespace = 'discovery'::regnamespace"
              " and proname not like '\\_%%'")}
    assert public - {"register_tenant"} <= set(API_CALLS), "add the new function to API_CALLS"


@pytest.mark.parametrize("function", sorted(API_CALLS))
@pytest.mark.parametrize("unknown", ["both-unknown", "engagement-of-another-client", "client-only"])
def test_unknown_tenant_is_wr001(conn, t, function, unknown):
    other = new_tenant(conn, name="Other")
    tenant = {"both-unknown": (uuid.uuid4(), uuid.uuid4()),
              "engagement-of-another-client": (t.client_account_id, other.engagement_id),
              "client-only": (t.client_account_id, uuid.uuid4())}[unknown]
    query, extra = API_CALLS[function]
    before = snapshot(conn)
    with raises_wr(conn, "WR001") as info:
        conn.execute(query, (*tenant, *extra))
    assert str(tenant[1]) in info.value.diag.message_detail
    assert snapshot(conn) == before


def test_every_function_answers_for_a_registered_tenant(conn, t):
    """The WR001 table above calls real signatures: with a real tenant they fail
    later (or not at all), never with WR001 or a wrong-signature error."""
    for function, (query, extra) in API_CALLS.items():
        try:
            with conn.transaction():
                conn.execute(query, (*t, *extra))
        except psycopg.Error as error:
            assert error.sqlstate and error.sqlstate.startswith("WR") and error.sqlstate != "WR001", \
                (function, error.sqlstate, str(error))


FLOW_ARG_CALLS = {
    "cleanse_records": lambda conn, t, fid, rid: cleanse_records(conn, t, fid),
    "persist_cleansed_data": lambda conn, t, fid, rid: persist_cleansed_data(
        conn, t, fid, [{"raw_import_record_id": str(rid), "cleansed_data": {"hostname": "x"}}]),
    "create_assets_derived": lambda conn, t, fid, rid: create_assets(conn, t, fid),
    "create_assets_supplied": lambda conn, t, fid, rid: create_assets(
        conn, t, fid, [{"raw_import_record_id": str(rid), "hostname": "x"}]),
    "create_assets_dry_run": lambda conn, t, fid, rid: create_assets(conn, t, fid, dry_run=True),
}


@pytest.mark.parametrize("call", sorted(FLOW_ARG_CALLS))
def test_flow_id_where_discovery_flow_id_expected_is_wr002(conn, t, call):
    flow = start_flow(conn, t, [{"hostname": "a"}])
    rid = raw_records(conn, flow.data_import_id)[0]["id"]
    before = snapshot(conn)
    with raises_wr(conn, "WR002") as info:
        FLOW_ARG_CALLS[call](conn, t, flow.flow_id, rid)
    assert str(flow.discovery_flow_id) in info.value.diag.message_hint  # names the ID to use
    assert str(flow.flow_id) in info.value.diag.message_detail
    assert snapshot(conn) == before
    with raises_wr(conn, "WR002"):
        FLOW_ARG_CALLS[call](conn, t, uuid.uuid4(), rid)
    other = new_tenant(conn, name="Other")
    with raises_wr(conn, "WR002"):  # a flow of another tenant is unknown here
        FLOW_ARG_CALLS[call](conn, other, flow.discovery_flow_id, rid)


IMPORT_ARG_CALLS = {
    "add_raw_records": lambda conn, t, imp: add_raw_records(conn, t, imp, [{"hostname": "a"}]),
    "start_discovery_flow": lambda conn, t, imp: start_discovery_flow(conn, t, imp),
    "suggest_field_mappings": lambda conn, t, imp: suggest_field_mappings(conn, t, imp),
    "set_field_mappings": lambda conn, t, imp: set_field_mappings(conn, t, imp, {"a": "hostname"}),
}


@pytest.mark.parametrize("call", sorted(IMPORT_ARG_CALLS))
def test_unknown_import_is_wr003(conn, t, call):
    other = new_tenant(conn, name="Other")
    sibling = new_tenant(conn, client_account_id=t.client_account_id, name="Sibling")
    foreign = [create_data_import(conn, other), create_data_import(conn, sibling)]
    before = snapshot(conn)
    for imp in [uuid.uuid4(), *foreign]:
        with raises_wr(conn, "WR003") as info:
            IMPORT_ARG_CALLS[call](conn, t, imp)
        assert str(imp) in info.value.diag.message_detail
    assert snapshot(conn) == before


# -- a call that raises changes nothing; no function commits -------------------------------------------------

FAILING_CALLS = {
    "create_assets_supplied_wr004": ("WR004", lambda c, t, f, r: create_assets(c, t, f.discovery_flow_id, [
        {"raw_import_record_id": str(r[0]), "hostname": "new"},
        {"raw_import_record_id": str(uuid.uuid4()), "hostname": "other"}])),
    "create_assets_supplied_wr005": ("WR005", lambda c, t, f, r: create_assets(c, t, f.discovery_flow_id, [
        {"raw_import_record_id": str(r[0]), "hostname": "new"}, {"hostname": "no id"}])),
    "add_raw_records_wr005": ("WR005", lambda c, t, f, r: add_raw_records(
        c, t, f.data_import_id, '[{"hostname": "x"}, 1]')),
    "set_field_mappings_wr008": ("WR008", lambda c, t, f, r: set_field_mappings(
        c, t, f.data_import_id, {"hostname": "hostname", "ip": "ip_address"})),
    "persist_cleansed_data_wr008": ("WR008", lambda c, t, f, r: persist_cleansed_data(c, t, f.discovery_flow_id, [
        {"raw_import_record_id": str(r[1]), "cleansed_data": {"hostname": "x"}},
        {"raw_import_record_id": str(r[0]), "cleansed_data": {"hostname": "y"}}])),
    "list_assets_wr006": ("WR006", lambda c, t, f, r: list_assets(c, t, page=0)),
}


@pytest.mark.parametrize("name", sorted(FAILING_CALLS))
def test_a_call_that_raises_changes_nothing(conn, db_url, t, name):
    flow, _ = run_flow(conn, t, [{"hostname": "a"}])  # inventory ran: mappings now frozen
    add_raw_records(conn, t, flow.data_import_id, [{"hostname": "b"}])
    ids = [r["id"] for r in raw_records(conn, flow.data_import_id)]  # [processed, fresh]
    ids.reverse()  # r[0]: fresh, r[1]: processed
    conn.commit()
    before = snapshot(conn)
    sqlstate, call = FAILING_CALLS[name]
    with psycopg.connect(db_url, autocommit=True) as other:  # each statement its own transaction
        with pytest.raises(psycopg.Error) as info:
            call(other, t, flow, ids)
        assert info.value.sqlstate == sqlstate
    conn.rollback()
    assert snapshot(conn) == before


def test_no_function_commits_the_callers_transaction(conn, db_url):
    with psycopg.connect(db_url) as watcher:
        before = snapshot(watcher)
        watcher.rollback()
        t = new_tenant(conn)
        flow = rich_flow_uncommitted(conn, t)
        create_assets(conn, t, flow.discovery_flow_id)
        list_assets(conn, t)
        wiring_health(conn, t, detail=True)
        # another session sees none of it: nothing was committed
        assert snapshot(watcher) == before
        watcher.rollback()
        conn.rollback()
        assert snapshot(conn) == before


def rich_flow_uncommitted(conn, t):
    run_flow(conn, t, [{"hostname": "old-h"}, {"ip_address": "10.0.0.200"}])
    flow = start_flow(conn, t, [{"Server Name": "new-a"}, {"hostname": "old-h", "ip_address": "10.0.0.200"},
                                {"Server Name": ""}], mappings={"Server Name": "hostname"})
    cleanse_records(conn, t, flow.discovery_flow_id)
    rid = raw_records(conn, flow.data_import_id)[0]["id"]
    persist_cleansed_data(conn, t, flow.discovery_flow_id,
                          [{"raw_import_record_id": str(rid), "cleansed_data": {"hostname": "new-a"}}])
    suggest_field_mappings(conn, t, flow.data_import_id)
    resolve_flow(conn, t, flow.flow_id)
    return flow
