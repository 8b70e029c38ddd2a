"""The API calls, each defined once: SQL text, parameter casts, result type.

Every call is rendered with named arguments (``discovery.f(p_x => ...)``) and
an explicit ``CAST`` on every parameter, so the same definition runs on
psycopg (``%(p_x)s`` placeholders) and through SQLAlchemy ``text()`` (``:p_x``
placeholders) with either psycopg or asyncpg underneath. Values are converted
to what both drivers accept (jsonb as JSON text, jsonb[] as a list of JSON
texts, uuid as text).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from .results import (
    AssetDetail,
    AssetPage,
    AssetRunResult,
    CleanseResult,
    ConflictPage,
    DataImportPage,
    FieldMappingSuggestion,
    FlowIds,
    RawRecordPage,
    RepairReport,
    Tenant,
    UndoReport,
    WiringHealth,
)

MAX_PAYLOAD = 50_000  # elements per jsonb payload (DESIGN.md)


def _to_uuid(value: Any) -> Any:
    if value is None:
        return None
    return str(value)  # asyncpg and psycopg both take a text for CAST(... AS uuid)


def to_json_text(value: Any) -> Any:
    """A jsonb parameter as JSON text (a value that is text already is sent
    as is; None stays a SQL null)."""
    if value is None or isinstance(value, (str, bytes)):
        return value  # already JSON text
    return json.dumps(value, default=str)


def _to_json_array(value: Any) -> Any:
    """A jsonb[] parameter: a list of JSON texts (an element None stays a SQL null),
    which psycopg sends as text[] and asyncpg as jsonb[]; CAST makes both jsonb[]."""
    if value is None:
        return None
    if isinstance(value, (str, bytes, Mapping)):
        raise TypeError("a jsonb[] argument is a list (one element per JSON value), not a single value")
    return [to_json_text(element) for element in value]


_ENCODERS: dict[str, Callable[[Any], Any]] = {
    "uuid": _to_uuid,
    "jsonb": to_json_text,
    "jsonb[]": _to_json_array,
    "text": lambda v: None if v is None else str(v),
    "integer": lambda v: None if v is None else int(v),
    "boolean": lambda v: None if v is None else bool(v),
}


def _from_uuid(value: Any) -> UUID | None:
    return None if value is None else (value if type(value) is UUID else UUID(str(value)))


def _from_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value  # asyncpg returns text


def _from_numeric(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "uuid": _from_uuid,
    "jsonb": _from_json,
    "integer": lambda v: None if v is None else int(v),
    "numeric": _from_numeric,
    "text": lambda v: v,
}


@dataclass(frozen=True)
class Call:
    """One API function: its name, its parameters (after the tenant) with their
    SQL types, and how its result is read.

    ``returns`` is ``void``, ``scalar`` (one value), ``row`` (one row of a
    table function) or ``rows`` (all rows); ``columns`` types the result
    columns; ``result`` builds the Python value from the decoded row(s).
    """

    function: str
    params: tuple[tuple[str, str], ...]
    returns: str
    columns: tuple[tuple[str, str], ...] = ()
    result: Callable[[Any], Any] | None = None

    @property
    def all_params(self) -> tuple[tuple[str, str], ...]:
        return (("client_account_id", "uuid"), ("engagement_id", "uuid"), *self.params)

    def sql(self, style: str = "pyformat") -> str:
        """The statement text; ``style`` is ``pyformat`` (psycopg) or ``named`` (SQLAlchemy)."""
        def placeholder(name: str) -> str:
            return f"%(p_{name})s" if style == "pyformat" else f":p_{name}"

        args = ", ".join(f"p_{name} => CAST({placeholder(name)} AS {sqltype})"
                         for name, sqltype in self.all_params)
        target = f"discovery.{self.function}({args})"
        if self.returns in ("row", "rows"):
            return f"SELECT * FROM {target}"
        return f"SELECT {target} AS result"

    def bind(self, tenant: Tenant | tuple[Any, Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters for :meth:`sql`, from the tenant and the call's keyword arguments."""
        client_account_id, engagement_id = tenant
        values = {"client_account_id": client_account_id, "engagement_id": engagement_id, **kwargs}
        unknown = set(values) - {name for name, _ in self.all_params}
        if unknown:
            raise TypeError(f"{self.function}() got unexpected arguments: {', '.join(sorted(unknown))}")
        return {f"p_{name}": _ENCODERS[sqltype](values.get(name)) for name, sqltype in self.all_params}

    def decode(self, rows: Iterable[Mapping[str, Any]]) -> Any:
        """The call's Python result from the result rows (as mappings)."""
        if self.returns == "void":
            return None
        rows = list(rows)
        if self.returns == "scalar":
            value = rows[0]["result"] if rows else None
            return self.result(value) if self.result else value
        decoded = [{col: _DECODERS[kind](row[col]) for col, kind in self.columns} for row in rows]
        if self.returns == "row":
            return self.result(decoded[0]) if decoded else None
        return [self.result(row) for row in decoded] if self.result else decoded


_FLOW_COLUMNS = (("discovery_flow_id", "uuid"), ("flow_id", "uuid"), ("master_flow_id", "uuid"))

REGISTER_TENANT = Call("register_tenant", (("client_name", "text"), ("engagement_name", "text")), "void")
CREATE_DATA_IMPORT = Call(
    "create_data_import",
    (("import_name", "text"), ("import_type", "text"), ("filename", "text"),
     ("imported_by", "uuid"), ("source_system", "text")),
    "scalar", result=_from_uuid)
