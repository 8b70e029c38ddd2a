"""The HTTP surface of the API: a FastAPI ``APIRouter`` a backend includes in its app.

Every endpoint runs in one transaction on one pooled connection, taken from
the pool for that request and committed before the response is built (a
failed commit is an error response, never a silent 200); an error rolls it
back. The tenant comes from :func:`get_tenant` (the ``X-Client-Account-Id``
and ``X-Engagement-Id`` headers unless the host app overrides it), the pool
from :func:`get_pool` (the one :func:`pool_lifespan` opened, unless the host
app overrides it). API errors are problem responses (:mod:`.problems`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, ConfigDict, Field, create_model
from starlette.responses import Response

from .. import db
from ..client import AsyncDiscoveryClient
from ..errors import DiscoveryError
from ..results import CONFLICT_ACTIONS, HEALTH_KEYS, UNDO_COUNTS, Tenant
from .problems import (
    PROBLEM_MEDIA_TYPE,
    PROBLEM_STATUS,
    api_error_problem,
    validation_problem,
)

POOL_STATE = "discovery_wiring_pool"  # the attribute of app.state that holds the pool


# -- tenant and pool: the two dependencies a host app overrides --------------------------------

async def get_tenant(
    x_client_account_id: Annotated[UUID, Header(description="The tenant's client account ID.")],
    x_engagement_id: Annotated[UUID, Header(description="The tenant's engagement ID.")],
) -> Tenant:
    """The request's tenant, from the ``X-Client-Account-Id`` and
    ``X-Engagement-Id`` headers (a 422 problem when one is missing or not a
    UUID). A host app that knows the tenant otherwise (a token, a session)
    overrides it: ``app.dependency_overrides[get_tenant] = my_tenant``."""
    return Tenant(x_client_account_id, x_engagement_id)


def create_pool(conninfo: str | None = None, **kwargs: Any) -> AsyncConnectionPool:
    """The default pool factory: an unopened ``AsyncConnectionPool`` on
    ``conninfo``, else ``DISCOVERY_DATABASE_URL``, else the embedded
    PostgreSQL. ``kwargs`` go to the pool (min_size 1, max_size 10 unless given)."""
    options: dict[str, Any] = {"min_size": 1, "max_size": 10, "name": "discovery-wiring", **kwargs}
    return AsyncConnectionPool(conninfo or db.database_url(), open=False, **options)


@asynccontextmanager
async def pool_lifespan(app: Any, factory: Callable[[], AsyncConnectionPool] = create_pool) -> AsyncIterator[None]:
    """Open the pool ``factory()`` makes for the app's lifetime (as
    ``app.state.discovery_wiring_pool``, which :func:`get_pool` returns) and
    close it at shutdown. Use it inside the host app's lifespan."""
    pool = factory()
    await pool.open(wait=True)
    setattr(app.state, POOL_STATE, pool)
    try:
        yield
    finally:
        delattr(app.state, POOL_STATE)
        await pool.close()


async def get_pool(request: Request) -> AsyncConnectionPool:
    """The pool the router's connections come from: the one :func:`pool_lifespan`
    opened. A host app with a pool of its own overrides this dependency."""
    pool = getattr(request.app.state, POOL_STATE, None)
    if pool is None:
        raise RuntimeError("discovery_wiring.http has no connection pool: open one with pool_lifespan(app) in the "
                           "app's lifespan, or override the get_pool dependency")
    return pool


TenantDep = Annotated[Tenant, Depends(get_tenant)]
PoolDep = Annotated[AsyncConnectionPool, Depends(get_pool)]


@asynccontextmanager
async def _transaction(pool: AsyncConnectionPool) -> AsyncIterator[AsyncDiscoveryClient]:
    """The request's unit of work: one pooled connection, one transaction,
    committed when the block ends without error, else rolled back."""
    async with pool.connection() as conn:
        yield AsyncDiscoveryClient(conn)


# -- errors as problem responses ----------------------------------------------------------------

