"""Hostile values: nasty strings, numbers and addresses (DESIGN.md, "Outcomes").

A value that cannot be stored or indexed is a field warning on its record,
never a batch failure: the record is still created from its other fields, the
field is null (or holds the value as the rules normalise it), and nothing of
another tenant changes. Everything runs as the backend's login role
(``app_conn``: discovery_app only) and reads the outcome through the API.
"""

from __future__ import annotations

import uuid

import pytest

from _support import (
    asset,
    assets_through_api,
    cloned_database,
    create_assets,
    create_data_import,
    get_asset,
    new_tenant,
    records_of,
    run_flow,
    start_discovery_flow,
    unchanged,
    val,
    warnings_of,
)

IDENTITY_TOO_LONG = "longer than 255 characters"
TEXT_TOO_LONG = "longer than 10000 characters"
PLACEHOLDER = "placeholder value"
NOT_AN_IP = "not an IPv4 or IPv6 address"
NOT_CORES = "not a whole number from 0 to 100000"
NOT_GB = "not an amount from 0 to 1e9 GB"


@pytest.fixture(scope="module")
def db_url(server_url, template_url):
    """One database for the module (each test in its own tenant): a database
    per case would cost a checkpoint per DROP DATABASE."""
    with cloned_database(server_url, template_url) as url:
        yield url


def import_as_app(conn, app, records, mappings=None):
    """One import run by the backend's role in a fresh tenant, committed; the
    rows of every other tenant unchanged. Returns the tenant, the flow, the
    run's counts and its records (through list_raw_records)."""
    client_account_id = uuid.uuid4()
    with unchanged(conn, outside=client_account_id):
        tenant = new_tenant(app, client_account_id)
        flow, result = run_flow(app, tenant, records, mappings)
        app.commit()
    return tenant, flow, result, records_of(app, tenant, flow.data_import_id)


def one_value(conn, app, field, value, base=None):
    """A record holding ``value`` in ``field`` beside an identity of its own:
    returns (record, asset) read through the API."""
    base = base or ({"hostname": "base-host"} if field in ("name", "asset_name")
                    else {"name": "base-name"})
    tenant, _, result, records = import_as_app(conn, app, [{**base, field: value}])
    assert result["created"] == 1 and result["invalid"] == 0, result
    (record,) = records
    assert record["processing_status"] == "created" and record["is_valid"], record
    return record, get_asset(app, tenant, record["asset_id"])["asset"]


def assert_warning(record, field, error):
    if error is None:
        assert warnings_of(record) == [], record["validation_errors"]
        return
    found = [w for w in warnings_of(record) if w["field"] == field]
    assert len(found) == 1 and error in found[0]["error"], record["validation_errors"]


# -- nasty strings -------------------------------------------------------------------------------------------------

LONG = 3000

