"""The Python client: sync and async over psycopg, SQLAlchemy (psycopg and
asyncpg), exception mapping, borrowed connections, streaming bulk loads."""

from __future__ import annotations

import asyncio
import csv
import inspect
import json
import re
import threading
import uuid
from decimal import Decimal

import psycopg
import pytest

import discovery_wiring.client as client_module
from discovery_wiring import (
    AssetDetail,
    AssetNotFound,
    AssetPage,
    AssetRunResult,
    AsyncDiscoveryClient,
    CleanseResult,
    Conflict,
    ConflictPage,
    DataImport,
    DataImportNotFound,
    DataImportPage,
    DiscoveryClient,
    DiscoveryError,
    FieldMappingSuggestion,
    FlowIds,
    FlowNotFound,
    FlowStateForbids,
    InvalidArgument,
    MalformedPayload,
    RawRecord,
    RawRecordPage,
    Tenant,
    UndoReport,
    UnknownTenant,
    WiringHealth,
    calls,
    errors,
)
from discovery_wiring.sqlalchemy_adapter import (
    AsyncSQLAlchemyDiscoveryClient,
    SQLAlchemyDiscoveryClient,
)

SERVERS = [
    {"Server Name": "web01", "IP Address": "10.0.0.1", "OS": "Ubuntu 22.04", "Owner Team": "web"},
    {"Server Name": "web02", "IP Address": "10.0.0.2", "OS": "Ubuntu 22.04", "Owner Team": "web"},
    {"Server Name": "db01", "IP Address": "10.0.1.1", "OS": "RHEL 9", "Owner Team": ""},
]


# -- the call definitions (no database) ---------------------------------------

@pytest.mark.parametrize("call", calls.ALL_CALLS, ids=lambda c: c.function)
def test_every_parameter_is_named_and_cast(call):
    for style, placeholder in (("pyformat", "%(p_{})s"), ("named", ":p_{}")):
        text = call.sql(style)
        assert f"discovery.{call.function}(" in text
        for name, sqltype in call.all_params:
            assert f"p_{name} => CAST({placeholder.format(name)} AS {sqltype})" in text
    assert "::" not in call.sql("named")  # `::` would break SQLAlchemy's :name parsing


def test_bind_encodes_values_and_rejects_unknown_arguments():
    tenant = Tenant(uuid.uuid4(), uuid.uuid4())
    params = calls.ADD_RAW_RECORDS.bind(tenant, {"data_import_id": uuid.uuid4(), "records": [{"a": 1}]})
    assert params["p_records"] == '[{"a": 1}]'
    assert params["p_client_account_id"] == str(tenant.client_account_id)
    params = calls.LIST_ASSETS.bind(tenant, {"page": True})
    assert params["p_page"] == 1 and params["p_flow_id"] is None
    with pytest.raises(TypeError, match="bogus"):
        calls.LIST_ASSETS.bind(tenant, {"bogus": 1})


@pytest.mark.parametrize("sqlstate,cls", sorted(errors.ERROR_CLASSES.items()))
def test_every_wr_code_has_its_class(sqlstate, cls):
    class FakeDiag:
        message_primary, message_detail, message_hint = "boom", "the detail", "the hint"

    class FakePsycopgError(Exception):
        diag = FakeDiag()

    driver_error = FakePsycopgError("boom")
    driver_error.sqlstate = sqlstate
    wrapper = Exception("wrapped")  # as SQLAlchemy does: .orig
    wrapper.orig = driver_error
    for raised in (driver_error, wrapper):
        mapped = errors.translate(raised)
        assert type(mapped) is cls and isinstance(mapped, DiscoveryError)
        assert (mapped.sqlstate, mapped.message, mapped.detail, mapped.hint) == \
            (sqlstate, "boom", "the detail", "the hint")
    other = FakePsycopgError("x")
    other.sqlstate = "23505"
    assert errors.translate(other) is None


