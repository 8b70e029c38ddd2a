"""The import pipeline, one definition for the CLI, the tests and the benchmark:
a file (or rows) in, wired assets out, in the caller's transaction.

>>> plan = plan_import("export.xlsx")                        # doctest: +SKIP
>>> run = run_import(DiscoveryClient(conn), tenant, plan)    # doctest: +SKIP
>>> conn.commit()                                            # doctest: +SKIP

:func:`plan_import` reads only the start of the file: its format, encoding,
delimiter or sheet (:mod:`~discovery_wiring.readers`), the source profile its
headers match, and one mapping per header (:mod:`~discovery_wiring.profiles`).
:func:`run_import` then creates the import and its discovery flow, sets the
mappings, streams the rows in (each record is written once more, by
``create_assets_from_discovery``, which cleanses, identifies and links it in
one statement), and creates the assets. Nothing here commits: a dry run is the
same work rolled back by the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from . import profiles, readers
from .calls import normalize_mappings
from .client import DEFAULT_CHUNK_SIZE
from .results import AssetRunResult, FlowIds, Tenant

ON_MATCH = ("refresh", "fill_empty", "keep")


@dataclass(frozen=True)
class ImportPlan:
    """What a file will become: its source, the profile chosen (None: the
    synonym dictionary), how it was chosen, and the mapping of every header."""

    source: readers.Source
    mappings: profiles.MappingPlan
    profile: profiles.Profile | None = None
    detection: profiles.Detection | None = None

    @property
    def name(self) -> str:
        return self.source.path.name


@dataclass
class ImportRun:
    """What :func:`run_import` did: the IDs, the rows loaded, the outcome, and
    the pending conflicts the run left."""

    tenant: Tenant
    data_import_id: UUID
    flow: FlowIds
    loaded: int
    result: AssetRunResult
    conflict_ids: list[UUID] = field(default_factory=list)

    @property
    def all_invalid(self) -> bool:
        """Every record loaded was invalid (none could be named or found)."""
        return self.loaded > 0 and self.result.invalid == self.loaded


def plan_import(path: str | Path, *, profile: str | None = None, sheet: str | None = None,
                mapping: Iterable[Mapping[str, Any]] | Mapping[str, str] | None = None) -> ImportPlan:
    """Plan the import of ``path``: the profile named (``profile``) or detected
    from the headers, the sheet asked for or the profile's default sheet, and
    the mappings, with ``mapping`` overriding only the columns it names.
    Raises :class:`~discovery_wiring.readers.ReadError` for an unreadable file
    and ``ValueError`` for an unknown profile name."""
    source = readers.open_source(path, sheet=sheet)
    catalog = profiles.catalog()
    chosen = catalog.profile(profile) if profile else None
    detection = None
    if chosen is None:
        detection = profiles.detect(source.headers, catalog)
        chosen = detection.profile
    if chosen is not None and source.format == "xlsx" and sheet is None and chosen.default_sheet:
        default = readers.open_source(path, default_sheet=chosen.default_sheet)
        if default.sheet != source.sheet:
            source = default
            if not profile:  # the profile's own sheet: detect again on its headers
                detection = profiles.detect(source.headers, catalog)
                chosen = detection.profile or chosen
    plan = profiles.plan_mappings(source.headers, chosen)
    if mapping:
        plan = profiles.merge_overrides(plan, mapping)
    return ImportPlan(source=source, mappings=plan, profile=chosen, detection=detection)


def run_import(client, tenant: Tenant | tuple[Any, Any], plan: ImportPlan, *, on_match: str = "refresh",
               chunk_size: int = DEFAULT_CHUNK_SIZE, progress: Callable[[int], Any] | None = None,
               import_name: str | None = None, source_system: str | None = None,
               imported_by: UUID | str | None = None) -> ImportRun:
    """Import the planned file for ``tenant`` (registered) with ``client``, in
    the caller's transaction."""
    return import_records(
        client, tenant, plan.source.records(), mappings=plan.mappings.api_mappings(),
        field_defaults=plan.mappings.field_defaults, profile=plan.mappings.profile,
        import_name=import_name or plan.name, import_type=plan.source.format, filename=str(plan.source.path),
        source_system=source_system or plan.mappings.profile or "discovery-wiring", imported_by=imported_by,
        on_match=on_match, chunk_size=chunk_size, progress=progress, read_ahead=True)


