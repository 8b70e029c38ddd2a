"""Sync and async clients over psycopg 3.

Both share :class:`_Api`: each API method is written once and forwards to
``self._call(call, tenant, **arguments)``, which the sync client runs at once
and the async client returns as a coroutine (so ``await client.method(...)``).
The SQL and the result types live in :mod:`discovery_wiring.calls`.

The client borrows the caller's connection and never commits, rolls back or
opens a transaction of its own: with ``autocommit`` off every call joins the
caller's transaction. An API error is raised as the
:class:`~discovery_wiring.errors.DiscoveryError` subclass of its SQLSTATE;
as with any server error, the caller's transaction is then aborted (use a
savepoint, e.g. ``with conn.transaction():``, to carry on after one).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable
from contextlib import closing
from pathlib import Path
from typing import Any
from uuid import UUID

from psycopg.rows import dict_row

from . import calls as C
from .calls import MAX_PAYLOAD, normalize_mappings
from .errors import mapped_errors
from .loading import achunked, iter_records, prepared_chunks
from .results import Tenant

DEFAULT_CHUNK_SIZE = 5_000

ProgressCallback = Callable[[int], Any]  # called with the rows sent by each chunk


def _check_chunk_size(chunk_size: int) -> int:
    if not 1 <= chunk_size <= MAX_PAYLOAD:
        raise ValueError(f"chunk_size must be between 1 and {MAX_PAYLOAD}")
    return chunk_size


class _Api:
    """The API methods, shared by every client. ``tenant`` is a
    :class:`Tenant` or any ``(client_account_id, engagement_id)`` pair."""

    def _call(self, call: C.Call, tenant: Tenant | tuple[Any, Any], **arguments: Any) -> Any:
        raise NotImplementedError

    def register_tenant(self, tenant, client_name: str, engagement_name: str):
        """Create the client account and engagement (idempotent). Returns None."""
        return self._call(C.REGISTER_TENANT, tenant, client_name=client_name, engagement_name=engagement_name)

    def create_data_import(self, tenant, import_name: str, import_type: str, filename: str,
                           imported_by: UUID | str | None = None, source_system: str | None = None):
        """A new data import; returns its UUID."""
        return self._call(C.CREATE_DATA_IMPORT, tenant, import_name=import_name, import_type=import_type,
                          filename=filename, imported_by=imported_by, source_system=source_system)

    def add_raw_records_batch(self, tenant, data_import_id, records):
        """One ``add_raw_records`` call with ``records`` as one payload (a list,
        or JSON text sent as is). Returns the number of rows added."""
        return self._call(C.ADD_RAW_RECORDS, tenant, data_import_id=data_import_id, records=records)

    def start_discovery_flow(self, tenant, data_import_id, flow_name: str | None = None,
                             user_id: str | None = None):
        """Master flow + discovery flow for the import; returns :class:`FlowIds`."""
        return self._call(C.START_DISCOVERY_FLOW, tenant, data_import_id=data_import_id,
                          flow_name=flow_name, user_id=user_id)

    def suggest_field_mappings(self, tenant, data_import_id):
        """A list of :class:`FieldMappingSuggestion`."""
        return self._call(C.SUGGEST_FIELD_MAPPINGS, tenant, data_import_id=data_import_id)

    def set_field_mappings(self, tenant, data_import_id, mappings, field_defaults=None, profile: str | None = None):
        """Upsert mappings: a list of ``{source_field, target_field[, status,
        confidence_score, unit, priority, value_key]}``, a ``{source: target}``
        dict, or suggestions; optionally the import's field defaults and source
        profile. Returns the count."""
        if not isinstance(mappings, (str, bytes)):
            mappings = normalize_mappings(mappings)
        return self._call(C.SET_FIELD_MAPPINGS, tenant, data_import_id=data_import_id, mappings=mappings,
                          field_defaults=field_defaults, profile=profile)

    def cleanse_records(self, tenant, discovery_flow_id):
        """Server-side cleansing; returns :class:`CleanseResult`."""
        return self._call(C.CLEANSE_RECORDS, tenant, discovery_flow_id=discovery_flow_id)

    def persist_cleansed_data(self, tenant, discovery_flow_id, cleansed):
        """Store cleansing computed elsewhere; returns the count."""
        return self._call(C.PERSIST_CLEANSED_DATA, tenant, discovery_flow_id=discovery_flow_id,
                          cleansed=cleansed)

    def create_assets_from_discovery(self, tenant, discovery_flow_id, assets=None, dry_run: bool = False,
                                     on_match: str = "refresh"):
        """Create and link assets; ``on_match`` (refresh, fill_empty, keep) says what a
        matched record does to its asset. Returns :class:`AssetRunResult`."""
        return self._call(C.CREATE_ASSETS_FROM_DISCOVERY, tenant, discovery_flow_id=discovery_flow_id,
                          assets=assets, dry_run=dry_run, on_match=on_match)

    def resolve_asset_conflict(self, tenant, conflict_id, action: str, merge_fields=None):
        """Resolve a pending conflict and link its raw record; returns the UUID of
        the asset it is linked to. ``action`` is one of :data:`~discovery_wiring.results.CONFLICT_ACTIONS`:
        ``keep_existing``, ``replace_with_new`` (the new data's non-identity
        fields), ``merge`` (only ``merge_fields``, a list of field names) or
        ``create_new`` (the record becomes its own, new asset)."""
        return self._call(C.RESOLVE_ASSET_CONFLICT, tenant, conflict_id=conflict_id, action=action,
                          merge_fields=merge_fields)

    def list_conflicts(self, tenant, flow_id=None, status: str | None = "pending", page: int = 1,
                       page_size: int = 50):
        """One page of the tenant's conflicts, oldest first: :class:`ConflictPage`.
        ``status`` is ``pending`` (the default), ``resolved``, or ``all`` / None
        for both; ``flow_id`` (any flow ID) keeps one flow's. Each conflict lists
        its candidate assets side by side (``candidates``)."""
        return self._call(C.LIST_CONFLICTS, tenant, flow_id=flow_id, status=None if status == "all" else status,
                          page=page, page_size=page_size)

    def list_raw_records(self, tenant, data_import_id=None, flow_id=None, outcome: str | None = None,
                         page: int = 1, page_size: int = 50):
        """One page of raw records, by import then row_number: :class:`RawRecordPage`.
        Filters: one import, one flow's import (any flow ID), one outcome
        (pending, created, matched, conflict, invalid, discarded). Each record
        carries its raw and cleansed data and its ID, as ``persist_cleansed_data``
        and ``create_assets_from_discovery(assets=...)`` take it."""
        return self._call(C.LIST_RAW_RECORDS, tenant, data_import_id=data_import_id, flow_id=flow_id,
                          outcome=outcome, page=page, page_size=page_size)

    def list_data_imports(self, tenant, page: int = 1, page_size: int = 50):
        """One page of the tenant's imports, newest first, each with its status,
        outcome counts and flow IDs: :class:`DataImportPage`."""
        return self._call(C.LIST_DATA_IMPORTS, tenant, page=page, page_size=page_size)

    def get_asset(self, tenant, asset_id):
        """One asset with its lineage, linked records and change history:
        :class:`AssetDetail`. Raises :class:`AssetNotFound` (WR009) for an ID
        that is no asset of the tenant."""
        return self._call(C.GET_ASSET, tenant, asset_id=asset_id)

    def undo_import(self, tenant, data_import_id, dry_run: bool = True):
        """Take an import back: its created assets soft-deleted, the changes its
        runs made reverted where nobody changed the field since, its records
        discarded, its pending conflicts closed. A dry run (the default) writes
        nothing and returns exactly the counts applying would give:
        :class:`UndoReport`. An import already undone is WR008."""
        return self._call(C.UNDO_IMPORT, tenant, data_import_id=data_import_id, dry_run=dry_run)

    def add_raw_records_bulk(self, tenant, data_import_id, records):
        """One ``add_raw_records_bulk`` call: ``records`` is a list (at most
        50,000) of dicts or JSON texts, sent as one jsonb[] parameter. Same rules
        as ``add_raw_records``; returns the number of rows added."""
        return self._call(C.ADD_RAW_RECORDS_BULK, tenant, data_import_id=data_import_id, records=records)

    def list_assets(self, tenant, flow_id=None, page: int = 1, page_size: int = 50,
                    asset_type: str | None = None, status: str | None = None):
        """One page of assets: :class:`AssetPage`."""
        return self._call(C.LIST_ASSETS, tenant, flow_id=flow_id, page=page, page_size=page_size,
                          asset_type=asset_type, status=status)

    def wiring_health(self, tenant, detail: bool = False):
        """The tenant's wiring health: :class:`WiringHealth` (a dict)."""
        return self._call(C.WIRING_HEALTH, tenant, detail=detail)

    def repair_wiring(self, tenant, dry_run: bool = True):
        """Repair what older code left unwired: :class:`RepairReport` (a dict)."""
        return self._call(C.REPAIR_WIRING, tenant, dry_run=dry_run)

    def resolve_flow(self, tenant, any_flow_id):
        """Map any flow ID to :class:`FlowIds`."""
        return self._call(C.RESOLVE_FLOW, tenant, any_flow_id=any_flow_id)


