"""Test databases on one PostgreSQL server or on a Citus cluster.

When ``DISCOVERY_DATABASE_URL`` names a database of a Citus coordinator that
knows its workers (``scripts/citus/cluster.sh start`` sets up ``postgres`` and
``discovery`` so), every test database is made on every node
(:mod:`discovery_wiring.citus`: Citus does not propagate CREATE DATABASE), the
template is distributed after its migration (``DISCOVERY_CITUS_SHARD_COUNT``
shards, default 4), and a clone of it is a clone on every node, which is a
consistent copy of the distributed database. On one server nothing changes.
"""

from __future__ import annotations

import functools
import os

import psycopg
from psycopg import sql

from discovery_wiring import citus, migrate


@functools.cache
def on_citus(server_url: str) -> bool:
    with psycopg.connect(server_url, autocommit=True) as conn:
        return citus.is_coordinator(conn) and bool(citus.worker_nodes(conn))


def create_database(server_url: str, name: str, template: str | None = None, file_copy: bool = False) -> None:
    if on_citus(server_url):
        citus.create_database(server_url, name, template=template, file_copy=file_copy)
        return
    with psycopg.connect(server_url, autocommit=True) as admin:
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        if file_copy:
            query += sql.SQL(" STRATEGY FILE_COPY")
        admin.execute(query)


def drop_database(server_url: str, name: str) -> None:
    if on_citus(server_url):
        citus.drop_database(server_url, name)
        return
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def migrate_template(server_url: str, url: str) -> None:
    """Migrate the template; on a cluster, distribute it too."""
    migrate(url)
    if on_citus(server_url):
        citus.distribute(url, shard_count=int(os.environ.get("DISCOVERY_CITUS_SHARD_COUNT", "4")))