def test_chunk_size_is_bounded(client, tenant):
    with pytest.raises(ValueError):
        client.add_raw_records(tenant, uuid.uuid4(), [], chunk_size=calls.MAX_PAYLOAD + 1)


# -- sync client on psycopg -----------------------------------------------------

def test_sync_flow_typed_results(client, tenant):
    data_import_id = client.create_data_import(tenant, "servers", "csv", "servers.csv")
    assert isinstance(data_import_id, uuid.UUID)
    assert client.add_raw_records(tenant, data_import_id, iter(SERVERS), chunk_size=2) == 3
    flow = client.start_discovery_flow(tenant, data_import_id, flow_name="typed")
    assert isinstance(flow, FlowIds) and flow.flow_id == flow.master_flow_id
    suggestions = client.suggest_field_mappings(tenant, data_import_id)
    assert all(isinstance(s, FieldMappingSuggestion) for s in suggestions)
    by_source = {s.source_field: s for s in suggestions}
    assert by_source["Server Name"].target_field == "hostname"
    assert isinstance(by_source["Server Name"].confidence_score, Decimal)
    assert client.set_field_mappings(tenant, data_import_id, [s for s in suggestions if s.target_field]) >= 1
    cleansed = client.cleanse_records(tenant, flow.discovery_flow_id)
    assert cleansed == CleanseResult(cleansed=3, invalid=0)
    result = client.create_assets_from_discovery(tenant, flow.discovery_flow_id)
    assert isinstance(result, AssetRunResult) and isinstance(result.run_id, uuid.UUID)
    assert (result.created, result.matched, result.conflicts, result.invalid) == (3, 0, 0, 0)
    page = client.list_assets(tenant, flow_id=flow.flow_id, page_size=2)
    assert isinstance(page, AssetPage) and page.total_count == 3 and page.has_next and len(page.assets) == 2
    assert {a["hostname"] for a in client.list_assets(tenant).assets} == {"web01", "web02", "db01"}
    health = client.wiring_health(tenant, detail=True)
    assert isinstance(health, WiringHealth) and health.healthy and not any(health.gaps.values())
    for any_id in flow.discovery_flow_id, flow.flow_id:
        assert client.resolve_flow(tenant, any_id) == flow


# -- exceptions ------------------------------------------------------------------

def test_errors_carry_sqlstate_detail_and_hint(conn, client, tenant):
    stranger = Tenant(uuid.uuid4(), uuid.uuid4())
    cases = [
        (UnknownTenant, "WR001", lambda: client.create_data_import(stranger, "x", "csv", "x.csv")),
        (FlowNotFound, "WR002", lambda: client.resolve_flow(tenant, uuid.uuid4())),
        (DataImportNotFound, "WR003", lambda: client.start_discovery_flow(tenant, uuid.uuid4())),
        (MalformedPayload, "WR005", lambda: client.add_raw_records_batch(
            tenant, client.create_data_import(tenant, "x", "csv", "x.csv"), {"not": "an array"})),
        (InvalidArgument, "WR006", lambda: client.list_assets(tenant, page=0)),
    ]
    for cls, sqlstate, call in cases:
        with pytest.raises(cls) as info, conn.transaction():  # a savepoint keeps the test's transaction
            call()
        error = info.value
        assert error.sqlstate == sqlstate
        assert error.detail and error.hint, f"{sqlstate} lacks DETAIL or HINT"
        assert isinstance(error.__cause__, psycopg.Error) and error.__cause__.sqlstate == sqlstate
        assert sqlstate in str(error)


def test_non_api_errors_pass_through(conn, client, tenant):
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        client.resolve_flow(tenant, "not-a-uuid")


# -- borrowed connection ------------------------------------------------------------

