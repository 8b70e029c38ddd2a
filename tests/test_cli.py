"""The ``discovery-wiring`` CLI end to end, against a real database named by
DISCOVERY_DATABASE_URL (a fresh, empty one: the CLI migrates it itself)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from discovery_wiring import DiscoveryClient
from discovery_wiring.cli import QUICKSTART_CLIENT_ID, main
from discovery_wiring.db import url_with_database
from discovery_wiring.resources import sample_file

from _support import load_inventory


@pytest.fixture
def fresh_url(server_url):
    """An empty database (no migrations): the CLI must migrate it itself."""
    name = f"dw_cli_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield url_with_database(server_url, name)
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def cli(fresh_url):
    runner = CliRunner()

    def invoke(*args, expect: int | None = 0):
        result = runner.invoke(main, list(args), env={"DISCOVERY_DATABASE_URL": fresh_url, "COLUMNS": "200"},
                               catch_exceptions=False)
        if expect is not None:
            assert result.exit_code == expect, result.output
        return result
    return invoke


def sample_rows() -> int:
    with sample_file().open() as fh:
        return sum(1 for _ in fh) - 1  # no quoted newlines in the sample


def test_run_bundled_sample_end_to_end(cli, fresh_url):
    first = cli("run")
    out = first.output
    assert "records loaded" in out and "assets created" in out and "health_status: healthy" in out

    rows = sample_rows()
    with psycopg.connect(fresh_url) as conn:
        (import_id,) = conn.execute("SELECT id FROM migration.data_imports").fetchone()
        outcomes = dict(conn.execute("""
            SELECT processing_status, count(*) FROM migration.raw_import_records
             WHERE data_import_id = %s GROUP BY 1""", (import_id,)).fetchall())
        assert sum(outcomes.values()) == rows
        assert set(outcomes) <= {"created", "matched", "invalid", "conflict"}
        assets = conn.execute("SELECT count(*) FROM migration.assets").fetchone()[0]
        assert assets == outcomes["created"] > 0
        assert f"│ assets created       │ {assets:>5} │" in out or str(assets) in out
        # invariant 3: every flow-based asset is wired both ways
        unwired = conn.execute("""
            SELECT count(*) FROM migration.assets AS a
              LEFT JOIN migration.raw_import_records AS r
                ON r.client_account_id = a.client_account_id AND r.id = a.raw_import_records_id
              LEFT JOIN migration.discovery_flows AS f
                ON f.client_account_id = a.client_account_id AND f.id = a.discovery_flow_id
             WHERE a.discovery_method = 'flow_based'
               AND (r.asset_id IS DISTINCT FROM a.id OR f.master_flow_id IS DISTINCT FROM a.master_flow_id)"""
        ).fetchone()[0]
        assert unwired == 0
        pending_conflicts = conn.execute(
            "SELECT count(*) FROM migration.asset_conflict_resolutions WHERE resolution_status = 'pending'"
        ).fetchone()[0]
        assert pending_conflicts == outcomes.get("conflict", 0)

    second = cli("run")
    assert "health_status: healthy" in second.output
    with psycopg.connect(fresh_url) as conn:
        assert conn.execute("SELECT count(*) FROM migration.assets").fetchone()[0] == assets
        (second_import,) = conn.execute(
            "SELECT id FROM migration.data_imports WHERE id <> %s", (import_id,)).fetchone()
        statuses = {r[0] for r in conn.execute(
            "SELECT DISTINCT processing_status FROM migration.raw_import_records WHERE data_import_id = %s",
            (second_import,))}
        assert statuses <= {"matched", "invalid"}
        tenants = conn.execute("SELECT DISTINCT client_account_id FROM migration.engagements").fetchall()
        assert tenants == [(QUICKSTART_CLIENT_ID,)]

    listing = json.loads(cli("assets", "--json", "--page-size", "10").output)
    assert listing["pagination"]["total_count"] == assets and len(listing["assets"]) == 10
    assert "Assets: page 2" in cli("assets", "--page", "2", "--page-size", "10").output
    flow_id = listing["assets"][0]["discovery_flow_id"]
    by_flow = json.loads(cli("assets", "--json", "--flow", flow_id).output)
    assert by_flow["pagination"]["total_count"] == assets

    health = json.loads(cli("health", "--json").output)
    assert health["health_status"] == "healthy"
    assert "health_status: healthy" in cli("health", "--detail").output


def test_errors_exit_nonzero_with_sqlstate_and_hint(cli):
    result = cli("health", expect=1)  # nothing imported yet: the quick-start tenant is unknown
    assert "WR001" in result.output and "discovery-wiring run" in result.output
    cli("run")
    result = cli("assets", "--page", "0", expect=1)
    assert "WR006" in result.output and "hint:" in result.output


def test_run_with_mapping_file_and_json_input(cli, fresh_url, tmp_path):
    records = [{"Host": "app01", "Addr": "10.1.0.1", "Kind": "server"},
               {"Host": "app02", "Addr": "10.1.0.2", "Kind": "server"}]
    (tmp_path / "inv.json").write_text(json.dumps(records))
    (tmp_path / "map.json").write_text(json.dumps({"Host": "hostname", "Addr": "ip_address", "Kind": "asset_type"}))
    tenant = ["--client-id", str(uuid.uuid4()), "--engagement-id", str(uuid.uuid4()),
              "--client-name", "Acme", "--engagement-name", "Move"]
    out = cli("run", str(tmp_path / "inv.json"), "--mapping", str(tmp_path / "map.json"), "--chunk-size", "1",
              *tenant).output
    assert "health_status: healthy" in out
    with psycopg.connect(fresh_url) as conn:
        rows = conn.execute("SELECT hostname, ip_address::text, asset_type FROM migration.assets ORDER BY 1").fetchall()
    assert [(h, ip.split("/")[0], t) for h, ip, t in rows] == [("app01", "10.1.0.1", "server"),
                                                               ("app02", "10.1.0.2", "server")]


def test_migrate_command_then_noop(cli):
    assert "Applied" in cli("migrate").output
    assert "No pending migration." in cli("migrate").output


def test_db_reports_the_configured_url(cli):
    for args in (("db",), ("db", "status"), ("db", "start"), ("db", "stop")):
        out = cli(*args).output
        assert "configured database" in out
    assert "Nothing to start" in cli("db", "start").output


def test_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "discovery_wiring", "--help"], capture_output=True, text=True,
                         check=True).stdout
    for command in ("run", "migrate", "health", "assets", "conflicts", "imports", "serve", "db", "repair", "dbt"):
        assert command in out


@pytest.fixture
def inventory(cli, fresh_url):
    """The CLI migrates the database; the inventory (two pending conflicts) is loaded through the client."""
    cli("migrate")
    with psycopg.connect(fresh_url) as conn:
        return load_inventory(DiscoveryClient(conn), conn.commit)


@pytest.fixture
def t(inventory) -> list[str]:
    """The inventory's tenant as CLI options."""
    client_account_id, engagement_id = inventory.tenant
    return ["--client-id", str(client_account_id), "--engagement-id", str(engagement_id)]