NASTY_STRINGS = [
    # (field, value, value stored on the asset, warning or None)
    ("hostname", "h" * LONG, None, IDENTITY_TOO_LONG),
    ("hostname", "h" * 256, None, IDENTITY_TOO_LONG),
    ("hostname", "h" * 255, "h" * 255, None),
    ("fqdn", "a." * 1500 + "example.com", None, IDENTITY_TOO_LONG),
    ("asset_name", "x" * LONG, None, IDENTITY_TOO_LONG),
    ("asset_type", "t" * LONG, None, IDENTITY_TOO_LONG),
    ("operating_system", "o" * 10001, None, TEXT_TOO_LONG),
    ("operating_system", "o" * 10000, "o" * 10000, None),
    ("mac_address", "m" * 20000, None, TEXT_TOO_LONG),
    ("hostname", "'; drop table migration.assets; --", "'; drop table migration.assets; --", None),
    ("hostname", "$$ || pg_sleep(10) || $$", "$$ || pg_sleep(10) || $$", None),
    ("hostname", "%s %L %I %1$s", "%s %L %I %1$s", None),
    ("hostname", "back\\slash\\", "back\\slash\\", None),
    ("hostname", '"quoted" \'single\'', '"quoted" \'single\'', None),
    ("hostname", "web\u202e10bew", "web\u202e10bew", None),
    ("hostname", "\U0001f600-host", "\U0001f600-host", None),
    ("hostname", "  web-trim  ", "web-trim", None),
    ("hostname", "\u00a0web-nbsp\u3000", "web-nbsp", None),
    ("hostname", "\ufeffweb-bom\u200b", "web-bom", None),
    ("hostname", "\t\r\nweb-ctl\n", "web-ctl", None),
    ("hostname", "N/A", None, PLACEHOLDER),
    ("hostname", "unknown", None, PLACEHOLDER),
    ("operating_system", "-", None, PLACEHOLDER),
    ("operating_system", "(null)", None, PLACEHOLDER),
    ("environment", {"display": "prod"}, "prod", None),
    ("environment", 42, "42", None),
    ("department", "ä" * 255 + "\u0301", "ä" * 255 + "\u0301", None),
    ("location", "line1\nline2", "line1\nline2", None),
]


@pytest.mark.parametrize(("field", "value", "stored", "warning"), NASTY_STRINGS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(NASTY_STRINGS)])
def test_a_nasty_string_is_stored_or_a_field_warning(conn, app_conn, field, value, stored, warning):
    record, created = one_value(conn, app_conn, field, value)
    assert created[field] == stored
    assert_warning(record, field, warning)


PLACEHOLDERS = ["n/a", "na", "n.a.", "n.a", "#n/a", "-", "--", "---", "?", "unknown", "none", "null", "nil", "tbd",
                "tba", "not available", "not applicable", "(none)", "(null)", "<none>"]
# Not placeholders, though each starts as one does (the rule tests the first character first).
NEAR_PLACEHOLDERS = ["n/a2", "nas-01", "-1", "? unknown", "unknown host", "Nonesuch", "nullable", "TBD 2027",
                     "(none yet)", "<none/>", "#1", "tanaka", "\u00d1/a", "\uff2e/\uff21"]


def test_every_placeholder_in_any_case_is_empty_and_nothing_else_is(conn, app_conn):
    values = [v for p in PLACEHOLDERS for v in (p, p.upper(), p.title())] + NEAR_PLACEHOLDERS
    rows = [{"name": f"ph-{i}", "environment": v} for i, v in enumerate(values)]
    tenant, _, result, records = import_as_app(conn, app_conn, rows)
    assert result["created"] == len(values), result
    by_name = {a["name"]: a for a in assets_through_api(app_conn, tenant)}
    assert [r["cleansed_data"]["name"] for r in records] == [f"ph-{i}" for i in range(len(values))]
    for i, (value, record) in enumerate(zip(values, records, strict=True)):
        if value in NEAR_PLACEHOLDERS:
            assert by_name[f"ph-{i}"]["environment"] == value, value
            assert_warning(record, "environment", None)
        else:
            assert by_name[f"ph-{i}"]["environment"] is None, value
            assert_warning(record, "environment", PLACEHOLDER)


def test_a_3000_character_name_is_a_warning_and_the_asset_is_named_after_its_hostname(conn, app_conn):
    record, made = one_value(conn, app_conn, "name", "n" * LONG)
    assert made["name"] == "base-host"
    assert_warning(record, "name", IDENTITY_TOO_LONG)


@pytest.mark.parametrize("key", ["external_ids.", " External_IDs. ", "external_ids"])
def test_an_external_id_without_a_namespace_is_no_external_id(conn, app_conn, key):
    value = {"serial": "X1"} if key == "external_ids" else "X1"
    record, made = one_value(conn, app_conn, key, value)
    if key == "external_ids":
        assert made["external_ids"] == {"serial": "x1"}
    else:
        assert made["external_ids"] == {} and made["custom_attributes"][key.strip()] == "X1"


