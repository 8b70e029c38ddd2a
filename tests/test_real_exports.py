"""Real inventory exports through the CLI: the assets are what the files mean.

The files in ``tests/data/real-exports`` are public exports nobody here wrote
(their README and licences are beside them). Each test runs
``discovery-wiring run`` on a migrated database, as a user would, and compares
the assets with what the file says: one asset per VM of an RVTools vInfo sheet,
named by its VM column, memory in GB; a second import of the same file creates
and changes nothing; a refreshed export updates its assets and logs each change;
the same rows in any encoding, delimiter or order give the same assets.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from pathlib import Path

import hypothesis.strategies as st
import psycopg
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings

from discovery_wiring import DiscoveryClient, Tenant, pipeline
from discovery_wiring.cli import QUICKSTART_CLIENT_ID, QUICKSTART_ENGAGEMENT_ID, main

from _support import rows

REAL = Path(__file__).resolve().parent / "data" / "real-exports"
RVTOOLS = REAL / "rvtools-sizing-workshop"
WORKBOOK = RVTOOLS / "SizingWorkshop-RVTools.xlsx"
VINFO = RVTOOLS / "SizingWorkshop-RVTools.vInfo.csv"
VHOST = RVTOOLS / "SizingWorkshop-RVTools.vHost.csv"
STOCK = REAL / "stock-analysis"
EVERY_FILE = sorted(p for p in REAL.rglob("*") if p.suffix in (".csv", ".xlsx"))


@pytest.fixture
def cli(db_url):
    runner = CliRunner()

    def invoke(*args, expect: int | None = 0):
        result = runner.invoke(main, [str(a) for a in args],
                               env={"DISCOVERY_DATABASE_URL": db_url, "COLUMNS": "250"}, catch_exceptions=False)
        if expect is not None:
            assert result.exit_code == expect, result.output
        return result
    return invoke


@pytest.fixture
def db(db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        yield conn


def live_assets(conn) -> list[dict]:
    return rows(conn, "select * from migration.assets where client_account_id = %s and engagement_id = %s"
                      " and deleted_at is null order by name, id", (QUICKSTART_CLIENT_ID, QUICKSTART_ENGAGEMENT_ID))


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def last_import_records(conn) -> list[dict]:
    return rows(conn, """select r.* from migration.raw_import_records r
                          where r.data_import_id = (select id from migration.data_imports order by created_at desc,
                                                    import_name desc limit 1) order by r.row_number""")


# -- RVTools -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("source", [WORKBOOK, VINFO], ids=["xlsx", "vinfo-csv"])
def test_rvtools_vinfo_gives_one_asset_per_vm(cli, db, source):
    out = cli("run", source).output
    assert "rvtools_vinfo" in out
    assets = live_assets(db)
    vms = csv_rows(VINFO)
    assert len(assets) == 805
    assert sorted(a["name"] for a in assets) == sorted(vm["VM"] for vm in vms)
    by_name = {a["name"]: a for a in assets}
    for vm in vms:
        a = by_name[vm["VM"]]
        assert a["asset_type"] == "virtual_machine"
        assert float(a["memory_gb"]) == pytest.approx(int(vm["Memory"]) / 1024, abs=0.001)  # MiB -> GB
        assert a["cpu_cores"] == int(vm["CPUs"])
        assert a["datacenter"] == vm["Datacenter"]
        custom = a["custom_attributes"]
        assert vm["Host"] in custom.values() and vm["Cluster"] in custom.values()  # kept, never the identity
        assert a["hostname"] is None  # the ESXi host is an attribute
        tools, config = vm["OS according to the VMware Tools"], vm["OS according to the configuration file"]
        assert a["operating_system"] == (tools or config)
    assert by_name["wadfs1"]["memory_gb"] == 4


def test_rvtools_vhost_after_vinfo_adds_one_asset_per_host(cli, db):
    cli("run", WORKBOOK)
    out = cli("run", VHOST).output
    assert "rvtools_vhost" in out
    assets = live_assets(db)
    hosts = csv_rows(VHOST)
    assert len(assets) == 805 + 34
    by_name = {a["name"]: a for a in assets}
    for host in hosts:
        a = by_name[host["Host"]]
        assert a["cpu_cores"] == int(host["# Cores"])  # not # CPU (sockets) nor # vCPUs
        assert float(a["memory_gb"]) == pytest.approx(int(host["# Memory"]) / 1024, abs=0.001)


def test_dry_run_of_the_workbook_shows_what_it_would_become_and_writes_nothing(cli, db):
    before = [rows(db, f"select count(*) as n from migration.{t}")[0]["n"]
              for t in ("data_imports", "raw_import_records", "assets", "client_accounts")]
    out = cli("run", WORKBOOK, "--dry-run").output
    assert "profile: rvtools_vinfo" in out
    mapping = {line.split("│")[1].strip(): line.split("│")[2:4] for line in out.splitlines()
               if line.count("│") > 5}
    assert mapping["VM"][0].strip() == "name" and mapping["VM"][1].strip().startswith("asset col")
    assert mapping["Host"][1].strip().startswith("custom")
    assert "dry run: nothing written; the file would give 805 new assets" in out
    assert "wadfs1" in out  # the first rows as assets
    after = [rows(db, f"select count(*) as n from migration.{t}")[0]["n"]
             for t in ("data_imports", "raw_import_records", "assets", "client_accounts")]
    assert after == before


# -- every file, twice ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", EVERY_FILE, ids=[p.name for p in EVERY_FILE])
def test_every_real_export_imported_again_creates_and_changes_nothing(cli, db, path):
    cli("run", path)
    first = live_assets(db)
    assert first, path
    out = cli("run", path).output
    assert live_assets(db) == first  # no asset created, none changed (updated_at included)
    records = last_import_records(db)
    assert {r["processing_status"] for r in records} <= {"matched", "invalid"}, out
    assert rows(db, "select count(*) as n from migration.asset_changes")[0]["n"] == 0


# -- refreshed exports ---------------------------------------------------------------------------------------

def test_a_refreshed_export_updates_its_assets_and_logs_each_change(cli, db):
    cli("run", STOCK / "tests_fixtures_assets_baseline.csv")
    before = {a["fqdn"]: a for a in live_assets(db)}
    assert len(before) == 3
    out = cli("run", STOCK / "tests_fixtures_assets_duplicates.csv").output
    assert "assets created          │     0" in out or "│ assets created          │     0 │" in out
    after = {a["fqdn"]: a for a in live_assets(db)}
    assert set(after) == set(before)
    newer = {r["hostname"]: r for r in csv_rows(STOCK / "tests_fixtures_assets_duplicates.csv")}
    for fqdn, asset in after.items():
        row = newer[fqdn]
        assert asset["id"] == before[fqdn]["id"]
        assert asset["operating_system"] == row["operating_system"]
        assert asset["cpu_cores"] == int(row["cpu_cores"])
        assert float(asset["memory_gb"]) == float(row["ram_gb"])
        assert float(asset["storage_gb"]) == float(row["storage_gb"])
        assert asset["name"] == before[fqdn]["name"]  # identity: never overwritten
        changes = {c["field"]: (c["old_value"], c["new_value"]) for c in rows(
            db, "select * from migration.asset_changes where asset_id = %s", (asset["id"],))}
        assert changes["operating_system"] == (before[fqdn]["operating_system"], row["operating_system"])
        assert changes["cpu_cores"] == (before[fqdn]["cpu_cores"], int(row["cpu_cores"]))
        assert "name" not in changes
    assert rows(db, "select count(distinct asset_id) as n from migration.asset_changes")[0]["n"] == 3


def test_a_refreshed_export_with_on_match_keep_changes_nothing(cli, db):
    cli("run", STOCK / "tests_fixtures_assets_baseline.csv")
    before = live_assets(db)
    cli("run", STOCK / "tests_fixtures_assets_duplicates.csv", "--on-match", "keep")
    assert live_assets(db) == before
    assert rows(db, "select count(*) as n from migration.asset_changes")[0]["n"] == 0
    assert {r["processing_status"] for r in last_import_records(db)} == {"matched"}


# -- identity on the CMDB fixtures ---------------------------------------------------------------------------

def test_a_database_sharing_its_servers_ip_is_another_asset(cli, db):
    cli("run", STOCK / "test-data_test_cmdb_import.csv")
    names = {a["name"] for a in live_assets(db)}
    assert {"PaymentDB", "DatabaseServer"} <= names
    assert len(names) == 6


def test_enterprise_cmdb_assets_are_named_by_asset_name_and_na_ips_are_warnings(cli, db):
    cli("run", STOCK / "tests_fixtures_enterprise-cmdb-data.csv")
    assets = live_assets(db)
    rows_ = csv_rows(STOCK / "tests_fixtures_enterprise-cmdb-data.csv")
    assert sorted(a["name"] for a in assets) == sorted(r["asset_name"] for r in rows_)
    na = {r["asset_name"] for r in rows_ if r["ip_address"] == "N/A"}
    assert na and all(a["ip_address"] is None for a in assets if a["name"] in na)
    records = last_import_records(db)
    warned = [r for r in records if r["cleansed_data"].get("asset_name") in na
              or r["cleansed_data"].get("name") in na]
    assert len(warned) == len(na)
    for r in warned:
        assert r["is_valid"] and r["processing_status"] == "created"
        assert [(w["field"], w["severity"]) for w in r["validation_errors"]] == [("ip_address", "warning")]


# -- formats, encodings, delimiters --------------------------------------------------------------------------

ACCENTED = [
    {"Name": "Serveur Réseau Zürich", "IP Address": "10.1.0.1", "OS": "Windows Server 2019", "Location": "Zürich"},
    {"Name": "Ordinateur Ñandú", "IP Address": "10.1.0.2", "OS": "Ubuntu 22.04", "Location": "São Paulo"},
    {"Name": "Caffè Müller", "IP Address": "N/A", "OS": "RHEL 9", "Location": "Köln"},
]


def write_csv(path: Path, records: list[dict], encoding: str, delimiter: str, newline: str = "\r\n") -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(records[0]), delimiter=delimiter, lineterminator=newline)
    writer.writeheader()
    writer.writerows(records)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def asset_view(assets: list[dict]) -> list[tuple]:
    return sorted((a["name"], a["ip_address"], a["operating_system"], a["location"], json.dumps(a["custom_attributes"],
                                                                                                 sort_keys=True))
                  for a in assets)


@pytest.mark.parametrize("encoding, delimiter", [("latin-1", ";"), ("mac_roman", ","), ("cp1252", "\t"),
                                                 ("utf-16", ","), ("utf-8-sig", "|")])
def test_any_encoding_and_delimiter_gives_the_same_assets(cli, db, tmp_path, encoding, delimiter):
    cli("run", write_csv(tmp_path / "utf8.csv", ACCENTED, "utf-8", ","))
    reference = asset_view(live_assets(db))
    assert "Serveur Réseau Zürich" in {r[0] for r in reference}
    other = uuid.uuid4()
    cli("run", write_csv(tmp_path / "copy.csv", ACCENTED, encoding, delimiter), "--client-id", other)
    copy = rows(db, "select * from migration.assets where client_account_id = %s", (other,))
    assert asset_view(copy) == reference


def test_a_wrapped_json_page_imports_its_results(cli, db, tmp_path):
    page = {"count": 2, "next": None, "previous": None, "results": [
        {"id": 11, "name": "edge-router-1", "status": {"value": "active", "label": "Active"},
         "site": {"id": 1, "name": "DM-Akron", "slug": "dm-akron"}, "primary_ip4": {"id": 5, "address": "10.0.0.1/24"},
         "serial": "SN-11", "device_type": {"id": 3, "model": "MX480"}},
        {"id": 12, "name": "edge-router-2", "status": {"value": "active", "label": "Active"},
         "site": {"id": 1, "name": "DM-Akron", "slug": "dm-akron"}, "primary_ip4": {"id": 6, "address": "10.0.0.2/24"},
         "serial": "SN-12", "device_type": {"id": 3, "model": "MX480"}}]}
    path = tmp_path / "devices.json"
    path.write_text(json.dumps(page), encoding="utf-8")
    cli("run", path)
    assets = {a["name"]: a for a in live_assets(db)}
    assert set(assets) == {"edge-router-1", "edge-router-2"}
    assert assets["edge-router-1"]["ip_address"] == "10.0.0.1"  # the object's address, prefix length dropped
    assert assets["edge-router-1"]["location"] == "DM-Akron" or "DM-Akron" in json.dumps(
        assets["edge-router-1"]["custom_attributes"])
    assert any(v == "sn-11" for v in assets["edge-router-1"]["external_ids"].values())


@pytest.mark.parametrize("content", [b"PK\x03\x04 not really a workbook", b"\x00\x01\x02\x03\xff\xfe" * 50,
                                     b'[{"name": "a"}, {"name": '], ids=["xlsx", "binary", "truncated-json"])
def test_an_unreadable_file_is_one_line_and_exit_code_2(cli, db, tmp_path, content):
    suffix = {b"P": ".xlsx", b"\x00": ".csv", b"[": ".json"}[content[:1]]
    path = tmp_path / f"broken{suffix}"
    path.write_bytes(content)
    result = cli("run", path, expect=2)
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and path.name in lines[0] and "Traceback" not in result.output
    assert rows(db, "select count(*) as n from migration.data_imports")[0]["n"] == 0


def test_a_file_of_only_invalid_rows_exits_non_zero(cli, db, tmp_path):
    path = write_csv(tmp_path / "nobody.csv", [{"Owner": "a", "Notes": "x"}, {"Owner": "b", "Notes": "y"}],
                     "utf-8", ",")
    result = cli("run", path, expect=1)
    assert "invalid" in result.output


# -- order ---------------------------------------------------------------------------------------------------

SHUFFLED = [
    {"marker": 0, "hostname": "web01", "ip_address": "10.2.0.1"},
    {"marker": 1, "fqdn": "web01.corp.example.com"},
    {"marker": 2, "hostname": "WEB01"},
    {"marker": 3, "name": "PaymentDB", "ip_address": "10.2.0.1"},
    {"marker": 4, "ip_address": "10.2.0.9"},
    {"marker": 5, "ip_address": "10.2.0.9", "name": "billing"},
    {"marker": 6, "name": "billing", "asset_type": "application"},
    {"marker": 7, "name": "EOF < /dev/null"},
    {"marker": 8, "name": "eof < /dev/null"},
    {"marker": 9, "external_ids.serial_number": "SN-1", "name": "box-a"},
    {"marker": 10, "external_ids.serial_number": "sn-1", "hostname": "box-a"},
    {"marker": 11, "Owner": "nobody"},
    {"marker": 12, "hostname": "db01", "fqdn": "db01.a.example.com"},
    {"marker": 13, "hostname": "db01", "fqdn": "db01.b.example.com"},
]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(range(len(SHUFFLED))))
def test_rows_in_any_order_give_the_same_assets(db_url, order):
    """The partition of rows into assets does not depend on the order of the rows."""
    def partition(rows_in_order):
        with psycopg.connect(db_url) as conn:
            client = DiscoveryClient(conn)
            tenant = Tenant(uuid.uuid4(), uuid.uuid4())
            client.register_tenant(tenant, "Order", "Order")
            run = pipeline.import_records(client, tenant, rows_in_order)
            found = rows(conn, "select r.raw_data ->> 'marker' as marker, r.asset_id"
                               " from migration.raw_import_records r where r.data_import_id = %s",
                         (run.data_import_id,))
            conn.rollback()
        groups: dict = {}
        for f in found:
            groups.setdefault(f["asset_id"], set()).add(int(f["marker"]))
        return sorted(sorted(g) for a, g in groups.items() if a is not None)

    assert partition([SHUFFLED[i] for i in order]) == partition(SHUFFLED)
