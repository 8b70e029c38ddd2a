"""Identity and reconciliation as DESIGN.md states them ("Identity",
"Reconciliation"): ranked keys, the highest key both sides have decides, weak
keys never merge records whose names disagree, and a matched record updates
its asset under p_on_match with every change logged in asset_changes."""

from __future__ import annotations

import pytest

from _support import (
    T,
    asset,
    assets_of_tenant,
    counts,
    new_tenant,
    pending_conflicts,
    raw_records,
    rows,
    run_flow,
    start_flow,
)

ZERO = {"created": 0, "matched": 0, "conflicts": 0, "invalid": 0, "already_linked": 0, "updated": 0}


@pytest.fixture
def t(conn) -> T:
    return new_tenant(conn)


def first_asset(conn, flow):
    return raw_records(conn, flow.data_import_id)[0]["asset_id"]


def import_one(conn, t, record, name="next", **options):
    flow, result = run_flow(conn, t, [record], import_name=name, **options)
    return flow, result, raw_records(conn, flow.data_import_id)[0]


# -- the highest key both have decides -----------------------------------------------------------------------

@pytest.mark.parametrize("existing, incoming, same", [
    # external IDs: equal in a shared namespace wins over every lower key ...
    ({"hostname": "a1", "external_ids.serial_number": "SN-1"}, {"hostname": "b2", "external_ids.serial_number": "sn-1"},
     True),
    # ... and different in a shared namespace keeps them apart, whatever the host name says
    ({"hostname": "a1", "external_ids.serial_number": "SN-1"}, {"hostname": "a1", "external_ids.serial_number": "SN-2"},
     False),
    # namespaces are compared only with themselves
    ({"hostname": "a1", "external_ids.serial_number": "X"}, {"hostname": "a1", "external_ids.asset_tag": "X"}, True),
    # an asset found through two external IDs, or through every key, is one candidate
    ({"hostname": "a1", "external_ids.serial_number": "SN-1", "external_ids.asset_tag": "T-1"},
     {"hostname": "b2", "external_ids.serial_number": "SN-1", "external_ids.asset_tag": "T-1"}, True),
    ({"hostname": "a1", "ip_address": "10.0.0.9", "name": "a1", "external_ids.serial_number": "SN-1"},
     {"hostname": "a1", "ip_address": "10.0.0.9", "name": "a1", "external_ids.serial_number": "SN-1"}, True),
    # hostname and FQDN meet on the short name
    ({"hostname": "web01"}, {"fqdn": "WEB01.corp.example.com."}, True),
    ({"fqdn": "web01.corp.example.com"}, {"hostname": "Web01"}, True),
    # a dotted host name is also the FQDN: two FQDNs that differ are two assets
    ({"hostname": "web01.a.example.com"}, {"hostname": "web01.b.example.com"}, False),
    # the FQDN decides before the IP address
    ({"fqdn": "x.example.com", "ip_address": "10.0.0.1"}, {"fqdn": "y.example.com", "ip_address": "10.0.0.1"}, False),
    # IPs compare as addresses
    ({"ip_address": "::ffff:10.9.9.9"}, {"ip_address": "10.9.9.9"}, True),
    # an IP known without a name matches the asset of that IP
    ({"hostname": "db01", "ip_address": "10.0.0.5"}, {"ip_address": "10.0.0.5"}, True),
    # name + type, then name alone
    ({"name": "billing", "asset_type": "application"}, {"name": "BILLING", "asset_type": "Application"}, True),
    ({"name": "billing", "asset_type": "application"}, {"name": "billing", "asset_type": "database"}, False),
    ({"name": "billing", "asset_type": "application"}, {"name": " billing\u00a0"}, True),
    # Unicode NFKC and case folding on text keys
    ({"name": "ＳＥＲＶＥＲ-１"}, {"name": "server-1"}, True),
], ids=["ext-equal", "ext-different", "ext-other-namespace", "ext-two-namespaces", "every-key",
        "host-then-fqdn", "fqdn-then-host", "two-fqdns",
        "fqdn-before-ip", "ipv4-mapped", "ip-without-name", "name-type", "name-other-type", "name-alone",
        "nfkc"])
def test_the_highest_key_both_sides_have_decides(conn, t, existing, incoming, same):
    first, _ = run_flow(conn, t, [existing], import_name="first")
    _, result, record = import_one(conn, t, incoming)
    if same:
        assert (result["created"], result["matched"]) == (0, 1), record["processing_notes"]
        assert record["asset_id"] == first_asset(conn, first)
    else:
        assert (result["created"], result["matched"]) == (1, 0), record["processing_notes"]
        assert record["asset_id"] != first_asset(conn, first)