EXTERNAL_IDS = [
    # (the "external_ids" object, external IDs kept, (warned field, error) or None)
    ({"serial": "s" * 300}, {}, ("external_ids.serial", IDENTITY_TOO_LONG)),
    ({"": "x", "serial": "S1"}, {"serial": "s1"}, ("external_ids.", "without a namespace")),
    ({"tag": {"k": 1}}, {}, ("external_ids.tag", "no text value")),
    ({"serial": "N/A", "vm_uuid": "V1"}, {"vm_uuid": "v1"}, ("external_ids.serial", PLACEHOLDER)),
    ("not an object", {}, ("external_ids", "not an object")),
    (["S1"], {}, ("external_ids", "not an object")),
    ({"Serial ": " S2 "}, {"serial": "s2"}, None),
]


@pytest.mark.parametrize(("value", "kept", "warning"), EXTERNAL_IDS, ids=[f"ext-{i}" for i in range(len(EXTERNAL_IDS))])
def test_an_external_id_left_out_is_a_warning(conn, app_conn, value, kept, warning):
    record, made = one_value(conn, app_conn, "external_ids", value)
    assert made["external_ids"] == kept
    assert_warning(record, *(warning or ("external_ids", None)))


def test_a_blank_hostname_is_no_value_and_no_identity(conn, app_conn):
    tenant, _, result, (record,) = import_as_app(conn, app_conn, [{"hostname": " \u3000 "}])
    assert result["invalid"] == 1 and record["processing_status"] == "invalid" and record["asset_id"] is None
    assert [e["severity"] for e in record["validation_errors"]] == ["error"]
    assert assets_through_api(app_conn, tenant) == []


NASTY_KEYS = [
    # a source key that names nothing of the asset, or names a column it must not touch
    "x'); drop table migration.assets; --",
    "dw_r1", "dw_v1", "data", "fields", "problems", "s", "g",
    "client_account_id", "engagement_id", "id", "deleted_at", "discovery_flow_id", "master_flow_id",
    "raw_import_records_id", "discovery_method", "field_mappings_used", "custom_attributes",
    "%s", "$1", "a\"b",
]


@pytest.mark.parametrize("key", NASTY_KEYS)
def test_a_key_naming_no_field_is_a_custom_attribute_and_moves_no_column(conn, app_conn, key):
    value = str(uuid.uuid4()) if key.endswith("_id") or key == "id" else "2020-01-01" if key == "deleted_at" else "v"
    tenant, flow, result, (record,) = import_as_app(conn, app_conn, [{"hostname": "web01", key: value}])
    assert result["created"] == 1 and warnings_of(record) == []
    made = get_asset(app_conn, tenant, record["asset_id"])["asset"]
    assert made["custom_attributes"][key] == value
    stored = asset(conn, record["asset_id"])
    assert (stored["client_account_id"], stored["engagement_id"], stored["discovery_flow_id"],
            stored["master_flow_id"], stored["raw_import_records_id"], stored["deleted_at"],
            stored["discovery_method"], stored["hostname"], stored["custom_attributes"][key]) == \
        (tenant.client_account_id, tenant.engagement_id, flow.discovery_flow_id, flow.master_flow_id,
         uuid.UUID(record["id"]), None, "flow_based", "web01", value)


@pytest.mark.parametrize("key", ["HOSTNAME", " Hostname ", "\u00a0hostname\t", "HostName"])
def test_a_column_name_in_any_case_and_padding_fills_the_column(conn, app_conn, key):
    record, made = one_value(conn, app_conn, key, "web-case", base={"name": "n"})
    assert made["hostname"] == "web-case" and warnings_of(record) == []


@pytest.mark.parametrize("key", ["", "   ", "\u200b"])
def test_a_blank_key_is_the_unnamed_column_with_a_warning(conn, app_conn, key):
    record, made = one_value(conn, app_conn, key, "kept")
    assert made["custom_attributes"]["unnamed_column"] == "kept"
    assert_warning(record, "unnamed_column", "a column without a name")