def test_borrowed_connection_is_never_committed(db_url, tmp_path):
    tenant = Tenant(uuid.uuid4(), uuid.uuid4())
    trace = tmp_path / "libpq.trace"
    with psycopg.connect(db_url) as conn:
        xid = conn.execute("SELECT pg_current_xact_id()").fetchone()[0]  # the caller's transaction
        with trace.open("w") as fh:
            conn.pgconn.trace(fh.fileno())
            client = DiscoveryClient(conn)
            client.register_tenant(tenant, "borrowed", "borrowed")
            data_import_id = client.create_data_import(tenant, "x", "csv", "x.csv")
            client.add_raw_records(tenant, data_import_id, SERVERS, chunk_size=1)
            flow = client.start_discovery_flow(tenant, data_import_id)
            client.set_field_mappings(tenant, data_import_id, {"Server Name": "hostname"})
            client.cleanse_records(tenant, flow.discovery_flow_id)
            assert client.create_assets_from_discovery(tenant, flow.discovery_flow_id).created == 3
            client.wiring_health(tenant)
            conn.pgconn.untrace()
        assert conn.execute("SELECT pg_current_xact_id()").fetchone()[0] == xid
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        sent = [line for line in trace.read_text().splitlines() if "\tF\t" in line]
        assert sent, "the trace recorded nothing"
        assert not [line for line in sent if re.search(r'"\s*(COMMIT|ROLLBACK|BEGIN|END)\b', line, re.IGNORECASE)]
        with psycopg.connect(db_url) as other:  # uncommitted: invisible elsewhere
            assert other.execute("SELECT count(*) FROM migration.assets").fetchone()[0] == 0
        conn.rollback()
    with psycopg.connect(db_url) as after:
        for table in ("client_accounts", "data_imports", "raw_import_records", "discovery_flows", "assets"):
            assert after.execute(f"SELECT count(*) FROM migration.{table}").fetchone()[0] == 0, table


# -- async client on psycopg ----------------------------------------------------------

def test_async_client(db_url):
    async def scenario():
        tenant = Tenant(uuid.uuid4(), uuid.uuid4())
        async with await psycopg.AsyncConnection.connect(db_url) as aconn:
            client = AsyncDiscoveryClient(aconn)
            await client.register_tenant(tenant, "async", "async")
            data_import_id = await client.create_data_import(tenant, "a", "json", "a.json")

            async def rows():
                for row in SERVERS:
                    yield row
            assert await client.add_raw_records(tenant, data_import_id, rows(), chunk_size=2) == 3
            flow = await client.start_discovery_flow(tenant, data_import_id)
            await client.set_field_mappings(tenant, data_import_id, {"Server Name": "hostname"})
            assert (await client.cleanse_records(tenant, flow.discovery_flow_id)).cleansed == 3
            result = await client.create_assets_from_discovery(tenant, flow.discovery_flow_id)
            assert result.created == 3
            assert (await client.list_assets(tenant, flow_id=flow.discovery_flow_id)).total_count == 3
            assert (await client.wiring_health(tenant)).healthy
            with pytest.raises(FlowNotFound) as info:
                await client.resolve_flow(tenant, uuid.uuid4())
            assert info.value.detail and info.value.hint
            await aconn.rollback()
    asyncio.run(scenario())


# -- SQLAlchemy ------------------------------------------------------------------------

def test_sqlalchemy_session_psycopg(db_url, database_url_for):
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    engine = create_engine(database_url_for(db_url, "postgresql+psycopg"))
    tenant = Tenant(uuid.uuid4(), uuid.uuid4())
    try:
        with Session(engine) as session:
            client = SQLAlchemyDiscoveryClient(session)
            client.register_tenant(tenant, "sa", "sa")
            data_import_id = client.create_data_import(tenant, "s", "csv", "s.csv")
            assert client.add_raw_records(tenant, data_import_id, SERVERS) == 3
            flow = client.start_discovery_flow(tenant, data_import_id)
            client.set_field_mappings(tenant, data_import_id, {"Server Name": "hostname"})
            client.cleanse_records(tenant, flow.discovery_flow_id)
            assert client.create_assets_from_discovery(tenant, flow.discovery_flow_id).created == 3
            assert client.list_assets(tenant).total_count == 3
            with pytest.raises(InvalidArgument) as info, session.begin_nested():
                client.list_assets(tenant, page_size=0)
            assert info.value.sqlstate == "WR006" and info.value.hint
            assert session.in_transaction()
            session.rollback()
        with engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM migration.assets")).scalar() == 0
    finally:
        engine.dispose()