ADD_RAW_RECORDS = Call("add_raw_records", (("data_import_id", "uuid"), ("records", "jsonb")),
                       "scalar", result=lambda v: int(v or 0))
START_DISCOVERY_FLOW = Call(
    "start_discovery_flow", (("data_import_id", "uuid"), ("flow_name", "text"), ("user_id", "text")),
    "row", _FLOW_COLUMNS, lambda row: FlowIds(**row))
SUGGEST_FIELD_MAPPINGS = Call(
    "suggest_field_mappings", (("data_import_id", "uuid"),), "rows",
    (("source_field", "text"), ("target_field", "text"), ("confidence_score", "numeric")),
    lambda row: FieldMappingSuggestion(**row))
SET_FIELD_MAPPINGS = Call(
    "set_field_mappings",
    (("data_import_id", "uuid"), ("mappings", "jsonb"), ("field_defaults", "jsonb"), ("profile", "text")),
    "scalar", result=lambda v: int(v or 0))
CLEANSE_RECORDS = Call("cleanse_records", (("discovery_flow_id", "uuid"),), "row",
                       (("cleansed", "integer"), ("invalid", "integer")), lambda row: CleanseResult(**row))
PERSIST_CLEANSED_DATA = Call("persist_cleansed_data", (("discovery_flow_id", "uuid"), ("cleansed", "jsonb")),
                             "scalar", result=lambda v: int(v or 0))
CREATE_ASSETS_FROM_DISCOVERY = Call(
    "create_assets_from_discovery",
    (("discovery_flow_id", "uuid"), ("assets", "jsonb"), ("dry_run", "boolean"), ("on_match", "text")), "row",
    (("run_id", "uuid"), ("created", "integer"), ("matched", "integer"), ("conflicts", "integer"),
     ("invalid", "integer"), ("already_linked", "integer"), ("updated", "integer")),
    lambda row: AssetRunResult(**row))
RESOLVE_ASSET_CONFLICT = Call(
    "resolve_asset_conflict", (("conflict_id", "uuid"), ("action", "text"), ("merge_fields", "jsonb")),
    "scalar", result=_from_uuid)
LIST_ASSETS = Call(
    "list_assets",
    (("flow_id", "uuid"), ("page", "integer"), ("page_size", "integer"), ("asset_type", "text"),
     ("status", "text")),
    "scalar", result=lambda v: AssetPage.from_json(_from_json(v)))
WIRING_HEALTH = Call("wiring_health", (("detail", "boolean"),), "scalar",
    result=lambda v: WiringHealth(_from_json(v)))
REPAIR_WIRING = Call("repair_wiring", (("dry_run", "boolean"),), "scalar",
    result=lambda v: RepairReport(_from_json(v)))
RESOLVE_FLOW = Call("resolve_flow", (("any_flow_id", "uuid"),), "row", _FLOW_COLUMNS,
                    lambda row: FlowIds(**row))

ADD_RAW_RECORDS_BULK = Call("add_raw_records_bulk", (("data_import_id", "uuid"), ("records", "jsonb[]")),
                            "scalar", result=lambda v: int(v or 0))
_PAGE = (("page", "integer"), ("page_size", "integer"))
LIST_CONFLICTS = Call("list_conflicts", (("flow_id", "uuid"), ("status", "text"), *_PAGE), "scalar",
                      result=lambda v: ConflictPage.from_json(_from_json(v)))
LIST_RAW_RECORDS = Call(
    "list_raw_records", (("data_import_id", "uuid"), ("flow_id", "uuid"), ("outcome", "text"), *_PAGE), "scalar",
    result=lambda v: RawRecordPage.from_json(_from_json(v)))
LIST_DATA_IMPORTS = Call("list_data_imports", _PAGE, "scalar",
                         result=lambda v: DataImportPage.from_json(_from_json(v)))
GET_ASSET = Call("get_asset", (("asset_id", "uuid"),), "scalar", result=lambda v: AssetDetail(_from_json(v)))
UNDO_IMPORT = Call("undo_import", (("data_import_id", "uuid"), ("dry_run", "boolean")), "scalar",
                   result=lambda v: UndoReport(_from_json(v)))

ALL_CALLS = (REGISTER_TENANT, CREATE_DATA_IMPORT, ADD_RAW_RECORDS, START_DISCOVERY_FLOW,
             SUGGEST_FIELD_MAPPINGS, SET_FIELD_MAPPINGS, CLEANSE_RECORDS, PERSIST_CLEANSED_DATA,
             CREATE_ASSETS_FROM_DISCOVERY, RESOLVE_ASSET_CONFLICT, LIST_ASSETS, WIRING_HEALTH,
             REPAIR_WIRING, RESOLVE_FLOW, ADD_RAW_RECORDS_BULK, LIST_CONFLICTS, LIST_RAW_RECORDS,
             LIST_DATA_IMPORTS, GET_ASSET, UNDO_IMPORT)


def normalize_mappings(mappings: Any) -> list[dict[str, Any]]:
    """Mappings as the API takes them: a list of ``{source_field, target_field[, status]}``.
    Accepts that list, a ``{source: target}`` object, or FieldMappingSuggestion items."""
    if isinstance(mappings, Mapping):
        return [{"source_field": s, "target_field": t} for s, t in mappings.items()]
    out = []
    for item in mappings:
        if isinstance(item, FieldMappingSuggestion):
            out.append({"source_field": item.source_field, "target_field": item.target_field})
        else:
            out.append(dict(item))
    return out