def test_conflicts_listed_side_by_side_and_resolved(cli, inventory, t):
    listing = json.loads(cli("conflicts", "--json", *t).output)
    assert listing["pagination"]["total_count"] == 2
    first, second = listing["conflicts"]
    out = cli("conflicts", *t).output
    for conflict in (first, second):
        assert f"Conflict {conflict['id']}" in out
        assert all(candidate["id"] in out for candidate in conflict["candidates"])
    assert "new record (row 1)" in out and "existing asset" in out and "candidate 2" in out
    assert "alpha.a.example.com" in out and "alpha.b.example.com" in out and "ALPHA" in out
    assert "2 pending conflict(s); page 1 of 1" in out and "conflicts resolve ID --action" in out
    assert "No conflict (pending)." in cli("conflicts", "--flow", str(inventory.first.flow.flow_id), *t).output

    out = cli("conflicts", "resolve", first["id"], "--action", "merge", "--fields", "operating_system, cpu_cores",
              *t).output
    assert f"Conflict {first['id']} resolved (merge): its record is linked to asset {first['existing_asset_id']}" \
        in out
    # the tenant given to the group reaches the subcommand
    created = json.loads(cli("conflicts", *t, "resolve", second["id"], "--action", "create_new", "--json").output)
    assert created["action"] == "create_new" and created["asset_id"] not in {c["id"] for c in second["candidates"]}
    again = cli("conflicts", "resolve", first["id"], "--action", "keep_existing", *t, expect=1).output
    assert "WR007" in again and "hint:" in again and "list_conflicts" in again
    resolved = json.loads(cli("conflicts", "--status", "resolved", "--json", *t).output)
    assert [c["resolution_action"] for c in resolved["conflicts"]] == ["merge", "create_new"]
    assert "(merge)" in cli("conflicts", "--status", "all", *t).output
    assert "Invalid value for '--action'" in cli("conflicts", "resolve", first["id"], "--action", "drop",
                                                 expect=2).output


def test_imports_listed_and_undone(cli, inventory, t):
    second = str(inventory.second.data_import_id)
    out = cli("imports", *t).output
    assert "Data imports, newest first" in out and second in out and "processing" in out
    assert "2 import(s); page 1 of 1" in out
    listing = json.loads(cli("imports", "--json", *t).output)
    assert {i["id"]: i["outcomes"]["conflict"] for i in listing["imports"]}[second] == 2

    dry = cli("imports", "undo", second, *t).output
    assert "(dry run)" in dry and "Dry run: nothing was written" in dry
    assert "records discarded │     4" in dry and "assets deleted    │     1" in dry
    assert json.loads(cli("imports", "undo", second, "--json", *t).output)["dry_run"] is True
    applied = json.loads(cli("imports", *t, "undo", second, "--apply", "--json").output)
    assert applied == {"dry_run": False, "assets_deleted": 1, "changes_reverted": 1, "changes_kept": 0,
                       "records_discarded": 4, "conflicts_closed": 2}
    statuses = {i["id"]: i["status"] for i in json.loads(cli("imports", "--json", *t).output)["imports"]}
    assert statuses[second] == "undone"
    out = cli("imports", "undo", second, "--apply", *t, expect=1).output
    assert "WR008" in out and "undone already" in out


def test_assets_show_lineage_and_history(cli, inventory, t):
    assets = json.loads(cli("assets", "--json", "--page-size", "200", *t).output)["assets"]
    web01 = next(a for a in assets if a["hostname"] == "web01")
    out = cli("assets", "show", web01["id"], *t).output
    assert f"Asset web01 ({web01['id']})" in out and "Lineage" in out
    assert str(inventory.first.data_import_id) in out and "Raw records linked to it" in out
    assert "Change history, newest first" in out and "Ubuntu 20.04" in out and "Ubuntu 22.04" in out
    detail = json.loads(cli("assets", *t, "show", web01["id"], "--json").output)
    assert detail["lineage"]["data_import_id"] == str(inventory.first.data_import_id)
    assert [c["field"] for c in detail["changes"]] == ["operating_system"]
    cli("imports", "undo", str(inventory.second.data_import_id), "--apply", *t)
    out = cli("assets", "show", web01["id"], *t).output
    assert "undo_import (a revert)" in out and "Ubuntu 20.04" in out
    missing = cli("assets", "show", str(uuid.uuid4()), *t, expect=1).output
    assert "WR009" in missing and "list_assets" in missing
