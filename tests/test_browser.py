"""The inventory page of ``discovery-wiring serve`` in a real headless browser
(Debian's chromium driven by Playwright): it shows the counts of
``wiring_health``, all the tenant's assets or one flow's with the toggle, and
the pending conflicts, exactly as the API returns them.

Never skipped: without chromium (``apt-get install -y chromium``) the test
fails and says so. ``DW_CHROMIUM`` names another binary; ``DW_SCREENSHOTS`` a
folder to keep the page's screenshots in.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from discovery_wiring import DiscoveryClient
from discovery_wiring.results import HEALTH_KEYS

from _support import load_inventory

CHROMIUM = Path(os.environ.get("DW_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(f"the browser test needs Chromium at {CHROMIUM} (Debian: apt-get install -y chromium; "
                    "or DW_CHROMIUM=/path/to/chromium)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(db_url):
    """The inventory in a fresh database, and `discovery-wiring serve` on it (a
    process of its own, on a free port), stopped at the end."""
    with psycopg.connect(db_url) as conn:
        inventory = load_inventory(DiscoveryClient(conn), conn.commit)
    port = _free_port()
    tenant = ["--client-id", str(inventory.tenant.client_account_id),
              "--engagement-id", str(inventory.tenant.engagement_id)]
    server = subprocess.Popen(
        [sys.executable, "-m", "discovery_wiring", "serve", "--host", "127.0.0.1", "--port", str(port), *tenant],
        env={**os.environ, "DISCOVERY_DATABASE_URL": db_url}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                output = server.stdout.read().decode(errors="replace") if server.poll() is not None else ""
                pytest.fail(f"`discovery-wiring serve` did not answer on {url}: {output}")
            time.sleep(0.2)
        yield url, inventory
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_the_page_shows_what_the_api_says(browser, served, db_url, tmp_path):
    from playwright.sync_api import expect

    url, inventory = served
    tenant = inventory.tenant
    with psycopg.connect(db_url, autocommit=True) as conn:
        api = DiscoveryClient(conn)
        health = api.wiring_health(tenant)
        everything = api.list_assets(tenant)
        by_flow = {run.flow.flow_id: api.list_assets(tenant, flow_id=run.flow.flow_id)
                   for run in (inventory.first, inventory.second)}
        pending = api.list_conflicts(tenant)
    assert everything.total_count == 6 and {p.total_count for p in by_flow.values()} == {5, 1}
    assert pending.total_count == 2

    shots = Path(os.environ.get("DW_SCREENSHOTS") or tmp_path)
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(url)

    # wiring health: the badge and every count
    expect(page.locator("#health-status")).to_have_text(health["health_status"])
    for key in (*HEALTH_KEYS, "raw_records_pending"):
        expect(page.locator(f"#health-counts .count[data-key={key}] .n")).to_have_text(str(health[key]))
    for key, value in health["import_quality"].items():
        expect(page.locator(f"#quality-counts .count[data-key={key}] .n")).to_have_text(str(value))

    def shown_assets(expected_total: int) -> set[str]:
        expect(page.locator("#asset-total")).to_have_attribute("data-total", str(expected_total))
        expect(page.locator("#assets tr.asset")).to_have_count(min(expected_total, 50))
        return set(page.locator("#assets tr.asset").evaluate_all("rows => rows.map(r => r.dataset.id)"))

    # all assets, then each flow's with the toggle, then all again
    assert shown_assets(everything.total_count) == {a["id"] for a in everything.assets}
    page.screenshot(path=str(shots / "inventory-all.png"), full_page=True)
    page.check("input[name=scope][value=flow]")
    for flow_id, assets in by_flow.items():
        page.select_option("#flow-select", str(flow_id))
        assert shown_assets(assets.total_count) == {a["id"] for a in assets.assets}
    page.screenshot(path=str(shots / "inventory-flow.png"), full_page=True)
    page.check("input[name=scope][value=all]")
    assert shown_assets(everything.total_count) == {a["id"] for a in everything.assets}

    # the pending conflicts, each with its candidates
    expect(page.locator("#conflict-total")).to_have_attribute("data-total", str(pending.total_count))
    expect(page.locator(".conflict")).to_have_count(len(pending.conflicts))
    for conflict in pending.conflicts:
        shown = page.locator(f".conflict[data-id='{conflict['id']}']")
        for candidate in conflict.candidates:
            expect(shown).to_contain_text(candidate["fqdn"])

    # an unknown tenant: the problem response is shown, with its code and hint
    page.fill("#engagement-id", str(uuid.uuid4()))
    page.click("#tenant-form button")
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error")).to_contain_text("WR001")
    expect(page.locator("#error")).to_contain_text("hint:")
    page.close()
