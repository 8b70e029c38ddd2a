"""The standalone app of ``discovery-wiring serve``: the router at the root
and, at ``/``, a small inventory page (plain HTML and a little JavaScript that
reads the router's JSON endpoints) for one tenant."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.resources import files

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from psycopg_pool import AsyncConnectionPool

from ..results import Tenant
from .router import create_pool, pool_lifespan, router


def inventory_page(tenant: Tenant | None = None) -> str:
    """The page's HTML, its tenant fields filled with ``tenant`` (editable on the page)."""
    text = (files(__package__) / "static" / "index.html").read_text(encoding="utf-8")
    client_account_id, engagement_id = tenant if tenant else ("", "")
    return (text.replace("__CLIENT_ACCOUNT_ID__", html.escape(str(client_account_id)))
                .replace("__ENGAGEMENT_ID__", html.escape(str(engagement_id))))


def create_app(database_url: str | None = None, tenant: Tenant | None = None, *,
               pool_factory: Callable[[], AsyncConnectionPool] | None = None) -> FastAPI:
    """A FastAPI app serving the router and the inventory page. Its pool comes
    from ``pool_factory`` (default: :func:`create_pool` on ``database_url``,
    else ``DISCOVERY_DATABASE_URL``, else the embedded PostgreSQL), opened at
    startup and closed at shutdown; ``tenant`` is the one the page shows first."""
    factory = pool_factory or (lambda: create_pool(database_url))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with pool_lifespan(app, factory):
            yield

    app = FastAPI(title="discovery-wiring", summary="Raw inventory records wired to assets", lifespan=lifespan)
    app.include_router(router)
    page = inventory_page(tenant)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> str:
        return page

    return app