def test_sqlalchemy_async_session_asyncpg(db_url, database_url_for):
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    async def scenario():
        engine = create_async_engine(database_url_for(db_url, "postgresql+asyncpg"))
        tenant = Tenant(uuid.uuid4(), uuid.uuid4())
        try:
            async with AsyncSession(engine) as session:
                client = AsyncSQLAlchemyDiscoveryClient(session)
                await client.register_tenant(tenant, "asyncpg", "asyncpg")
                data_import_id = await client.create_data_import(tenant, "s", "csv", "s.csv")
                assert isinstance(data_import_id, uuid.UUID)
                assert await client.add_raw_records(tenant, data_import_id, SERVERS, chunk_size=2) == 3
                flow = await client.start_discovery_flow(tenant, data_import_id)
                assert isinstance(flow.flow_id, uuid.UUID)
                suggestions = await client.suggest_field_mappings(tenant, data_import_id)
                assert any(s.target_field == "hostname" for s in suggestions)
                await client.set_field_mappings(tenant, data_import_id, [s for s in suggestions if s.target_field])
                await client.cleanse_records(tenant, flow.discovery_flow_id)
                dry = await client.create_assets_from_discovery(tenant, flow.discovery_flow_id, dry_run=True)
                assert dry.created == 3
                result = await client.create_assets_from_discovery(tenant, flow.discovery_flow_id)
                assert result.created == 3 and isinstance(result.run_id, uuid.UUID)
                page = await client.list_assets(tenant, flow_id=flow.flow_id)
                assert page.total_count == 3
                assert (await client.wiring_health(tenant)).healthy
                assert await client.resolve_flow(tenant, flow.flow_id) == flow
                with pytest.raises(UnknownTenant) as info:
                    async with session.begin_nested():
                        await client.list_assets(Tenant(uuid.uuid4(), uuid.uuid4()))
                assert info.value.sqlstate == "WR001" and info.value.detail and info.value.hint
                await session.rollback()
            async with engine.connect() as c:
                assert (await c.execute(text("SELECT count(*) FROM migration.assets"))).scalar() == 0
        finally:
            await engine.dispose()
    asyncio.run(scenario())


# -- streaming bulk load ------------------------------------------------------------------

def test_load_file_streams_a_large_csv_in_chunks(conn, client, tenant, tmp_path, monkeypatch):
    rows = 20_000
    path = tmp_path / "big.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Server Name", "IP Address", "OS", "Notes"])
        for i in range(rows):
            writer.writerow([f"host{i:05d}", f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", "Linux",
                             "" if i % 2 else "note, with comma"])

    produced = {"rows": 0}
    real_iter_records = client_module.iter_records

    def counting_iter_records(p):
        for record in real_iter_records(p):
            produced["rows"] += 1
            yield record
    monkeypatch.setattr(client_module, "iter_records", counting_iter_records)

    batches = []
    real_batch = client.add_raw_records_batch

    def spy_batch(tenant_, data_import_id, records):
        # each chunk goes as one JSON text, encoded by the reader's thread; when it is sent, the
        # reader has read that far and at most one chunk further: the file is never read whole
        batches.append((len(json.loads(records)), produced["rows"]))
        return real_batch(tenant_, data_import_id, records)
    monkeypatch.setattr(client, "add_raw_records_batch", spy_batch)

    progress = []
    data_import_id = client.create_data_import(tenant, "big", "csv", path.name)
    assert client.load_file(tenant, data_import_id, path, progress=progress.append) == rows
    assert [size for size, _ in batches] == [5_000] * 4
    assert all(5_000 * k <= read <= 5_000 * (k + 1) for k, (_, read) in enumerate(batches, 1)), batches
    assert progress == [5_000] * 4
    count, first, last, empties = conn.execute("""
        SELECT count(*), min(row_number), max(row_number),
               count(*) FILTER (WHERE raw_data ->> 'Notes' = '')
          FROM migration.raw_import_records WHERE data_import_id = %s""", (data_import_id,)).fetchone()
    assert (count, first, last, empties) == (rows, 1, rows, rows // 2)
    sample = conn.execute("""SELECT raw_data FROM migration.raw_import_records
                              WHERE data_import_id = %s AND row_number = 1""", (data_import_id,)).fetchone()[0]
    assert sample == {"Server Name": "host00000", "IP Address": "10.0.0.0", "OS": "Linux",
                      "Notes": "note, with comma"}


def reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("discovery-wiring-reader")]


