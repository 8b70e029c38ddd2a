"""discovery-wiring: a thin client for the ``discovery`` PostgreSQL API.

>>> import psycopg
>>> from discovery_wiring import DiscoveryClient, Tenant
>>> with psycopg.connect(url) as conn:                       # doctest: +SKIP
...     client = DiscoveryClient(conn)
...     tenant = Tenant(client_account_id, engagement_id)
...     client.register_tenant(tenant, "Acme", "Cloud move")
...     import_id = client.create_data_import(tenant, "servers", "csv", "servers.csv")
...     client.load_file(tenant, import_id, "servers.csv")
...     conn.commit()                                          # the caller commits

Sync (:class:`DiscoveryClient`) and async (:class:`AsyncDiscoveryClient`)
clients over psycopg 3, and SQLAlchemy adapters in
:mod:`discovery_wiring.sqlalchemy_adapter`, share one definition of each call
(:mod:`discovery_wiring.calls`). :func:`migrate` applies the migrations and
rebuilds the API schema.
"""

from .client import DEFAULT_CHUNK_SIZE, AsyncDiscoveryClient, DiscoveryClient
from .errors import (
    AssetNotFound,
    ConflictNotFound,
    DataImportNotFound,
    DiscoveryError,
    FlowNotFound,
    FlowStateForbids,
    InvalidArgument,
    MalformedPayload,
    RecordNotInFlow,
    UnknownTenant,
)
from .loading import iter_records
from .migrate import migrate, rollback
from .results import (
    CONFLICT_ACTIONS,
    AssetDetail,
    AssetPage,
    AssetRunResult,
    CleanseResult,
    Conflict,
    ConflictPage,
    DataImport,
    DataImportPage,
    FieldMappingSuggestion,
    FlowIds,
    RawRecord,
    RawRecordPage,
    RepairReport,
    Tenant,
    UndoReport,
    WiringHealth,
)

__all__ = [
    "CONFLICT_ACTIONS",
    "DEFAULT_CHUNK_SIZE",
    "AssetDetail",
    "AssetNotFound",
    "AssetPage",
    "AssetRunResult",
    "AsyncDiscoveryClient",
    "CleanseResult",
    "Conflict",
    "ConflictNotFound",
    "ConflictPage",
    "DataImport",
    "DataImportNotFound",
    "DataImportPage",
    "DiscoveryClient",
    "DiscoveryError",
    "FieldMappingSuggestion",
    "FlowIds",
    "FlowNotFound",
    "FlowStateForbids",
    "InvalidArgument",
    "MalformedPayload",
    "RawRecord",
    "RawRecordPage",
    "RecordNotInFlow",
    "RepairReport",
    "Tenant",
    "UndoReport",
    "UnknownTenant",
    "WiringHealth",
    "iter_records",
    "migrate",
    "rollback",
]
