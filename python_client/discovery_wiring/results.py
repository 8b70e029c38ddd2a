"""Typed results of the API calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, NamedTuple
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


class _Paged:
    """What every ``list_*`` page has: ``pagination`` (page, page_size,
    total_count, total_pages, has_next, has_prev), ``metadata`` (page_size_capped,
    max_page_size), ``filters`` and ``raw``, the whole JSON document. ``ITEMS``
    names the document's member that holds the page's items."""

    ITEMS: ClassVar[str]
    ITEM_TYPE: ClassVar[type] = dict
    pagination: dict[str, Any]

    @classmethod
    def from_json(cls, doc: dict[str, Any]):
        items = [cls.ITEM_TYPE(item) for item in doc.get(cls.ITEMS) or []]
        return cls(items, dict(doc.get("pagination") or {}), metadata=dict(doc.get("metadata") or {}),
                   filters=dict(doc.get("filters") or {}), raw=doc)

    @property
    def items(self) -> list[Any]:
        return getattr(self, self.ITEMS)

    @property
    def page(self) -> int:
        return int(self.pagination.get("page", 1))

    @property
    def total_count(self) -> int:
        return int(self.pagination.get("total_count", 0))

    @property
    def total_pages(self) -> int:
        return int(self.pagination.get("total_pages", 0))

    @property
    def has_next(self) -> bool:
        return bool(self.pagination.get("has_next"))


def _uuid(value: Any) -> UUID | None:
    return None if value is None else UUID(str(value))


@dataclass(frozen=True)
class AssetPage(_Paged):
    """One page of ``list_assets``; ``raw`` is the whole JSON document."""

    ITEMS: ClassVar[str] = "assets"

    assets: list[dict[str, Any]]
    pagination: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    filters: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


CONFLICT_ACTIONS = ("keep_existing", "replace_with_new", "merge", "create_new")
"""The actions of ``resolve_asset_conflict``; ``merge`` takes the field names to copy."""


class Conflict(dict):
    """One conflict of ``list_conflicts`` (a dict, as the API returns it):
    id, discovery_flow_id, raw_import_record_id, row_number, data_import_id,
    existing_asset_id, candidate_asset_ids, conflict_type, conflict_key,
    new_asset_data, resolution_status, resolution_action, resolved_asset_id,
    created_at, and ``candidates`` (the identity fields of each candidate
    asset, the existing one first)."""

    @property
    def id(self) -> UUID:
        return UUID(str(self["id"]))

    @property
    def existing_asset_id(self) -> UUID | None:
        return _uuid(self.get("existing_asset_id"))

    @property
    def raw_import_record_id(self) -> UUID | None:
        return _uuid(self.get("raw_import_record_id"))

    @property
    def candidates(self) -> list[dict[str, Any]]:
        return list(self.get("candidates") or [])

    @property
    def pending(self) -> bool:
        return self.get("resolution_status") == "pending"


@dataclass(frozen=True)
class ConflictPage(_Paged):
    """One page of ``list_conflicts``: :class:`Conflict` items, oldest first."""

    ITEMS: ClassVar[str] = "conflicts"
    ITEM_TYPE: ClassVar[type] = Conflict

    conflicts: list[Conflict]
    pagination: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    filters: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


class RawRecord(dict):
    """One record of ``list_raw_records`` (a dict): id, data_import_id,
    row_number, processing_status, is_processed, is_valid, validation_errors,
    processing_notes, asset_id, processed_at, raw_data, cleansed_data."""

    @property
    def id(self) -> UUID:
        return UUID(str(self["id"]))

    @property
    def asset_id(self) -> UUID | None:
        return _uuid(self.get("asset_id"))

    @property
    def outcome(self) -> str:
        """``pending`` until handled, then its processing_status."""
        return "pending" if not self.get("is_processed") else str(self.get("processing_status"))


@dataclass(frozen=True)
class RawRecordPage(_Paged):
    """One page of ``list_raw_records``: :class:`RawRecord` items, by import then row_number."""

    ITEMS: ClassVar[str] = "records"
    ITEM_TYPE: ClassVar[type] = RawRecord

    records: list[RawRecord]
    pagination: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    filters: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


OUTCOMES = ("created", "matched", "conflict", "invalid", "discarded", "pending")
"""The outcome counts of an import (``list_data_imports``), in display order."""


class DataImport(dict):
    """One import of ``list_data_imports`` (a dict): id, import_name,
    filename, import_type, source_system, profile, status, total_records,
    outcomes ({created, matched, conflict, invalid, discarded, pending,
    with_warnings}), discovery_flow_id, flow_id, master_flow_id, flow_status,
    imported_by, created_at, updated_at."""

    @property
    def id(self) -> UUID:
        return UUID(str(self["id"]))

    @property
    def discovery_flow_id(self) -> UUID | None:
        return _uuid(self.get("discovery_flow_id"))

    @property
    def outcomes(self) -> dict[str, int]:
        """The outcome counts, every key of :data:`OUTCOMES` and with_warnings present."""
        found = self.get("outcomes") or {}
        return {key: int(found.get(key) or 0) for key in (*OUTCOMES, "with_warnings")}


@dataclass(frozen=True)
class DataImportPage(_Paged):
    """One page of ``list_data_imports``: :class:`DataImport` items, newest first."""

    ITEMS: ClassVar[str] = "imports"
    ITEM_TYPE: ClassVar[type] = DataImport

    imports: list[DataImport]
    pagination: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    filters: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


class AssetDetail(dict):
    """The document of ``get_asset`` (a dict): ``asset`` (every column but the
    tenant's), ``lineage`` (raw_import_record_id, data_import_id, row_number,
    discovery_flow_id, master_flow_id, import_name, filename), ``records``
    (the raw records linked to it), ``changes`` (its asset_changes, newest
    first), and ``records_truncated`` / ``changes_truncated`` (each list holds
    at most 500)."""

    @property
    def asset(self) -> dict[str, Any]:
        return dict(self.get("asset") or {})

    @property
    def lineage(self) -> dict[str, Any]:
        return dict(self.get("lineage") or {})

    @property
    def records(self) -> list[dict[str, Any]]:
        return list(self.get("records") or [])

    @property
    def changes(self) -> list[dict[str, Any]]:
        return list(self.get("changes") or [])

    @property
    def deleted(self) -> bool:
        """Whether the asset is soft-deleted (``deleted_at`` set)."""
        return self.asset.get("deleted_at") is not None


UNDO_COUNTS = ("assets_deleted", "changes_reverted", "changes_kept", "records_discarded", "conflicts_closed")


class UndoReport(dict):
    """The document of ``undo_import`` (a dict): ``dry_run`` and the counts of
    :data:`UNDO_COUNTS`. A dry run's counts are exactly what applying it would do."""

    @property
    def dry_run(self) -> bool:
        return bool(self.get("dry_run"))

    @property
    def counts(self) -> dict[str, int]:
        return {key: int(self.get(key) or 0) for key in UNDO_COUNTS}


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
