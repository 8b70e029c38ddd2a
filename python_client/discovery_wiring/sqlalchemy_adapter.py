"""The same API through SQLAlchemy: a sync ``Session``/``Connection`` or an
``AsyncSession``/``AsyncConnection``, whatever the driver (psycopg, asyncpg).

Statements run as ``session.execute(text(...), params)`` with ``:p_x``
placeholders and ``CAST(:p_x AS type)``; the session's transaction is the
caller's (nothing is committed here).
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import TextClause, text

from .calls import Call
from .client import _AsyncApi, _SyncApi
from .errors import mapped_errors


@cache
def _statement(call: Call) -> TextClause:
    return text(call.sql("named"))


class SQLAlchemyDiscoveryClient(_SyncApi):
    """Client on a borrowed SQLAlchemy ``Session`` or ``Connection``."""

    def __init__(self, session) -> None:
        self.session = session

    def _call(self, call, tenant, **arguments):
        with mapped_errors():
            result = self.session.execute(_statement(call), call.bind(tenant, arguments))
            rows = result.mappings().all() if result.returns_rows else []
        return call.decode(rows)


class AsyncSQLAlchemyDiscoveryClient(_AsyncApi):
    """Client on a borrowed SQLAlchemy ``AsyncSession`` or ``AsyncConnection``:
    every method returns a coroutine."""

    def __init__(self, session) -> None:
        self.session = session

    async def _call(self, call, tenant, **arguments):
        with mapped_errors():
            result = await self.session.execute(_statement(call), call.bind(tenant, arguments))
            rows = result.mappings().all() if result.returns_rows else []
        return call.decode(rows)
