"""The HTTP router (discovery_wiring.http) through FastAPI's test client,
against the real database: every endpoint answers with its documented shape,
each API error is a problem response with its status, the tenant comes from
the headers unless the host app overrides it, and each request commits its
own transaction before it answers."""

from __future__ import annotations

import uuid
from contextlib import asynccontextmanager

import psycopg
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from discovery_wiring import DiscoveryClient, Tenant
from discovery_wiring.errors import ERROR_CLASSES
from discovery_wiring.http import (
    PROBLEM_STATUS,
    create_app,
    create_pool,
    get_pool,
    get_tenant,
    pool_lifespan,
    router,
)
from discovery_wiring.results import HEALTH_KEYS, UNDO_COUNTS

from _support import load_inventory

PROBLEM = "application/problem+json"


@pytest.fixture
def inventory(db_url):
    """Two imports (two pending conflicts), committed."""
    with psycopg.connect(db_url) as conn:
        return load_inventory(DiscoveryClient(conn), conn.commit)


@pytest.fixture
def api(db_url, inventory):
    """``api(method, path, **kwargs)`` on the standalone app, with the inventory's tenant headers."""
    headers = {"X-Client-Account-Id": str(inventory.tenant.client_account_id),
               "X-Engagement-Id": str(inventory.tenant.engagement_id)}
    with TestClient(create_app(db_url)) as client:
        def call(method: str, path: str, **kwargs):
            return client.request(method, path, headers={**headers, **kwargs.pop("headers", {})}, **kwargs)
        call.client = client
        yield call


