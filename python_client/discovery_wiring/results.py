"""Typed results of the API calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID


class Tenant(NamedTuple):
    """A client account and engagement: the first two arguments of every call.
    Any 2-tuple of UUIDs (or UUID strings) is accepted where a Tenant is."""

    client_account_id: UUID
    engagement_id: UUID


@dataclass(frozen=True)
class FlowIds:
    """The three IDs of a discovery flow (``start_discovery_flow``, ``resolve_flow``)."""

    discovery_flow_id: UUID
    flow_id: UUID
    master_flow_id: UUID


@dataclass(frozen=True)
class FieldMappingSuggestion:
    source_field: str
    target_field: str | None
    confidence_score: Decimal | None


@dataclass(frozen=True)
class CleanseResult:
    cleansed: int
    invalid: int


@dataclass(frozen=True)
class AssetRunResult:
    """Outcome counts of ``create_assets_from_discovery``; ``run_id`` is None
    when the call wrote no run (dry run, or nothing to handle)."""

    run_id: UUID | None
    created: int
    matched: int
    conflicts: int
    invalid: int
    already_linked: int
    updated: int = 0


@dataclass(frozen=True)
class AssetPage:
    """One page of ``list_assets``; ``raw`` is the whole JSON document."""

    assets: list[dict[str, Any]]
    pagination: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    filters: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> AssetPage:
        return cls(assets=list(doc.get("assets") or []), pagination=dict(doc.get("pagination") or {}),
                   metadata=dict(doc.get("metadata") or {}), filters=dict(doc.get("filters") or {}), raw=doc)

    @property
    def total_count(self) -> int:
        return int(self.pagination.get("total_count", 0))

    @property
    def has_next(self) -> bool:
        return bool(self.pagination.get("has_next"))


HEALTH_KEYS = (
    "assets_missing_discovery_flow_id",
    "assets_with_unknown_discovery_flow_id",
    "assets_with_mismatched_master_flow_id",
    "assets_missing_raw_import_id",
    "assets_with_orphan_raw_ref",
    "links_disagree",
    "raw_records_missing_asset_id",
    "processed_records_missing_asset_id",
    "raw_with_orphan_asset_ref",
    "assets_with_legacy_flow_id_only",
)


class WiringHealth(dict):
    """The JSON document of ``wiring_health`` (a dict), with helpers."""

    @property
    def healthy(self) -> bool:
        return self.get("health_status") == "healthy"

    @property
    def gaps(self) -> dict[str, int]:
        """The ten gap counts of DESIGN.md, in their documented order."""
        return {key: int(self.get(key) or 0) for key in HEALTH_KEYS}


class RepairReport(dict):
    """The JSON document of ``repair_wiring``: dry_run, repaired, remaining."""

    @property
    def repaired_total(self) -> int:
        return sum(int(v or 0) for v in (self.get("repaired") or {}).values())
