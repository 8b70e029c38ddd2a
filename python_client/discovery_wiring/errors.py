"""Exceptions raised by the client: one class per SQLSTATE of class ``WR``.

The server's error is mapped by its SQLSTATE, whatever the driver (psycopg,
or asyncpg / psycopg under SQLAlchemy, whose wrappers are unwrapped). The
original exception stays available as ``__cause__``.
"""

from __future__ import annotations

from typing import Any


class DiscoveryError(Exception):
    """An error raised by a ``discovery`` API function.

    ``sqlstate``, ``detail`` (names the offending value) and ``hint`` come from
    the server; ``message`` is its primary message; ``title`` is what the code
    means (DESIGN.md, "Errors"), the same for every error of the class.
    """

    sqlstate: str | None = None
    title: str = "Discovery API error"

    def __init__(self, message: str, *, sqlstate: str | None = None,
                 detail: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if sqlstate is not None:
            self.sqlstate = sqlstate
        self.detail = detail
        self.hint = hint

    def __str__(self) -> str:
        text = f"[{self.sqlstate}] {self.message}"
        if self.detail:
            text += f"\nDETAIL: {self.detail}"
        if self.hint:
            text += f"\nHINT: {self.hint}"
        return text


class UnknownTenant(DiscoveryError):
    """WR001: client account and engagement are not registered together."""
    sqlstate = "WR001"
    title = "Unknown tenant"


class FlowNotFound(DiscoveryError):
    """WR002: flow not found in this tenant (or an ID of the wrong kind)."""
    sqlstate = "WR002"
    title = "Flow not found in this tenant"


class DataImportNotFound(DiscoveryError):
    """WR003: data import not found in this tenant."""
    sqlstate = "WR003"
    title = "Data import not found in this tenant"


class RecordNotInFlow(DiscoveryError):
    """WR004: a raw record is not part of this flow's import."""
    sqlstate = "WR004"
    title = "Raw record not part of this flow's import"


class MalformedPayload(DiscoveryError):
    """WR005: malformed payload (not an array, missing key, wrong type, bad UUID, too large)."""
    sqlstate = "WR005"
    title = "Malformed payload"


class InvalidArgument(DiscoveryError):
    """WR006: invalid argument (page < 1, unknown action, ...)."""
    sqlstate = "WR006"
    title = "Invalid argument"


class ConflictNotFound(DiscoveryError):
    """WR007: conflict not found or already resolved."""
    sqlstate = "WR007"
    title = "Conflict not found or already resolved"


class FlowStateForbids(DiscoveryError):
    """WR008: the flow's state forbids the call."""
    sqlstate = "WR008"
    title = "The flow's state forbids the call"


class AssetNotFound(DiscoveryError):
    """WR009: asset not found in this tenant."""
    sqlstate = "WR009"
    title = "Asset not found in this tenant"


ERROR_CLASSES: dict[str, type[DiscoveryError]] = {
    cls.sqlstate: cls
    for cls in (UnknownTenant, FlowNotFound, DataImportNotFound, RecordNotInFlow,
                MalformedPayload, InvalidArgument, ConflictNotFound, FlowStateForbids, AssetNotFound)
}


def _server_error(exc: BaseException) -> Any | None:
    """Find the driver's server error inside ``exc``: SQLAlchemy wraps it in
    ``.orig``, and its asyncpg adapter adds a layer of its own (with a
    ``sqlstate`` but without DETAIL and HINT), so the error that carries the
    diagnostics (psycopg's ``diag``, asyncpg's ``hint``) is preferred."""
    seen: set[int] = set()
    todo: list[Any] = [exc]
    found = None
    while todo:
        err = todo.pop(0)
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(getattr(err, "sqlstate", None), str):
            if hasattr(err, "diag") or hasattr(err, "hint"):
                return err
            found = found or err
        todo.extend([getattr(err, "orig", None), err.__cause__, err.__context__])
    return found


def translate(exc: BaseException) -> DiscoveryError | None:
    """The :class:`DiscoveryError` for a driver exception raised by the API,
    or None when it is not an API error (SQLSTATE outside class WR)."""
    err = _server_error(exc)
    if err is None:
        return None
    sqlstate: str = err.sqlstate
    if not sqlstate.startswith("WR"):
        return None
    diag = getattr(err, "diag", None)
    if diag is not None:  # psycopg
        message = diag.message_primary or str(err)
        detail, hint = diag.message_detail, diag.message_hint
    else:  # asyncpg
        message = getattr(err, "message", None) or str(err)
        detail, hint = getattr(err, "detail", None), getattr(err, "hint", None)
    cls = ERROR_CLASSES.get(sqlstate, DiscoveryError)
    return cls(message, sqlstate=sqlstate, detail=detail, hint=hint)


class mapped_errors:
    """Context manager: re-raise an API error of the driver as its
    :class:`DiscoveryError` subclass (the driver's error as ``__cause__``)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is not None and isinstance(exc, Exception):
            error = translate(exc)
            if error is not None:
                raise error from exc
        return False