def test_a_weak_key_never_merges_records_whose_names_disagree(conn, t):
    """A database instance sharing its server's IP is its own asset; its note
    names the asset it was kept apart from."""
    first, _ = run_flow(conn, t, [{"name": "DatabaseServer", "ip_address": "192.168.1.20"}], import_name="first")
    server = first_asset(conn, first)
    _, result, record = import_one(conn, t, {"name": "PaymentDB", "ip_address": "192.168.1.20"})
    assert counts(result) == {**ZERO, "created": 1}
    assert record["asset_id"] != server
    assert f"asset {server} shares ip_address=192.168.1.20 but has another name: kept apart" \
        in record["processing_notes"]


def test_candidates_are_ranked_by_the_key_they_share_before_their_age(conn, t):
    """Two candidates on two ranks (a record without a serial number: one
    asset shares its FQDN, the other its short name): the one sharing the
    higher key is the existing asset and names the conflict's key, though it
    is the younger; the candidates are listed in rank order. Of two assets
    kept apart, the note names the older."""
    older, _ = run_flow(conn, t, [{"hostname": "web01", "external_ids.serial_number": "SN-1"}], import_name="older")
    conn.commit()
    younger, _ = run_flow(conn, t, [{"fqdn": "web01.corp.example.com", "external_ids.serial_number": "SN-2"}],
                          import_name="younger")  # another serial number: not the older one
    conn.commit()
    short_only, by_fqdn = first_asset(conn, older), first_asset(conn, younger)
    flow, result, record = import_one(conn, t, {"hostname": "web01", "fqdn": "web01.corp.example.com"})
    assert counts(result) == {**ZERO, "conflicts": 1}
    (conflict,) = pending_conflicts(conn, flow.discovery_flow_id)
    assert conflict["raw_import_record_id"] == record["id"]
    assert conflict["existing_asset_id"] == by_fqdn
    assert conflict["candidate_asset_ids"] == [by_fqdn, short_only]
    assert conflict["conflict_key"] == "fqdn=web01.corp.example.com"

    first_db, _ = run_flow(conn, t, [{"name": "db-a", "ip_address": "10.9.0.7"}], import_name="db a")
    conn.commit()
    run_flow(conn, t, [{"name": "db-b", "ip_address": "10.9.0.7"}], import_name="db b")
    conn.commit()
    _, result, record = import_one(conn, t, {"name": "db-c", "ip_address": "10.9.0.7"}, name="db c")
    assert counts(result) == {**ZERO, "created": 1}
    assert f"asset {first_asset(conn, first_db)} shares ip_address=10.9.0.7 but has another name: kept apart" \
        in record["processing_notes"]


def test_a_row_known_only_by_its_name_matches_itself_when_imported_again(conn, t):
    rows_ = [{"name": "EOF < /dev/null"}, {"name": "App-001", "asset_type": "Application"}]
    run_flow(conn, t, rows_, import_name="first")
    _, result = run_flow(conn, t, rows_, import_name="again")
    assert counts(result) == {**ZERO, "matched": 2}
    assert len(assets_of_tenant(conn, t)) == 2


def test_within_one_call_a_host_name_joins_its_one_fqdn(conn, t):
    flow, result = run_flow(conn, t, [{"hostname": "web01"}, {"fqdn": "web01.corp.example.com"},
                                      {"hostname": "app01"}, {"fqdn": "app01.a.example.com"},
                                      {"fqdn": "app01.b.example.com"}])
    records = raw_records(conn, flow.data_import_id)
    assert records[0]["asset_id"] == records[1]["asset_id"]
    # app01 names two FQDNs: it cannot be either one, it is its own asset
    assert len({records[2]["asset_id"], records[3]["asset_id"], records[4]["asset_id"]}) == 3
    assert counts(result) == {**ZERO, "created": 4, "matched": 1}


# -- reconciliation ------------------------------------------------------------------------------------------

BASE = {"hostname": "srv1", "name": "Server One", "operating_system": "Ubuntu 20.04", "cpu_cores": "8",
        "environment": "Production", "rack": "R1"}
NEWER = {"hostname": "SRV1", "name": "Server One Updated", "operating_system": "Ubuntu 22.04", "cpu_cores": "16",
         "fqdn": "srv1.example.com", "rack": "R2", "owner": "ops"}