def import_records(client, tenant: Tenant | tuple[Any, Any], records: Iterable[Mapping[str, Any]], *,
                   mappings: Iterable[Mapping[str, Any]] | Mapping[str, str] = (),
                   field_defaults: Mapping[str, Any] | None = None, profile: str | None = None,
                   import_name: str = "import", import_type: str = "records", filename: str | None = None,
                   source_system: str | None = None, imported_by: UUID | str | None = None,
                   on_match: str = "refresh", chunk_size: int = DEFAULT_CHUNK_SIZE,
                   progress: Callable[[int], Any] | None = None, read_ahead: bool = False) -> ImportRun:
    """The pipeline on rows (dicts): import, flow, mappings, rows, assets.

    The flow starts before the rows arrive, so that each record carries its
    master flow from its insert, and the mappings are set before the rows,
    so that nothing is cleansed with the wrong ones: after loading, each
    record is written once, by the call that cleanses, identifies and links it.
    ``read_ahead`` iterates ``records`` in a worker thread, a chunk ahead of
    the calls (``DiscoveryClient.add_raw_records``); :func:`run_import` sets
    it for the file it reads.
    """
    if on_match not in ON_MATCH:
        raise ValueError(f"on_match must be one of {', '.join(ON_MATCH)}")
    tenant = Tenant(*tenant)
    data_import_id = client.create_data_import(tenant, import_name=import_name, import_type=import_type,
                                               filename=filename, imported_by=imported_by,
                                               source_system=source_system)
    flow = client.start_discovery_flow(tenant, data_import_id, flow_name=f"import of {import_name}")
    mappings = normalize_mappings(mappings)
    if mappings or field_defaults or profile:
        client.set_field_mappings(tenant, data_import_id, mappings,
                                  field_defaults=dict(field_defaults) if field_defaults else None, profile=profile)
    ahead = {"read_ahead": True} if read_ahead else {}  # a client of its own need not know the keyword
    loaded = client.add_raw_records(tenant, data_import_id, records, chunk_size=chunk_size, progress=progress, **ahead)
    result = client.create_assets_from_discovery(tenant, flow.discovery_flow_id, on_match=on_match)
    conflict_ids = pending_conflict_ids(client, tenant, flow.discovery_flow_id) if result.conflicts else []
    return ImportRun(tenant, data_import_id, flow, loaded, result, conflict_ids)


def pending_conflict_ids(client, tenant: Tenant, flow_id: UUID) -> list[UUID]:
    """The IDs of a flow's pending conflicts, through the API (as a backend holding
    only discovery_app finds them)."""
    ids: list[UUID] = []
    page = 1
    while True:
        found = client.list_conflicts(tenant, flow_id=flow_id, status="pending", page=page, page_size=200)
        ids.extend(c.id for c in found.conflicts)
        if not found.has_next:
            return ids
        page += 1


def preview(client, tenant: Tenant, run: ImportRun, limit: int = 10) -> list[dict[str, Any]]:
    """The first ``limit`` records of the run as the assets they became: row,
    outcome, and the cleansed fields (what the asset holds, or would hold)."""
    page = client.list_raw_records(tenant, data_import_id=run.data_import_id, page_size=limit)
    return [{"row_number": r["row_number"], "outcome": r.outcome, "asset_id": r.asset_id,
             "fields": r.get("cleansed_data") or {},
             "warnings": [w for w in (r.get("validation_errors") or []) if isinstance(w, dict)]}
            for r in page.records]