def test_records_are_read_in_the_callers_thread_unless_read_ahead_is_asked(client, tenant):
    """A caller's iterable may be tied to its thread (a sqlite3 cursor is), so
    add_raw_records reads it in the caller's thread; only with read_ahead
    (load_file and the pipeline's files, which the library reads itself)
    does a worker thread read it."""
    def rows(seen: set[str]):
        for i in range(5):
            seen.add(threading.current_thread().name)
            yield {"Server Name": f"t{i}"}

    data_import_id = client.create_data_import(tenant, "threads", "csv", "threads.csv")
    plain: set[str] = set()
    assert client.add_raw_records(tenant, data_import_id, rows(plain), chunk_size=2) == 5
    assert plain == {threading.current_thread().name}
    ahead: set[str] = set()
    assert client.add_raw_records(tenant, data_import_id, rows(ahead), chunk_size=2, read_ahead=True) == 5
    assert len(ahead) == 1 and ahead.pop().startswith("discovery-wiring-reader")
    assert reader_threads() == []


def test_a_file_that_breaks_midway_keeps_the_chunks_before_and_stops_reading(conn, client, tenant):
    """With read_ahead the records are read a chunk ahead in a worker
    thread: an error in the reader (here after 7 good rows, chunks of 3) is
    raised in the caller's thread once the two whole chunks before it are
    sent, as a serial loop would; the chunk it broke in is not sent and no
    reader thread is left."""
    def rows():
        for i in range(7):
            yield {"Server Name": f"r{i}"}
        raise ValueError("row 8: unreadable")

    data_import_id = client.create_data_import(tenant, "broken", "csv", "broken.csv")
    progress = []
    with pytest.raises(ValueError, match="row 8"):
        client.add_raw_records(tenant, data_import_id, rows(), chunk_size=3, progress=progress.append,
                               read_ahead=True)
    assert progress == [3, 3]
    assert [r[0] for r in conn.execute("SELECT raw_data ->> 'Server Name' FROM migration.raw_import_records"
                                       " WHERE data_import_id = %s ORDER BY row_number",
                                       (data_import_id,))] == [f"r{i}" for i in range(6)]
    assert reader_threads() == []


def test_a_refused_chunk_stops_the_reader_one_chunk_later(conn, client, tenant):
    """When the server refuses a chunk (here: the import is not the tenant's),
    the error is the caller's and the reader, one chunk ahead at most, stops:
    of an endless stream, two chunks at most are read."""
    read = {"rows": 0}

    def endless():
        while True:
            read["rows"] += 1
            yield {"Server Name": f"h{read['rows']}"}

    with pytest.raises(DataImportNotFound):
        client.add_raw_records(tenant, uuid.uuid4(), endless(), chunk_size=10, read_ahead=True)
    assert read["rows"] <= 20
    assert reader_threads() == []


# -- the read, undo and bulk calls in every client flavour ----------------------------------

