"""An inventory built through the client API only (no SQL of its own), for
the suites that drive the API as a backend would: the HTTP router, the
browser page, the CLI and the backend-role life of an import.

The first import makes, for each conflict wanted, two assets that share a
short name (``alpha.a.example.com`` and ``alpha.b.example.com``), plus
``web01``. The second import holds, for each of them, a record known only by
the short name (``ALPHA``: a conflict between the two), a new server ``beta``,
and ``web01`` with a newer operating system (matched, and the asset refreshed:
a change in its history).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from discovery_wiring import Tenant
from discovery_wiring.results import AssetRunResult, FlowIds

CONFLICT_NAMES = ("alpha", "gamma", "delta", "omega")


def first_records(conflicts: int) -> list[dict[str, Any]]:
    return [{"fqdn": f"{name}.{zone}.example.com", "asset_type": "server"}
            for name in CONFLICT_NAMES[:conflicts] for zone in ("a", "b")] + \
           [{"hostname": "web01", "ip_address": "10.0.0.1", "operating_system": "Ubuntu 20.04",
             "asset_type": "server"}]


def second_records(conflicts: int) -> list[dict[str, Any]]:
    return [{"hostname": name.upper(), "operating_system": "linux", "cpu_cores": 4, "environment": "prod"}
            for name in CONFLICT_NAMES[:conflicts]] + \
           [{"hostname": "beta", "ip_address": "10.0.0.2", "asset_type": "server"},
            {"hostname": "web01", "operating_system": "Ubuntu 22.04"}]


@dataclass(frozen=True)
class ImportRun:
    data_import_id: uuid.UUID
    flow: FlowIds
    result: AssetRunResult


@dataclass(frozen=True)
class Inventory:
    tenant: Tenant
    first: ImportRun
    second: ImportRun


def run_import(client, tenant, name: str, records: list[dict[str, Any]]) -> ImportRun:
    """create_data_import, add_raw_records, start_discovery_flow, create_assets_from_discovery."""
    data_import_id = client.create_data_import(tenant, name, "json", f"{name}.json")
    client.add_raw_records(tenant, data_import_id, records)
    flow = client.start_discovery_flow(tenant, data_import_id, flow_name=name)
    return ImportRun(data_import_id, flow, client.create_assets_from_discovery(tenant, flow.discovery_flow_id))


def load_inventory(client, commit: Callable[[], Any], conflicts: int = 2, tenant: Tenant | None = None) -> Inventory:
    """Register a tenant and run both imports, committing after each (so that
    the first import's assets are the older ones). Returns what it made."""
    tenant = tenant or Tenant(uuid.uuid4(), uuid.uuid4())
    client.register_tenant(tenant, "Inventory client", "Inventory engagement")
    first = run_import(client, tenant, "first", first_records(conflicts))
    commit()
    second = run_import(client, tenant, "second", second_records(conflicts))
    commit()
    assert (first.result.created, second.result.created, second.result.matched, second.result.conflicts) == \
        (2 * conflicts + 1, 1, 1, conflicts), (first.result, second.result)
    return Inventory(tenant, first, second)
