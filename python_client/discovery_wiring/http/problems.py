"""API errors as HTTP problem responses (RFC 9457, ``application/problem+json``).

An error of the ``discovery`` API becomes a problem document whose ``type``
names its SQLSTATE (``urn:discovery-wiring:problem:WR007``), with ``title``
(what the code means), ``status``, ``detail`` (the server's message and its
DETAIL), and the extension members ``hint`` and ``sqlstate``. The status of
each code:

======================  ======  ==========================================
WR001                   404     unknown tenant: the tenant the request names
                                is not registered. 404 rather than 403: who
                                may act for a tenant is the host app's
                                decision (its tenant dependency); to this
                                router an unregistered tenant is one that
                                does not exist.
WR002, WR003, WR007,    404     flow, import, conflict (or a conflict already
WR009                           resolved) or asset not found in this tenant
WR004, WR005, WR006     422     the request's content is wrong
WR008                   409     the state of the flow or import forbids it
======================  ======  ==========================================

A request that fails validation (a missing or malformed tenant header, a
path or query value of the wrong type, a bad body) is a 422 problem with the
validation ``errors``.
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ..errors import DiscoveryError

PROBLEM_MEDIA_TYPE = "application/problem+json"

PROBLEM_STATUS: dict[str, int] = {
    "WR001": 404,
    "WR002": 404,
    "WR003": 404,
    "WR004": 422,
    "WR005": 422,
    "WR006": 422,
    "WR007": 404,
    "WR008": 409,
    "WR009": 404,
}


def problem_type(sqlstate: str) -> str:
    return f"urn:discovery-wiring:problem:{sqlstate}"


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


def problem(status: int, title: str, detail: str | None = None, *, type_: str = "about:blank",
            instance: str | None = None, **extensions: Any) -> ProblemResponse:
    """A problem response; members that are None are left out."""
    body = {"type": type_, "title": title, "status": status, "detail": detail, "instance": instance, **extensions}
    return ProblemResponse({k: v for k, v in body.items() if v is not None}, status_code=status)


def api_error_problem(exc: DiscoveryError, instance: str | None = None) -> ProblemResponse:
    """The problem response of an API error (see the module's table)."""
    sqlstate = exc.sqlstate or "WR000"
    detail = f"{exc.message}: {exc.detail}" if exc.detail else exc.message
    return problem(PROBLEM_STATUS.get(sqlstate, 500), exc.title, detail, type_=problem_type(sqlstate),
                   instance=instance, hint=exc.hint, sqlstate=sqlstate)


def validation_problem(exc: RequestValidationError, instance: str | None = None) -> ProblemResponse:
    """The 422 problem response of a request that failed validation."""
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()]
    detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
    return problem(422, "Request validation failed", detail, instance=instance, errors=errors)