def test_jsonb_array_parameters_are_lists_of_json_texts():
    tenant = Tenant(uuid.uuid4(), uuid.uuid4())
    params = calls.ADD_RAW_RECORDS_BULK.bind(tenant, {"records": [{"a": 1}, '{"b": 2}', None]})
    assert params["p_records"] == ['{"a": 1}', '{"b": 2}', None]
    assert "CAST(:p_records AS jsonb[])" in calls.ADD_RAW_RECORDS_BULK.sql("named")
    with pytest.raises(TypeError, match="jsonb\\[\\]"):
        calls.ADD_RAW_RECORDS_BULK.bind(tenant, {"records": '[{"a": 1}]'})


async def _maybe(value):
    return await value if inspect.isawaitable(value) else value


async def _read_undo_and_bulk_scenario(client, tenant):
    """The new calls, the same for every flavour (``_maybe`` awaits what the async clients return).
    Two assets share the short name ``alpha``; a record known only as ``ALPHA`` conflicts with both."""
    async def call(method, *args, **kwargs):
        return await _maybe(getattr(client, method)(tenant, *args, **kwargs))

    await call("register_tenant", "flavours", "flavours")
    first = await call("create_data_import", "first", "csv", "first.csv")
    await call("add_raw_records", first, [{"fqdn": "alpha.a.example.com"}, {"fqdn": "alpha.b.example.com"}])
    first_flow = await call("start_discovery_flow", first)
    assert (await call("create_assets_from_discovery", first_flow.discovery_flow_id)).created == 2

    second = await call("create_data_import", "second", "json", "second.json")
    assert await call("add_raw_records_bulk", second,
                      [{"hostname": "ALPHA", "operating_system": "linux"}, '{"hostname": "beta"}']) == 2
    flow = await call("start_discovery_flow", second)
    result = await call("create_assets_from_discovery", flow.discovery_flow_id)
    assert (result.created, result.conflicts) == (1, 1)

    imports = await call("list_data_imports")
    assert isinstance(imports, DataImportPage) and imports.total_count == 2
    newest = next(i for i in imports.imports if i.id == second)  # one transaction: both made at the same now()
    assert isinstance(newest, DataImport) and newest.discovery_flow_id == flow.discovery_flow_id
    assert newest.outcomes == {"created": 1, "matched": 0, "conflict": 1, "invalid": 0, "discarded": 0,
                               "pending": 0, "with_warnings": 0}
    assert newest["flow_status"] == "active"

    records = await call("list_raw_records", flow_id=flow.flow_id, outcome="conflict")
    assert isinstance(records, RawRecordPage) and records.total_count == 1
    record = records.records[0]
    assert isinstance(record, RawRecord) and record.outcome == "conflict" and record.asset_id is None
    assert record["raw_data"] == {"hostname": "ALPHA", "operating_system": "linux"}
    assert (await call("list_raw_records", data_import_id=second, page_size=1)).has_next

    conflicts = await call("list_conflicts", flow_id=flow.master_flow_id)
    assert isinstance(conflicts, ConflictPage) and conflicts.total_count == 1
    conflict = conflicts.conflicts[0]
    assert isinstance(conflict, Conflict) and conflict.pending and conflict.raw_import_record_id == record.id
    assert {c["fqdn"] for c in conflict.candidates} == {"alpha.a.example.com", "alpha.b.example.com"}
    assert conflict.candidates[0]["id"] == str(conflict.existing_asset_id)

    asset_id = await call("resolve_asset_conflict", conflict.id, "create_new")
    assert asset_id not in {uuid.UUID(c["id"]) for c in conflict.candidates}
    assert (await call("list_conflicts")).total_count == 0
    resolved = await call("list_conflicts", status="all")
    assert [c["resolution_action"] for c in resolved.conflicts] == ["create_new"]

    detail = await call("get_asset", asset_id)
    assert isinstance(detail, AssetDetail) and not detail.deleted
    assert detail.asset["hostname"] == "ALPHA"
    assert detail.lineage["raw_import_record_id"] == str(record.id)
    assert detail.lineage["data_import_id"] == str(second)
    assert [r["id"] for r in detail.records] == [str(record.id)] and detail.changes == []

    dry = await call("undo_import", second)
    assert isinstance(dry, UndoReport) and dry.dry_run
    assert dry.counts == {"assets_deleted": 2, "changes_reverted": 0, "changes_kept": 0,
                          "records_discarded": 2, "conflicts_closed": 0}
    assert (await call("list_assets")).total_count == 4  # the dry run wrote nothing
    applied = await call("undo_import", second, dry_run=False)
    assert not applied.dry_run and applied.counts == dry.counts
    assert (await call("list_assets")).total_count == 2
    assert (await call("get_asset", asset_id)).deleted
    assert {i.id: i["status"] for i in (await call("list_data_imports")).imports} == \
        {first: "completed", second: "undone"}
    assert (await call("wiring_health")).healthy
    return asset_id, second