def test_colliding_keys_keep_one_value_and_note_the_other(conn, app_conn):
    _, _, result, (record,) = import_as_app(conn, app_conn, [{"hostname": "web-a", "HOSTNAME": "web-b"}])
    assert result["created"] == 1
    (warning,) = warnings_of(record)
    assert warning["field"] == "hostname" and "also filled by another column" in warning["error"]


WIDE_VALUES = {"zz_text": "  padded  ", "zz_placeholder": "N/A", "zz_empty": "", "zz_number": 42, "zz_true": True,
               "zz_object": {"a": 1}, "zz_array": [1, "x"], "zz_null": None, "zz_digits": "0042",
               "zz Two Words": "kept"}


@pytest.mark.parametrize("cleanse_first", [False, True], ids=["create", "cleanse-then-create"])
def test_records_with_thousands_of_keys_are_cleansed_like_narrow_ones(conn, app_conn, cleanse_first):
    """A query holds at most 1,664 columns: past the 250th key of a batch a
    custom attribute is read from the record's jsonb, with the same rules."""
    filler = {f"aa_{i:04d}": f" f{i} " for i in range(3000)}
    narrow_tenant, _, _, (narrow_record,) = import_as_app(conn, app_conn,
                                                           [{"hostname": "wide", **WIDE_VALUES}])
    client_account_id = uuid.uuid4()
    with unchanged(conn, outside=client_account_id):
        tenant = new_tenant(app_conn, client_account_id)
        flow, wide = run_flow(app_conn, tenant, [{"hostname": "wide", **filler, **WIDE_VALUES},
                                                 {"hostname": "sparse", "aa_2999": "last", "zz_text": "z"}],
                              cleanse=cleanse_first)
        app_conn.commit()
    assert (wide["created"], wide["invalid"]) == (2, 0), wide
    records = {r["row_number"]: r for r in records_of(app_conn, tenant, flow.data_import_id)}
    attributes = get_asset(app_conn, tenant, records[1]["asset_id"])["asset"]["custom_attributes"]
    expected = get_asset(app_conn, narrow_tenant, narrow_record["asset_id"])["asset"]["custom_attributes"]
    assert {k: v for k, v in attributes.items() if not k.startswith("aa_")} == expected
    assert expected == {"zz_text": "padded", "zz_number": 42, "zz_true": True, "zz_object": {"a": 1},
                        "zz_array": [1, "x"], "zz_digits": "0042", "zz Two Words": "kept"}
    assert {k: v for k, v in attributes.items() if k.startswith("aa_")} == \
        {k: v.strip() for k, v in filler.items()}
    assert records[1]["validation_errors"] == narrow_record["validation_errors"]
    sparse = get_asset(app_conn, tenant, records[2]["asset_id"])["asset"]["custom_attributes"]
    assert sparse == {"aa_2999": "last", "zz_text": "z"}


KEYS_LATE = [
    {"hostname": "first-few-keys"},
    {"hostname": "second", "Operating System": " linux ", "zz_only_here": "x"},
    {},
    {"HOSTNAME": "third-upper", "hostname": "third", "zz_late": 5, "": "unnamed"},
    {"zz_last": ["a"], "name": "fourth"},
]