def changes_of(conn, asset_id) -> dict:
    return {c["field"]: (c["old_value"], c["new_value"]) for c in rows(
        conn, "select * from migration.asset_changes where asset_id = %s", (asset_id,))}


def test_refresh_writes_newer_values_fills_identity_and_logs_each_change(conn, t):
    first, _ = run_flow(conn, t, [BASE], import_name="first")
    asset_id = first_asset(conn, first)
    flow, result, record = import_one(conn, t, NEWER)
    assert counts(result) == {**ZERO, "matched": 1, "updated": 1}
    after = asset(conn, asset_id)
    assert (after["operating_system"], after["cpu_cores"]) == ("Ubuntu 22.04", 16)
    assert after["environment"] == "Production"  # the record had no value: kept
    assert after["name"] == "Server One" and after["hostname"] == "srv1"  # identity: never overwritten
    assert after["fqdn"] == "srv1.example.com"  # identity: filled when empty
    assert after["custom_attributes"] == {"rack": "R2", "owner": "ops"}
    run = rows(conn, "select * from migration.asset_inventory_runs where discovery_flow_id = %s",
               (flow.discovery_flow_id,))[0]
    logged = rows(conn, "select * from migration.asset_changes where asset_id = %s", (asset_id,))
    assert {c["run_id"] for c in logged} == {run["id"]} and run["updated"] == 1
    assert {c["raw_import_record_id"] for c in logged} == {record["id"]}
    assert changes_of(conn, asset_id) == {
        "operating_system": ("Ubuntu 20.04", "Ubuntu 22.04"), "cpu_cores": (8, 16),
        "fqdn": (None, "srv1.example.com"), "custom_attributes.rack": ("R1", "R2"),
        "custom_attributes.owner": (None, "ops")}


def test_fill_empty_writes_only_where_the_asset_has_no_value(conn, t):
    first, _ = run_flow(conn, t, [BASE], import_name="first")
    asset_id = first_asset(conn, first)
    before = asset(conn, asset_id)
    _, result, _ = import_one(conn, t, NEWER, on_match="fill_empty")
    assert result["updated"] == 1
    after = asset(conn, asset_id)
    assert (after["operating_system"], after["cpu_cores"]) == (before["operating_system"], before["cpu_cores"])
    assert after["fqdn"] == "srv1.example.com"
    assert after["custom_attributes"] == {"rack": "R1", "owner": "ops"}
    assert set(changes_of(conn, asset_id)) == {"fqdn", "custom_attributes.owner"}


def test_keep_writes_nothing(conn, t):
    first, _ = run_flow(conn, t, [BASE], import_name="first")
    asset_id = first_asset(conn, first)
    before = asset(conn, asset_id)
    _, result, record = import_one(conn, t, NEWER, on_match="keep")
    assert counts(result) == {**ZERO, "matched": 1}
    assert asset(conn, asset_id) == before and changes_of(conn, asset_id) == {}
    assert record["asset_id"] == asset_id


def test_records_matched_to_an_asset_created_in_the_same_call_do_not_update_it(conn, t):
    flow, result = run_flow(conn, t, [BASE, NEWER])
    assert counts(result) == {**ZERO, "created": 1, "matched": 1}
    made = asset(conn, first_asset(conn, flow))
    assert made["operating_system"] == "Ubuntu 20.04" and made["custom_attributes"] == {"rack": "R1"}


def test_the_last_matching_record_of_a_call_wins_each_field(conn, t):
    first, _ = run_flow(conn, t, [BASE], import_name="first")
    asset_id = first_asset(conn, first)
    _, result = run_flow(conn, t, [{"hostname": "srv1", "cpu_cores": "12"}, {"hostname": "srv1", "cpu_cores": "24"}],
                         import_name="two")
    assert counts(result) == {**ZERO, "matched": 2, "updated": 1}
    assert asset(conn, asset_id)["cpu_cores"] == 24
    assert changes_of(conn, asset_id) == {"cpu_cores": (8, 24)}


def test_an_unknown_reconciliation_policy_is_wr006(conn, t):
    from _support import raises_wr
    flow = start_flow(conn, t, [BASE])
    with raises_wr(conn, "WR006"):
        conn.execute("select * from discovery.create_assets_from_discovery(%s, %s, %s, p_on_match => 'overwrite')",
                     (*t, flow.discovery_flow_id))