class _SyncApi(_Api):
    """Bulk loading for the synchronous clients."""

    def add_raw_records(self, tenant, data_import_id, records: Iterable[dict[str, Any]], *,
                        chunk_size: int = DEFAULT_CHUNK_SIZE, progress: ProgressCallback | None = None,
                        read_ahead: bool = False) -> int:
        """Append ``records`` (any iterable, consumed lazily) in calls of at
        most ``chunk_size`` rows; ``progress`` is called after each chunk with
        its row count. Returns the number of rows added.

        With ``read_ahead`` the next chunk is read and encoded as JSON in a
        worker thread while the server takes this one
        (:func:`~discovery_wiring.loading.prepared_chunks`): ``records`` is
        then iterated in that thread, at most one chunk ahead of the calls, so
        it must not be tied to the caller's thread (a sqlite3 cursor is).
        :meth:`load_file` and the pipeline's files use it."""
        total = 0
        with closing(prepared_chunks(records, _check_chunk_size(chunk_size), C.to_json_text,
                                     read_ahead=read_ahead)) as chunks:
            for count, payload in chunks:
                total += self.add_raw_records_batch(tenant, data_import_id, payload)
                if progress:
                    progress(count)
        return total

    def load_file(self, tenant, data_import_id, path: str | Path, *, chunk_size: int = DEFAULT_CHUNK_SIZE,
                  progress: ProgressCallback | None = None) -> int:
        """Stream a CSV / JSON / JSON Lines file into the import (see
        :mod:`loading`), the next chunk read while one is sent."""
        return self.add_raw_records(tenant, data_import_id, iter_records(path), chunk_size=chunk_size,
                                    progress=progress, read_ahead=True)


