"""The HTTP surface (``pip install 'discovery-wiring[http]'``): a FastAPI
router for a backend to include in its own app, and the standalone app of
``discovery-wiring serve``.

>>> from contextlib import asynccontextmanager
>>> from fastapi import FastAPI
>>> from discovery_wiring.http import get_tenant, pool_lifespan, router
>>> @asynccontextmanager
... async def lifespan(app):
...     async with pool_lifespan(app):       # or pool_lifespan(app, my_pool_factory)
...         yield
>>> app = FastAPI(lifespan=lifespan)
>>> app.include_router(router, prefix="/discovery")
>>> app.dependency_overrides[get_tenant] = tenant_from_my_auth   # doctest: +SKIP

Endpoints (relative to the prefix): ``GET /health/wiring``,
``GET /unified-discovery/assets``, ``GET /conflicts``,
``POST /conflicts/{id}/resolve``, ``GET /imports``,
``POST /imports/{id}/undo``, ``GET /assets/{id}``. Errors are RFC 9457
problem responses (:mod:`discovery_wiring.http.problems`).
"""

from .app import create_app, inventory_page
from .problems import PROBLEM_STATUS, api_error_problem
from .router import create_pool, get_pool, get_tenant, pool_lifespan, router

__all__ = ["PROBLEM_STATUS", "api_error_problem", "create_app", "create_pool", "get_pool", "get_tenant",
           "inventory_page", "pool_lifespan", "router"]
