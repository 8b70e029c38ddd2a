"""Migration runner: yoyo migrations, then a rebuild of schema ``discovery``.

``migrate(url)`` applies the pending migrations of the shipped ``migrations/``
folder, then rebuilds the ``discovery`` schema in one transaction from the
shipped ``sql/`` folder: ``schema.sql``, ``types/*.sql`` (sorted),
``functions/*.sql`` (sorted), ``grants.sql``. A session-level advisory lock
serializes concurrent runs on one database. A second run applies no migration
(the discovery rebuild is redone, which is harmless).

On a Citus coordinator (the citus extension in the database) the migrations
run with ``citus.multi_shard_modify_mode = sequential`` and
``citus.enable_unsafe_triggers = on`` (DDL on distributed tables next to
CREATE FUNCTION in one transaction; trigger DDL on distributed tables), and two
more things differ, both in :mod:`discovery_wiring.citus`:

* the rebuild creates the objects as the session user and then hands them to
  ``discovery_owner`` (``sql/schema.sql``'s ``SET LOCAL ROLE`` is reset right
  after it: Citus propagates each CREATE FUNCTION over a connection of the
  current role, which could neither log in nor see the schema created in this
  transaction);
* on a database already distributed (``discovery-wiring citus distribute``),
  tables that the new migrations created are distributed and their keys
  re-added before the rebuild, and the rebuilt API functions are distributed
  again (dropping the schema dropped their distribution) in the rebuild's
  transaction.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from .db import database_url, to_uri
from .resources import migrations_dir, sql_dir

log = logging.getLogger(__name__)

# pg_advisory_lock key shared by every migrate / rollback run ("dscwirng" as a bigint)
ADVISORY_LOCK_KEY = int.from_bytes(b"dscwirng", "big") & 0x7FFF_FFFF_FFFF_FFFF

def yoyo_url(url: str) -> str:
    """Convert a libpq URI (or key=value conninfo) to yoyo's
    ``postgresql+psycopg://`` URL. A Unix-socket host (``?host=/path``) stays a
    query argument, which yoyo hands to ``psycopg.connect`` as it is."""
    return to_uri(conninfo_to_dict(url), scheme="postgresql+psycopg")


def discovery_sql_files(root: Path | None = None) -> list[Path]:
    """The files that build schema ``discovery``, in execution order."""
    root = root or sql_dir()
    files = [root / "schema.sql"]
    files += sorted((root / "types").glob("*.sql"))
    files += sorted((root / "functions").glob("*.sql"))
    files.append(root / "grants.sql")
    return [f for f in files if f.is_file()]


@dataclass
class MigrateResult:
    applied: list[str] = field(default_factory=list)  # yoyo migration ids applied by this run
    sql_files: list[str] = field(default_factory=list)  # discovery files executed


@contextlib.contextmanager
def _locked(url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s::bigint)", (ADVISORY_LOCK_KEY,))
        try:
            yield conn
        finally:
            if not conn.closed:
                conn.execute("SELECT pg_advisory_unlock(%s::bigint)", (ADVISORY_LOCK_KEY,))


# Session settings of the migrations' connection on a Citus coordinator: DDL on
# distributed tables and CREATE FUNCTION in one transaction need one connection
# per node (sequential mode), and trigger DDL on distributed tables needs
# citus.enable_unsafe_triggers.
CITUS_MIGRATION_OPTIONS = "-c citus.multi_shard_modify_mode=sequential -c citus.enable_unsafe_triggers=on"


@contextlib.contextmanager
def _yoyo(url: str, citus: bool = False):
    from yoyo import get_backend, read_migrations

    if citus:
        params = conninfo_to_dict(url)
        params["options"] = " ".join(filter(None, (params.get("options"), CITUS_MIGRATION_OPTIONS)))
        url = make_conninfo(**params)
    backend = get_backend(yoyo_url(url))
    try:
        yield backend, read_migrations(str(migrations_dir()))
    finally:
        with contextlib.suppress(Exception):
            backend.connection.close()


def rebuild_discovery(conn: psycopg.Connection) -> list[str]:
    """Rebuild schema ``discovery`` on ``conn`` in one transaction (``conn``
    must not be inside a transaction already, or the rebuild joins it)."""
    from . import citus

    files = discovery_sql_files()
    on_citus = citus.is_coordinator(conn)
    with conn.transaction():
        conn.execute("SET LOCAL check_function_bodies = off")
        for path in files:
            if on_citus and path.name == "grants.sql":
                _run_step(path, citus.finish_rebuild, conn)
            log.info("executing %s", path)
            text = path.read_text(encoding="utf-8")
            _run_step(path, conn.execute, text)
            if comment := _contract_comment(path, text):
                _run_step(path, conn.execute, comment)
            if on_citus and path.name == "schema.sql":
                _run_step(path, citus.prepare_rebuild, conn)
    return [str(f) for f in files]


def _contract_comment(path: Path, text: str) -> sql.Composed | None:
    """``COMMENT ON FUNCTION`` (or ``TYPE``) for the object a ``functions/`` or
    ``types/`` file creates, from the file's header comment: the contract the
    file states is what ``\\df+`` and ``obj_description`` show."""
    kind = {"functions": "FUNCTION", "types": "TYPE"}.get(path.parent.name)
    header = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        header.append(line[2:].removeprefix(" "))
    if not kind or not header:
        return None
    return sql.SQL("COMMENT ON {} {}.{} IS {}").format(
        sql.SQL(kind), sql.Identifier("discovery"), sql.Identifier(path.stem), sql.Literal("\n".join(header)))


def _run_step(path: Path, fn, *args) -> None:
    try:
        fn(*args)
    except psycopg.Error as exc:
        raise MigrationError(f"{path.relative_to(path.parents[1])}: {exc}") from exc


class MigrationError(RuntimeError):
    """A migration or a ``sql/`` file failed (the message names the file)."""


def migrate(url: str | None = None, *, rebuild: bool = True) -> MigrateResult:
    """Apply pending migrations, then (unless ``rebuild`` is false) rebuild ``discovery``."""
    url = url or database_url()
    result = MigrateResult()
    from . import citus

    with _locked(url) as conn:
        with _yoyo(url, citus=citus.is_coordinator(conn)) as (backend, migrations):
            with backend.lock():
                pending = backend.to_apply(migrations)
                backend.apply_migrations(pending)
                result.applied = [m.id for m in pending]
        _distribute_new_tables(conn)
        if rebuild:
            result.sql_files = rebuild_discovery(conn)
    return result


def _distribute_new_tables(conn: psycopg.Connection) -> None:
    """On a distributed Citus database: distribute the tables the migrations
    just created (their keys saved and re-added), in one transaction."""
    from . import citus

    if not (citus.is_coordinator(conn) and citus.is_distributed(conn)):
        return
    try:
        with conn.transaction():
            report = citus.distribute_in_transaction(conn, owner_login=False, functions=False)
    except (psycopg.Error, citus.CitusError) as exc:
        raise MigrationError(f"citus: distributing the new tables: {exc}") from exc
    if report.tables_distributed:
        log.info("citus: distributed %s", ", ".join(report.tables_distributed))
    try:
        citus.ensure_tenant_pin(conn)
    except (psycopg.Error, citus.CitusError) as exc:
        raise MigrationError(f"citus: the tenant pin operator: {exc}") from exc


def rollback(url: str | None = None, count: int = 1) -> list[str]:
    """Roll back the ``count`` newest applied migrations; returns their ids."""
    from . import citus

    url = url or database_url()
    with _locked(url) as conn:
        with _yoyo(url, citus=citus.is_coordinator(conn)) as (backend, migrations):
            with backend.lock():
                newest = backend.to_rollback(migrations)[:count]
                backend.rollback_migrations(newest)
                return [m.id for m in newest]


def applied_migrations(url: str) -> list[str]:
    """Ids of the applied migrations, oldest first."""
    with _yoyo(url) as (backend, migrations):
        applied = set(backend.get_applied_migration_hashes())
        return [m.id for m in migrations if m.hash in applied]


def is_migrated(conn: psycopg.Connection) -> bool:
    """Whether the database holds schema ``migration`` (the migrations ran) and
    schema ``discovery`` (the API was built)."""
    row = conn.execute("SELECT to_regnamespace('migration') IS NOT NULL"
                       " AND to_regnamespace('discovery') IS NOT NULL").fetchone()
    return bool(row and row[0])


def ensure_migrated(url: str) -> bool:
    """Migrate the database at ``url`` unless :func:`is_migrated`; True when it did."""
    with psycopg.connect(url, autocommit=True) as conn:
        if is_migrated(conn):
            return False
    migrate(url)
    return True


@dataclass(frozen=True)
class ConstraintCheck:
    """One NOT VALID constraint of schema ``migration`` and how its VALIDATE went."""

    relation: str
    name: str
    error: psycopg.Error | None  # None: it validated

    @property
    def reason(self) -> str:
        if self.error is None:
            return "validated"
        diag = self.error.diag
        return f"{diag.message_primary}" + (f" ({diag.message_detail})" if diag.message_detail else "")


def validate_constraints(conn: psycopg.Connection) -> list[ConstraintCheck]:
    """VALIDATE each NOT VALID constraint of schema ``migration`` (the ones a
    migration added without checking existing rows), each in its own savepoint
    of ``conn``'s transaction: one that rows still violate stays NOT VALID and
    the others go on. The caller commits."""
    pending = conn.execute("""
        SELECT c.conrelid::regclass::text, c.conname
          FROM pg_catalog.pg_constraint AS c
         WHERE c.connamespace = 'migration'::regnamespace AND NOT c.convalidated
         ORDER BY 1, 2""").fetchall()
    checks = []
    for relation, name in pending:
        try:
            with conn.transaction():
                conn.execute(sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(
                    sql.SQL(relation), sql.Identifier(name)))
            checks.append(ConstraintCheck(relation, name, None))
        except psycopg.Error as exc:
            checks.append(ConstraintCheck(relation, name, exc))
    return checks