@pytest.mark.parametrize("cleanse_first", [False, True], ids=["create", "cleanse-then-create"])
def test_keys_first_seen_late_in_a_batch_are_cleansed_as_in_a_batch_of_one(conn, app_conn, cleanse_first):
    """The batch's keys are those of its first record plus whatever later
    records carry beyond them: each record's asset and warnings are what the
    same record alone gives."""
    client_account_id = uuid.uuid4()
    with unchanged(conn, outside=client_account_id):
        tenant = new_tenant(app_conn, client_account_id)
        flow, result = run_flow(app_conn, tenant, KEYS_LATE, cleanse=cleanse_first)
        app_conn.commit()
    batch = {r["row_number"]: r for r in records_of(app_conn, tenant, flow.data_import_id)}
    assert len(batch) == len(KEYS_LATE) and result["created"] == 4, result
    for i, raw in enumerate(KEYS_LATE, start=1):
        alone_tenant, _, _, (alone,) = import_as_app(conn, app_conn, [raw])
        assert (batch[i]["processing_status"], batch[i]["validation_errors"]) == \
            (alone["processing_status"], alone["validation_errors"]), raw
        if alone["asset_id"] is None:
            assert batch[i]["asset_id"] is None, raw
            continue
        got = get_asset(app_conn, tenant, batch[i]["asset_id"])["asset"]
        want = get_asset(app_conn, alone_tenant, alone["asset_id"])["asset"]
        fields = ("name", "hostname", "fqdn", "operating_system", "custom_attributes")
        assert {f: got[f] for f in fields} == {f: want[f] for f in fields}, raw
    attributes = {r: get_asset(app_conn, tenant, batch[r]["asset_id"])["asset"]["custom_attributes"]
                  for r in (2, 4, 5)}
    assert attributes[2] == {"zz_only_here": "x", "Operating System": "linux"}
    assert attributes[4]["zz_late"] == 5 and attributes[4]["unnamed_column"] == "unnamed"
    assert attributes[5] == {"zz_last": ["a"]}


@pytest.mark.parametrize("invisible", ["\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"])
@pytest.mark.parametrize("key", ["hostname", "name", "fqdn"])
def test_an_invisible_character_inside_a_name_is_no_other_identity(conn, app_conn, invisible, key):
    plain = {"hostname": "web01", "name": "web01", "fqdn": "web01.corp.example.com"}[key]
    hidden = plain[:3] + invisible + plain[3:]
    tenant, _, result, records = import_as_app(conn, app_conn, [{key: plain}, {key: hidden}])
    assert (result["created"], result["matched"]) == (1, 1), result
    assert records[0]["asset_id"] == records[1]["asset_id"]
    assert len(assets_through_api(app_conn, tenant)) == 1


# -- numbers -------------------------------------------------------------------------------------------------------

NUMBERS = [
    # (field, value, stored, warning)
    ("cpu_cores", "99999999999", None, NOT_CORES),
    ("cpu_cores", 99999999999, None, NOT_CORES),
    ("cpu_cores", 2147483648, None, NOT_CORES),
    ("cpu_cores", 100001, None, NOT_CORES),
    ("cpu_cores", -1, None, NOT_CORES),
    ("cpu_cores", "-1", None, NOT_CORES),
    ("cpu_cores", "4.5", None, NOT_CORES),
    ("cpu_cores", "1e3", None, NOT_CORES),
    ("cpu_cores", "NaN", None, NOT_CORES),
    ("cpu_cores", "Infinity", None, NOT_CORES),
    ("cpu_cores", "0x10", None, NOT_CORES),
    ("cpu_cores", 1e308, None, NOT_CORES),
    ("cpu_cores", "4 cores", None, NOT_CORES),
    ("cpu_cores", "4", 4, None),
    ("cpu_cores", 4, 4, None),
    ("cpu_cores", "4.0", 4, None),
    ("cpu_cores", " 8 ", 8, None),
    ("cpu_cores", 100000, 100000, None),
    ("cpu_cores", 0, 0, None),
    ("cpu_cores", "N/A", None, PLACEHOLDER),
    ("memory_gb", "-5", None, NOT_GB),
    ("memory_gb", "1e400", None, NOT_GB),
    ("memory_gb", "NaN", None, NOT_GB),
    ("memory_gb", 1e10, None, NOT_GB),
    ("memory_gb", "9" * 40, None, NOT_GB),
    ("memory_gb", "abc", None, NOT_GB),
    ("memory_gb", "16", 16, None),
    ("memory_gb", "16384 MB", 16, None),
    ("memory_gb", "16 GiB", 16, None),
    ("storage_gb", "-1", None, NOT_GB),
    ("storage_gb", "\u221e", None, NOT_GB),
    ("storage_gb", "500", 500, None),
    ("storage_gb", "2 TB", 2048, None),
]