class _AsyncApi(_Api):
    """Bulk loading for the asynchronous clients."""

    async def add_raw_records(self, tenant, data_import_id,
                              records: Iterable[dict[str, Any]] | AsyncIterable[dict[str, Any]], *,
                              chunk_size: int = DEFAULT_CHUNK_SIZE,
                              progress: ProgressCallback | None = None) -> int:
        """Async :meth:`DiscoveryClient.add_raw_records` (sync or async iterable)."""
        total = 0
        async for chunk in achunked(records, _check_chunk_size(chunk_size)):
            total += await self.add_raw_records_batch(tenant, data_import_id, chunk)
            if progress:
                progress(len(chunk))
        return total

    async def load_file(self, tenant, data_import_id, path: str | Path, *,
                        chunk_size: int = DEFAULT_CHUNK_SIZE, progress: ProgressCallback | None = None) -> int:
        """Async :meth:`DiscoveryClient.load_file`."""
        return await self.add_raw_records(tenant, data_import_id, iter_records(path), chunk_size=chunk_size,
                                          progress=progress)


class DiscoveryClient(_SyncApi):
    """Synchronous client on a borrowed ``psycopg.Connection``."""

    def __init__(self, conn) -> None:
        self.conn = conn

    def _call(self, call, tenant, **arguments):
        sql, params = call.sql("pyformat"), call.bind(tenant, arguments)
        with mapped_errors(), self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(sql, params)
            rows = cur.fetchall() if cur.description else []
        return call.decode(rows)


class AsyncDiscoveryClient(_AsyncApi):
    """Asynchronous client on a borrowed ``psycopg.AsyncConnection``: every
    method returns a coroutine."""

    def __init__(self, aconn) -> None:
        self.conn = aconn

    async def _call(self, call, tenant, **arguments):
        sql, params = call.sql("pyformat"), call.bind(tenant, arguments)
        with mapped_errors():
            async with self.conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(sql, params)
                rows = await cur.fetchall() if cur.description else []
        return call.decode(rows)
