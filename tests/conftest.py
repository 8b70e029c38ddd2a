"""Shared fixtures: a real PostgreSQL, migrated once, cloned per test.

Server: ``DISCOVERY_DATABASE_URL`` when set (any database on the server; the
role must be allowed to create databases and roles, e.g. a superuser), else the
embedded PostgreSQL of ``discovery_wiring.db`` (started for the session).

On a Citus coordinator (``_support.on_citus``), databases are made on every node and
the template is distributed after its migration.

Each test process (each xdist worker) migrates ONE template database
``dw_template_<worker>_<pid>_<random>`` at session start; every test that
asks for a database gets a fresh clone (``CREATE DATABASE … TEMPLATE …``),
dropped after the test. Nothing is shared between tests.

Fixtures (function scope unless said):

``server_url`` (session)
    URL of the server's maintenance database (from the env, or embedded).
``template_url`` (session)
    URL of this process's migrated template. Do not connect to it in a test:
    an open session on it blocks cloning.
``db_url``
    URL of a fresh migrated database for this test (a ``postgresql://`` URI).
``database_url_for``
    ``database_url_for(db_url, scheme)``: the same database as another URI
    scheme, e.g. ``"postgresql+asyncpg"`` for SQLAlchemy.
``conn``
    A ``psycopg.Connection`` to ``db_url``, autocommit off: a transaction
    opens with the first statement and is rolled back at teardown unless the
    test commits. After an API error the transaction is aborted: wrap an
    expected failure in ``with conn.transaction():`` (a savepoint) to go on.
``client``
    ``DiscoveryClient(conn)``.
``tenant``
    A freshly registered tenant (random UUIDs) as a ``Tenant``
    ``(client_account_id, engagement_id)``; registered inside ``conn``'s
    transaction: ``conn.commit()`` to let other sessions see it.
``make_tenant``
    ``make_tenant(client_name=..., engagement_name=...)`` registers another one.
``login_roles`` (session)
    The login roles of tests/_support.py (``dw_test_app`` holding only
    discovery_app, ``dw_test_analyst`` holding only discovery_analyst).
``app_conn`` / ``analyst_conn``
    A connection to ``db_url`` as that login role (the app's: autocommit off,
    rolled back at teardown; the analyst's: autocommit).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from discovery_wiring import DiscoveryClient, Tenant
from discovery_wiring.db import URL_ENV, configured_url, start_embedded, url_with_database

from _support import ANALYST_ROLE, APP_ROLE, create_database, drop_database, ensure_login_role, migrate_template


def _create_database(server_url: str, name: str, template: str | None = None) -> None:
    create_database(server_url, name, template=template)


def _drop_database(server_url: str, name: str) -> None:
    drop_database(server_url, name)


@pytest.fixture(scope="session")
def server_url() -> str:
    return configured_url() or start_embedded()


@pytest.fixture(scope="session")
def template_url(server_url: str) -> Iterator[str]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"dw_template_{worker}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _create_database(server_url, name)
    try:
        url = url_with_database(server_url, name)
        migrate_template(server_url, url)
        yield url
    finally:
        _drop_database(server_url, name)


@pytest.fixture
def db_url(server_url: str, template_url: str) -> Iterator[str]:
    template = conninfo_to_dict(template_url)["dbname"]
    name = f"dw_test_{uuid.uuid4().hex[:16]}"
    _create_database(server_url, name, template=template)
    try:
        yield url_with_database(server_url, name)
    finally:
        _drop_database(server_url, name)


@pytest.fixture
def database_url_for():
    """``database_url_for(url, scheme)``: ``url`` rewritten with another scheme."""
    def convert(url: str, scheme: str = "postgresql") -> str:
        return url_with_database(url, conninfo_to_dict(url)["dbname"], scheme)
    return convert


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    connection = psycopg.connect(db_url, autocommit=False)
    try:
        yield connection
    finally:
        connection.rollback()
        connection.close()


@pytest.fixture
def client(conn: psycopg.Connection) -> DiscoveryClient:
    return DiscoveryClient(conn)


@pytest.fixture
def make_tenant(client: DiscoveryClient):
    def make(client_name: str = "Test client", engagement_name: str = "Test engagement") -> Tenant:
        tenant = Tenant(uuid.uuid4(), uuid.uuid4())
        client.register_tenant(tenant, client_name, engagement_name)
        return tenant
    return make


@pytest.fixture
def tenant(make_tenant) -> Tenant:
    return make_tenant()


@pytest.fixture(scope="session")
def login_roles(server_url, template_url):
    """The two login roles, created once per cluster (roles are cluster-wide;
    the group roles exist once the template is migrated)."""
    with psycopg.connect(server_url, autocommit=True) as admin:
        ensure_login_role(admin, APP_ROLE, "discovery_app")
        ensure_login_role(admin, ANALYST_ROLE, "discovery_analyst")
    return APP_ROLE, ANALYST_ROLE


@pytest.fixture
def app_conn(db_url, login_roles):
    connection = psycopg.connect(db_url, user=APP_ROLE, autocommit=False)
    try:
        yield connection
    finally:
        connection.rollback()
        connection.close()


@pytest.fixture
def analyst_conn(db_url, login_roles):
    connection = psycopg.connect(db_url, user=ANALYST_ROLE, autocommit=True)
    try:
        yield connection
    finally:
        connection.close()


def pytest_report_header(config):
    return f"database: {URL_ENV}={configured_url()}" if configured_url() else "database: embedded PostgreSQL"