@pytest.mark.parametrize(("field", "value", "stored", "warning"), NUMBERS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(NUMBERS)])
def test_a_number_out_of_range_is_a_field_warning(conn, app_conn, field, value, stored, warning):
    record, made = one_value(conn, app_conn, field, value)
    assert made[field] == stored if stored is None else float(made[field]) == stored
    assert_warning(record, field, warning)


# -- addresses -----------------------------------------------------------------------------------------------------

ADDRESSES = [
    # (value, stored ip_address, warning)
    ("::ffff:10.9.9.9", "10.9.9.9", None),
    ("::FFFF:10.9.9.10", "10.9.9.10", None),
    (":::::::", None, NOT_AN_IP),
    ("1::2::3", None, NOT_AN_IP),
    ("10.1.1.3/99", None, NOT_AN_IP),
    ("10.1.1.3/33", None, NOT_AN_IP),
    ("10.1.1.3/24", "10.1.1.3", None),
    ("10.1.1.4/32", "10.1.1.4", None),
    ("::1/128", "::1", None),
    ("::1/129", None, NOT_AN_IP),
    ("10.0.0.1/abc", None, NOT_AN_IP),
    ("10.0.0.1/", None, NOT_AN_IP),
    ("/24", None, NOT_AN_IP),
    ("256.1.1.1", None, NOT_AN_IP),
    ("1.2.3", None, NOT_AN_IP),
    ("1.2.3.4.5", None, NOT_AN_IP),
    ("fe80::1%eth0", None, NOT_AN_IP),
    ("1:2:3:4:5:6:7:8:9", None, NOT_AN_IP),
    ("gggg::1", None, NOT_AN_IP),
    ("12345::1", None, NOT_AN_IP),
    ("::ffff:999.1.1.1", None, NOT_AN_IP),
    ("localhost", None, NOT_AN_IP),
    ("1" * 3000, None, NOT_AN_IP),
    ("N/A", None, PLACEHOLDER),
    ("2001:db8::1", "2001:db8::1", None),
    ("2001:DB8::2", "2001:db8::2", None),
    ("[::1]", "::1", None),
    (" 10.0.0.7 ", "10.0.0.7", None),
    ("10.0.0.1; 10.0.0.2", "10.0.0.1", None),
    ("fe80::1, 10.0.0.5", "10.0.0.5", None),
]


@pytest.mark.parametrize(("value", "stored", "warning"), ADDRESSES, ids=[f"ip-{i}" for i in range(len(ADDRESSES))])
def test_an_address_is_parsed_exactly_or_a_field_warning(conn, app_conn, value, stored, warning):
    record, made = one_value(conn, app_conn, "ip_address", value)
    assert made["ip_address"] == stored
    assert_warning(record, "ip_address", warning)
    if warning == NOT_AN_IP:
        assert value.strip() in record["validation_errors"][0]["error"]


def test_a_list_of_addresses_keeps_every_valid_one_and_warns_about_the_others(conn, app_conn):
    record, made = one_value(conn, app_conn, "ip_address", "10.0.0.1;1::2::3;10.0.0.2/99;::ffff:10.0.0.3")
    assert made["ip_address"] == "10.0.0.1"
    assert made["custom_attributes"]["ip_addresses"] == ["10.0.0.1", "10.0.0.3"]
    assert_warning(record, "ip_address", f"{NOT_AN_IP}: 1::2::3, 10.0.0.2/99")


# -- a big import with one bad value of each kind ------------------------------------------------------------------