class _ProblemRoute(APIRoute):
    """Turns API errors and request validation errors into problem responses
    within the router itself, so that a host app needs no exception handler."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def problem_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except DiscoveryError as exc:
                return api_error_problem(exc, instance=request.url.path)
            except RequestValidationError as exc:
                return validation_problem(exc, instance=request.url.path)
        return problem_handler


class Problem(BaseModel):
    """An RFC 9457 problem document (``application/problem+json``)."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(examples=["urn:discovery-wiring:problem:WR007"])
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    hint: str | None = None
    sqlstate: str | None = Field(default=None, examples=["WR007"])


def _problems(*sqlstates: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of an endpoint that may raise ``sqlstates`` (WR001 and validation always)."""
    by_status: dict[int, list[str]] = {}
    for code in ("WR001", *sqlstates):
        by_status.setdefault(PROBLEM_STATUS[code], []).append(code)
    by_status.setdefault(422, []).append("request validation")
    schema = Problem.model_json_schema()
    return {status: {"description": ", ".join(codes), "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}}}
            for status, codes in sorted(by_status.items())}


# -- response documents ---------------------------------------------------------------------------

class Pagination(BaseModel):
    page: int
    page_size: int
    total_count: int
    total_pages: int
    has_next: bool
    has_prev: bool


class PageMetadata(BaseModel):
    page_size_capped: bool
    max_page_size: int


class TenantIds(BaseModel):
    client_account_id: UUID
    engagement_id: UUID


class ImportQuality(BaseModel):
    records_invalid: int
    records_with_warnings: int
    conflicts_pending: int
    unmapped_columns: int


WiringHealthDocument = create_model(
    "WiringHealthDocument",
    __doc__="The wiring_health document: the ten gap counts, health_status, raw_records_pending, tenant, "
            "import_quality, and with ?detail=true up to 10 sample IDs per count.",
    **dict.fromkeys(HEALTH_KEYS, (int, ...)),
    health_status=(Literal["healthy", "unhealthy"], ...),
    raw_records_pending=(int, ...),
    tenant=(TenantIds, ...),
    import_quality=(ImportQuality, ...),
    samples=(dict[str, list[UUID]] | None, None),
)

UndoDocument = create_model(
    "UndoDocument",
    __doc__="What undo_import did (or, in a dry run, would do).",
    dry_run=(bool, ...),
    **dict.fromkeys(UNDO_COUNTS, (int, ...)),
)


class AssetPageDocument(BaseModel):
    """A page of live assets, newest first (list_assets)."""

    assets: list[dict[str, Any]]
    pagination: Pagination
    metadata: PageMetadata
    filters: dict[str, Any]


class ConflictPageDocument(BaseModel):
    """A page of conflicts, oldest first, each with its candidate assets (list_conflicts)."""

    conflicts: list[dict[str, Any]]
    pagination: Pagination
    metadata: PageMetadata
    filters: dict[str, Any]


class ImportPageDocument(BaseModel):
    """A page of data imports, newest first, with status and outcome counts (list_data_imports)."""

    imports: list[dict[str, Any]]
    pagination: Pagination
    metadata: PageMetadata


class AssetDocument(BaseModel):
    """One asset, its lineage, the raw records linked to it and its change history (get_asset)."""

    asset: dict[str, Any]
    lineage: dict[str, Any]
    records: list[dict[str, Any]]
    records_truncated: bool
    changes: list[dict[str, Any]]
    changes_truncated: bool


class ResolveRequest(BaseModel):
    action: Literal[CONFLICT_ACTIONS]  # type: ignore[valid-type]
    merge_fields: list[str] | None = Field(default=None, description="The fields to copy, with action merge.")


class ResolveDocument(BaseModel):
    conflict_id: UUID
    action: str
    asset_id: UUID = Field(description="The asset the conflict's raw record is now linked to.")


# -- the endpoints ----------------------------------------------------------------------------------

router = APIRouter(route_class=_ProblemRoute, tags=["discovery-wiring"])

Page = Annotated[int, Query(description="Pages are numbered from 1.")]
PageSize = Annotated[int, Query(description="At most 200 (larger sizes are capped).")]
AnyFlowId = Annotated[UUID | None, Query(description="Any flow ID: discovery flow, flow or master flow.")]


@router.get("/health/wiring", response_model=WiringHealthDocument, response_model_exclude_none=True,
            responses=_problems())
async def wiring_health(tenant: TenantDep, pool: PoolDep, detail: bool = False) -> dict[str, Any]:
    """The tenant's wiring health; healthy when the ten gap counts are zero."""
    async with _transaction(pool) as client:
        return await client.wiring_health(tenant, detail=detail)


@router.get("/unified-discovery/assets", response_model=AssetPageDocument, responses=_problems("WR002", "WR006"))
async def list_assets(tenant: TenantDep, pool: PoolDep, flow_id: AnyFlowId = None, page: Page = 1,
                      page_size: PageSize = 50) -> dict[str, Any]:
    """The tenant's live assets, or one flow's (``flow_id``: any flow ID), a page at a time."""
    async with _transaction(pool) as client:
        return (await client.list_assets(tenant, flow_id=flow_id, page=page, page_size=page_size)).raw


@router.get("/conflicts", response_model=ConflictPageDocument, responses=_problems("WR002", "WR006"))
async def list_conflicts(tenant: TenantDep, pool: PoolDep, flow_id: AnyFlowId = None,
                         status: Literal["pending", "resolved", "all"] = "pending", page: Page = 1,
                         page_size: PageSize = 50) -> dict[str, Any]:
    """Conflicts (pending by default), oldest first, each with its candidate assets side by side."""
    async with _transaction(pool) as client:
        return (await client.list_conflicts(tenant, flow_id=flow_id, status=status, page=page,
                                            page_size=page_size)).raw


@router.post("/conflicts/{conflict_id}/resolve", response_model=ResolveDocument,
             responses=_problems("WR005", "WR006", "WR007", "WR008"))
async def resolve_conflict(conflict_id: UUID, body: Annotated[ResolveRequest, Body()], tenant: TenantDep,
                           pool: PoolDep) -> dict[str, Any]:
    """Resolve a pending conflict (keep_existing, replace_with_new, merge with
    ``merge_fields``, or create_new) and link its raw record."""
    async with _transaction(pool) as client:
        asset_id = await client.resolve_asset_conflict(tenant, conflict_id, body.action,
                                                       merge_fields=body.merge_fields)
    return {"conflict_id": conflict_id, "action": body.action, "asset_id": asset_id}


@router.get("/imports", response_model=ImportPageDocument, responses=_problems("WR006"))
async def list_imports(tenant: TenantDep, pool: PoolDep, page: Page = 1, page_size: PageSize = 50) -> dict[str, Any]:
    """Data imports, newest first, each with its status, outcome counts and flow IDs."""
    async with _transaction(pool) as client:
        return (await client.list_data_imports(tenant, page=page, page_size=page_size)).raw


@router.post("/imports/{data_import_id}/undo", response_model=UndoDocument, responses=_problems("WR003", "WR008"))
async def undo_import(data_import_id: UUID, tenant: TenantDep, pool: PoolDep,
                      apply: Annotated[bool, Query(description="false (the default): a dry run that writes "
                                                               "nothing and returns the same counts.")] = False,
                      ) -> dict[str, Any]:
    """Take an import back (a dry run unless ``apply=true``)."""
    async with _transaction(pool) as client:
        return await client.undo_import(tenant, data_import_id, dry_run=not apply)


@router.get("/assets/{asset_id}", response_model=AssetDocument, responses=_problems("WR009"))
async def get_asset(asset_id: UUID, tenant: TenantDep, pool: PoolDep) -> dict[str, Any]:
    """One asset (soft-deleted ones too) with its lineage, raw records and change history."""
    async with _transaction(pool) as client:
        return await client.get_asset(tenant, asset_id)