def test_new_calls_sync_psycopg(conn, client):
    tenant = Tenant(uuid.uuid4(), uuid.uuid4())
    _, second = asyncio.run(_read_undo_and_bulk_scenario(client, tenant))
    conn.commit()  # the deferred wiring checks accept the undo
    for cls, call in (
            (AssetNotFound, lambda: client.get_asset(tenant, uuid.uuid4())),
            (FlowStateForbids, lambda: client.undo_import(tenant, second)),
            (InvalidArgument, lambda: client.list_conflicts(tenant, status="open")),
            (InvalidArgument, lambda: client.list_raw_records(tenant, outcome="lost")),
            (DataImportNotFound, lambda: client.add_raw_records_bulk(tenant, uuid.uuid4(), [{"a": 1}])),
            (MalformedPayload, lambda: client.add_raw_records_bulk(tenant, second, [{"a": 1}, None]))):
        with pytest.raises(cls) as info, conn.transaction():
            call()
        assert info.value.detail and info.value.hint


def test_new_calls_async_psycopg(db_url):
    async def scenario():
        async with await psycopg.AsyncConnection.connect(db_url) as aconn:
            client = AsyncDiscoveryClient(aconn)
            tenant = Tenant(uuid.uuid4(), uuid.uuid4())
            await _read_undo_and_bulk_scenario(client, tenant)
            await aconn.commit()
            with pytest.raises(AssetNotFound):
                await client.get_asset(tenant, uuid.uuid4())
    asyncio.run(scenario())


def test_new_calls_sqlalchemy_psycopg(db_url, database_url_for):
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    engine = create_engine(database_url_for(db_url, "postgresql+psycopg"))
    try:
        with Session(engine) as session:
            client = SQLAlchemyDiscoveryClient(session)
            tenant = Tenant(uuid.uuid4(), uuid.uuid4())
            asyncio.run(_read_undo_and_bulk_scenario(client, tenant))
            session.commit()
            with pytest.raises(AssetNotFound), session.begin_nested():
                client.get_asset(tenant, uuid.uuid4())
    finally:
        engine.dispose()


def test_new_calls_sqlalchemy_asyncpg(db_url, database_url_for):
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    async def scenario():
        engine = create_async_engine(database_url_for(db_url, "postgresql+asyncpg"))
        try:
            async with AsyncSession(engine) as session:
                client = AsyncSQLAlchemyDiscoveryClient(session)
                tenant = Tenant(uuid.uuid4(), uuid.uuid4())
                await _read_undo_and_bulk_scenario(client, tenant)
                await session.commit()
                with pytest.raises(AssetNotFound) as info:
                    async with session.begin_nested():
                        await client.get_asset(tenant, uuid.uuid4())
                assert info.value.hint
        finally:
            await engine.dispose()
    asyncio.run(scenario())