@pytest.fixture
def reader(db_url):
    """A client on a connection of its own (sees only what the requests committed)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        yield DiscoveryClient(conn)


def assert_problem(response, status: int, sqlstate: str | None):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if sqlstate:
        assert body["type"] == f"urn:discovery-wiring:problem:{sqlstate}" and body["sqlstate"] == sqlstate
        assert body["hint"], body
        assert body["title"] == ERROR_CLASSES[sqlstate].title
    return body


def test_every_wr_code_has_its_http_status():
    assert set(PROBLEM_STATUS) == set(ERROR_CLASSES)
    assert {PROBLEM_STATUS[c] for c in ("WR001", "WR002", "WR003", "WR007", "WR009")} == {404}
    assert {PROBLEM_STATUS[c] for c in ("WR004", "WR005", "WR006")} == {422}
    assert PROBLEM_STATUS["WR008"] == 409


def test_health_has_exactly_the_seed_shape(api, reader, inventory):
    response = api("GET", "/health/wiring")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {*HEALTH_KEYS, "health_status", "raw_records_pending", "tenant", "import_quality"}
    expected = reader.wiring_health(inventory.tenant)
    assert body == {key: expected[key] for key in body}
    assert body["health_status"] == "healthy" and body["import_quality"]["conflicts_pending"] == 2
    assert body["tenant"] == {"client_account_id": str(inventory.tenant.client_account_id),
                              "engagement_id": str(inventory.tenant.engagement_id)}
    detailed = api("GET", "/health/wiring", params={"detail": "true"}).json()
    assert set(detailed) - set(body) == {"samples"} and set(detailed["samples"]) >= set(HEALTH_KEYS)


def test_assets_of_the_tenant_or_of_any_flow_id(api, reader, inventory):
    everything = api("GET", "/unified-discovery/assets").json()
    assert set(everything) == {"assets", "pagination", "metadata", "filters"}
    assert everything["pagination"]["total_count"] == reader.list_assets(inventory.tenant).total_count == 6
    assert {"id", "name", "asset_type", "hostname", "ip_address", "discovery_flow_id", "master_flow_id", "status",
            "created_at"} <= set(everything["assets"][0])
    flow = inventory.first.flow
    for any_id in (flow.discovery_flow_id, flow.flow_id, flow.master_flow_id):
        page = api("GET", "/unified-discovery/assets", params={"flow_id": str(any_id), "page_size": 2}).json()
        assert page["pagination"] == {"page": 1, "page_size": 2, "total_count": 5, "total_pages": 3,
                                      "has_next": True, "has_prev": False}
        assert page["filters"]["discovery_flow_id"] == str(flow.discovery_flow_id)
    capped = api("GET", "/unified-discovery/assets", params={"page_size": 500}).json()
    assert capped["metadata"] == {"page_size_capped": True, "max_page_size": 200}
    assert_problem(api("GET", "/unified-discovery/assets", params={"page": 0}), 422, "WR006")
    assert_problem(api("GET", "/unified-discovery/assets", params={"flow_id": str(uuid.uuid4())}), 404, "WR002")
    body = assert_problem(api("GET", "/unified-discovery/assets", params={"flow_id": "not-a-uuid"}), 422, None)
    assert body["errors"][0]["loc"] == ["query", "flow_id"]


def test_conflicts_list_with_candidates_and_resolve(api, reader, inventory):
    listing = api("GET", "/conflicts").json()
    assert set(listing) == {"conflicts", "pagination", "metadata", "filters"}
    assert listing["pagination"]["total_count"] == 2 and listing["filters"]["status"] == "pending"
    first, second = listing["conflicts"]
    assert len(first["candidates"]) == 2 and first["candidates"][0]["id"] == first["existing_asset_id"]
    by_flow = api("GET", "/conflicts", params={"flow_id": str(inventory.second.flow.flow_id)}).json()
    assert [c["id"] for c in by_flow["conflicts"]] == [first["id"], second["id"]]
    assert api("GET", "/conflicts", params={"flow_id": str(inventory.first.flow.flow_id)}).json()["conflicts"] == []

    response = api("POST", f"/conflicts/{first['id']}/resolve",
                   json={"action": "merge", "merge_fields": ["operating_system", "cpu_cores"]})
    assert response.status_code == 200, response.text
    assert response.json() == {"conflict_id": first["id"], "action": "merge", "asset_id": first["existing_asset_id"]}
    # committed before the answer: another session sees it at once
    merged = reader.get_asset(inventory.tenant, first["existing_asset_id"])
    assert merged.asset["operating_system"] == "linux" and merged.asset["cpu_cores"] == 4
    assert {c["field"] for c in merged.changes} == {"operating_system", "cpu_cores"}

    assert_problem(api("POST", f"/conflicts/{first['id']}/resolve", json={"action": "keep_existing"}), 404, "WR007")
    assert_problem(api("POST", f"/conflicts/{uuid.uuid4()}/resolve", json={"action": "create_new"}), 404, "WR007")
    assert_problem(api("POST", f"/conflicts/{second['id']}/resolve", json={"action": "merge"}), 422, "WR005")
    assert_problem(api("POST", f"/conflicts/{second['id']}/resolve",
                       json={"action": "merge", "merge_fields": ["hostname"]}), 422, "WR006")
    body = assert_problem(api("POST", f"/conflicts/{second['id']}/resolve", json={"action": "drop"}), 422, None)
    assert body["errors"][0]["loc"] == ["body", "action"]

    created = api("POST", f"/conflicts/{second['id']}/resolve", json={"action": "create_new"}).json()
    assert created["asset_id"] not in {c["id"] for c in second["candidates"]}
    resolved = api("GET", "/conflicts", params={"status": "resolved"}).json()
    assert [c["resolution_action"] for c in resolved["conflicts"]] == ["merge", "create_new"]
    assert api("GET", "/conflicts").json()["pagination"]["total_count"] == 0
    assert api("GET", "/conflicts", params={"status": "all"}).json()["pagination"]["total_count"] == 2
    flows = {i["id"]: i["flow_status"] for i in api("GET", "/imports").json()["imports"]}
    assert flows[str(inventory.second.data_import_id)] == "completed"


def test_imports_list_and_undo(api, reader, inventory):
    listing = api("GET", "/imports").json()
    assert set(listing) == {"imports", "pagination", "metadata"}
    second = next(i for i in listing["imports"] if i["id"] == str(inventory.second.data_import_id))
    assert second["outcomes"] == {"created": 1, "matched": 1, "conflict": 2, "invalid": 0, "discarded": 0,
                                  "pending": 0, "with_warnings": 0}
    assert (second["status"], second["flow_status"]) == ("processing", "active")
    assert second["discovery_flow_id"] == str(inventory.second.flow.discovery_flow_id)

    path = f"/imports/{inventory.second.data_import_id}/undo"
    dry = api("POST", path).json()
    assert set(dry) == {"dry_run", *UNDO_COUNTS}
    assert dry == {"dry_run": True, "assets_deleted": 1, "changes_reverted": 1, "changes_kept": 0,
                   "records_discarded": 4, "conflicts_closed": 2}
    assert reader.list_assets(inventory.tenant).total_count == 6  # nothing written
    applied = api("POST", path, params={"apply": "true"}).json()
    assert applied == {**dry, "dry_run": False}
    assert reader.list_assets(inventory.tenant).total_count == 5  # committed before the answer
    assert reader.wiring_health(inventory.tenant).healthy
    statuses = {i["id"]: (i["status"], i["flow_status"]) for i in api("GET", "/imports").json()["imports"]}
    assert statuses[str(inventory.second.data_import_id)] == ("undone", "undone")
    assert_problem(api("POST", path), 409, "WR008")
    assert_problem(api("POST", f"/imports/{uuid.uuid4()}/undo"), 404, "WR003")
    assert_problem(api("GET", "/imports", params={"page_size": 0}), 422, "WR006")


def test_asset_detail(api, reader, inventory):
    web01 = next(a for a in reader.list_assets(inventory.tenant, page_size=200).assets if a["hostname"] == "web01")
    body = api("GET", f"/assets/{web01['id']}").json()
    assert set(body) == {"asset", "lineage", "records", "records_truncated", "changes", "changes_truncated"}
    assert body["asset"]["operating_system"] == "Ubuntu 22.04"
    assert body["lineage"]["data_import_id"] == str(inventory.first.data_import_id)
    assert [r["processing_status"] for r in body["records"]] == ["created", "matched"]
    assert [(c["field"], c["old_value"], c["new_value"]) for c in body["changes"]] == \
        [("operating_system", "Ubuntu 20.04", "Ubuntu 22.04")]
    assert_problem(api("GET", f"/assets/{uuid.uuid4()}"), 404, "WR009")


def test_tenant_headers(api):
    for missing in ("X-Client-Account-Id", "X-Engagement-Id"):
        response = api.client.get("/imports", headers={k: str(uuid.uuid4()) for k in
                                                        ("X-Client-Account-Id", "X-Engagement-Id") if k != missing})
        body = assert_problem(response, 422, None)
        assert body["errors"][0]["loc"] == ["header", missing.lower()]
    assert_problem(api("GET", "/imports", headers={"X-Engagement-Id": "42"}), 422, None)
    body = assert_problem(api("GET", "/health/wiring", headers={"X-Engagement-Id": str(uuid.uuid4())}), 404, "WR001")
    assert body["instance"] == "/health/wiring"


def test_a_host_app_mounts_the_router_with_its_tenant_and_pool(db_url, inventory):
    """Under a prefix, with the tenant from the host's own authentication (here
    a bearer token naming it) and a pool of one connection from the host's factory:
    each request takes the connection and gives it back, errors included."""
    tokens = {"token-1": inventory.tenant}

    async def tenant_from_token(request: Request) -> Tenant:
        return tokens[request.headers["Authorization"].removeprefix("Bearer ")]

    @asynccontextmanager
    async def lifespan(app):
        async with pool_lifespan(app, lambda: create_pool(db_url, min_size=1, max_size=1, timeout=5)):
            yield

    host = FastAPI(lifespan=lifespan)
    host.include_router(router, prefix="/discovery")
    host.dependency_overrides[get_tenant] = tenant_from_token
    with TestClient(host, headers={"Authorization": "Bearer token-1"}) as client:
        for _ in range(3):
            assert client.get("/discovery/health/wiring").json()["health_status"] == "healthy"
            assert_problem(client.get(f"/discovery/assets/{uuid.uuid4()}"), 404, "WR009")
        conflict = client.get("/discovery/conflicts").json()["conflicts"][0]
        assert client.post(f"/discovery/conflicts/{conflict['id']}/resolve",
                           json={"action": "keep_existing"}).status_code == 200
        assert client.get("/discovery/conflicts").json()["pagination"]["total_count"] == 1
        stats = host.state.discovery_wiring_pool.get_stats()
        assert stats["pool_size"] == 1 and stats.get("requests_errors", 0) == 0


def test_a_host_pool_override_replaces_the_lifespan_pool(db_url, inventory):
    pool = create_pool(db_url, min_size=1, max_size=2)

    async def host_pool():
        if pool.closed:
            await pool.open(wait=True)
        return pool

    host = FastAPI()
    host.include_router(router)
    host.dependency_overrides[get_pool] = host_pool
    headers = {"X-Client-Account-Id": str(inventory.tenant.client_account_id),
               "X-Engagement-Id": str(inventory.tenant.engagement_id)}
    with TestClient(host, headers=headers) as client:
        assert client.get("/imports").json()["pagination"]["total_count"] == 2
        client.portal.call(pool.close)


def test_without_a_pool_the_router_says_how_to_get_one(inventory):
    host = FastAPI()
    host.include_router(router)
    with TestClient(host, raise_server_exceptions=True) as client, pytest.raises(RuntimeError, match="pool_lifespan"):
        client.get("/imports", headers={"X-Client-Account-Id": str(uuid.uuid4()), "X-Engagement-Id": str(uuid.uuid4())})


def test_the_page_and_the_openapi_document(api, inventory):
    page = api.client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Discovery inventory" in page.text and "__CLIENT_ACCOUNT_ID__" not in page.text
    spec = api.client.get("/openapi.json").json()
    assert set(spec["paths"]) == {"/health/wiring", "/unified-discovery/assets", "/conflicts",
                                  "/conflicts/{conflict_id}/resolve", "/imports", "/imports/{data_import_id}/undo",
                                  "/assets/{asset_id}"}
    responses = spec["paths"]["/conflicts/{conflict_id}/resolve"]["post"]["responses"]
    assert set(responses) == {"200", "404", "409", "422"} and PROBLEM in responses["409"]["content"]