BIG = 100_000


@pytest.mark.xdist_group("hostile-big")
def test_a_100000_record_import_with_four_bad_values_creates_every_asset(conn, app_conn):
    """Rows 5,000, 40,000, 70,000 and 99,000 hold a 3,000-character hostname,
    an out-of-range cpu_cores, an N/A IP address and a value under a blank
    header: every record is created, and exactly those four carry a warning."""
    client_account_id = uuid.uuid4()
    with unchanged(conn, outside=client_account_id):
        tenant = new_tenant(app_conn, client_account_id)
        data_import_id = create_data_import(app_conn, tenant, import_name="big")
        for first in (1, BIG // 2 + 1):  # two calls: a payload holds at most 50,000 elements
            app_conn.execute("""
                select discovery.add_raw_records_bulk(p_client_account_id => %(c)s::uuid,
                       p_engagement_id => %(e)s::uuid, p_data_import_id => %(i)s::uuid, p_records => array(
                    select jsonb_build_object('name', 'srv-' || n, 'ip_address', '10.' || (n / 65536) || '.'
                                              || (n / 256 %% 256) || '.' || (n %% 256), 'cpu_cores', (n %% 64)::text)
                           || case n when 5000 then jsonb_build_object('hostname', repeat('h', 3000))
                                     when 40000 then jsonb_build_object('cpu_cores', '99999999999')
                                     when 70000 then jsonb_build_object('ip_address', 'N/A')
                                     when 99000 then jsonb_build_object('   ', 'blank header')
                                     else '{}'::jsonb end
                      from generate_series(%(f)s::integer, %(f)s::integer + %(k)s::integer - 1) as n
                     order by n))""",
                {"c": tenant.client_account_id, "e": tenant.engagement_id, "i": data_import_id, "f": first,
                 "k": BIG // 2})
        flow = start_discovery_flow(app_conn, tenant, data_import_id)
        result = create_assets(app_conn, tenant, flow["discovery_flow_id"])
        app_conn.commit()
    assert (result["created"], result["matched"], result["conflicts"], result["invalid"]) == (BIG, 0, 0, 0), result
    listed = val(app_conn, "select discovery.list_raw_records(p_client_account_id => %s::uuid,"
                           " p_engagement_id => %s::uuid, p_data_import_id => %s::uuid, p_page_size => 1)",
                 (tenant.client_account_id, tenant.engagement_id, data_import_id))
    assert listed["pagination"]["total_count"] == BIG
    health = val(app_conn, "select discovery.wiring_health(p_client_account_id => %s::uuid,"
                           " p_engagement_id => %s::uuid)", (tenant.client_account_id, tenant.engagement_id))
    assert health["health_status"] == "healthy"
    assert health["import_quality"]["records_with_warnings"] == 4
    assert health["import_quality"]["records_invalid"] == 0
    rows_with_warnings = dict(conn.execute(
        "select row_number, validation_errors from migration.raw_import_records"
        " where data_import_id = %s and jsonb_array_length(validation_errors) > 0", (data_import_id,)).fetchall())
    assert sorted(rows_with_warnings) == [5000, 40000, 70000, 99000]
    expected = {5000: ("hostname", IDENTITY_TOO_LONG), 40000: ("cpu_cores", NOT_CORES),
                70000: ("ip_address", PLACEHOLDER), 99000: ("unnamed_column", "a column without a name")}
    for row_number, (field, error) in expected.items():
        (warning,) = rows_with_warnings[row_number]
        assert warning["severity"] == "warning" and warning["field"] == field and error in warning["error"]
    assert val(conn, "select count(*) from migration.raw_import_records where data_import_id = %s"
                     " and processing_status = 'created' and asset_id is not null", (data_import_id,)) == BIG
    assert val(conn, "select count(*) from migration.assets where client_account_id = %s and deleted_at is null",
               (tenant.client_account_id,)) == BIG

