"""The migration runner: fresh apply, repeat apply is a no-op, the newest
migration rolls back and re-applies, concurrent runs serialize."""

from __future__ import annotations

import threading
import uuid

import psycopg
import pytest
from psycopg import sql

from discovery_wiring.db import url_with_database
from discovery_wiring.migrate import applied_migrations, discovery_sql_files, migrate, rollback, yoyo_url
from discovery_wiring.resources import migrations_dir, sql_dir

ISSUE_2_FUNCTIONS = {
    "register_tenant", "create_data_import", "add_raw_records", "start_discovery_flow",
    "suggest_field_mappings", "set_field_mappings", "cleanse_records", "persist_cleansed_data",
    "create_assets_from_discovery", "list_assets", "wiring_health", "resolve_flow",
}


@pytest.fixture
def empty_db_url(server_url):
    name = f"dw_empty_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield url_with_database(server_url, name)
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def all_migration_ids() -> list[str]:
    return sorted(p.name.removesuffix(".sql") for p in migrations_dir().glob("*.sql")
                  if not p.name.endswith(".rollback.sql"))


def schema_snapshot(url: str) -> list[tuple]:
    """Tables, columns, constraints, indexes, triggers and functions of the
    migration-owned schemas, with their definitions (and the yoyo log)."""
    with psycopg.connect(url) as conn:
        return conn.execute("""
            SELECT 'column', c.table_schema || '.' || c.table_name || '.' || c.column_name,
                   c.data_type || coalesce(c.column_default, '') || c.is_nullable
              FROM information_schema.columns AS c
             WHERE c.table_schema IN ('migration', 'discovery_health')
            UNION ALL
            SELECT 'constraint', conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid)
              FROM pg_constraint WHERE connamespace = 'migration'::regnamespace
            UNION ALL
            SELECT 'index', schemaname || '.' || indexname, indexdef
              FROM pg_indexes WHERE schemaname = 'migration'
            UNION ALL
            SELECT 'trigger', tgrelid::regclass::text || '.' || tgname, pg_get_triggerdef(oid)
              FROM pg_trigger WHERE NOT tgisinternal
            UNION ALL
            SELECT 'function', p.oid::regprocedure::text, md5(pg_get_functiondef(p.oid))
              FROM pg_proc AS p WHERE p.pronamespace = 'migration'::regnamespace
            ORDER BY 1, 2, 3""").fetchall()


def test_yoyo_url_conversion():
    assert yoyo_url("postgresql://root@127.0.0.1:5432/test") == "postgresql+psycopg://root@127.0.0.1:5432/test"
    assert (yoyo_url("postgresql://postgres:@/discovery?host=/tmp/sock")
            == "postgresql+psycopg://postgres@/discovery?host=%2Ftmp%2Fsock")
    assert yoyo_url("postgres://u:p%40ss@db.example/x?sslmode=require") == \
        "postgresql+psycopg://u:p%40ss@db.example/x?sslmode=require"
    assert yoyo_url("host=/var/run/postgresql dbname=x user=y") == "postgresql+psycopg://y@/x?host=%2Fvar%2Frun%2Fpostgresql"


def test_shipped_sql_is_ordered():
    files = discovery_sql_files()
    root = sql_dir()
    assert files[0] == root / "schema.sql"
    assert files[-1] == root / "grants.sql"
    middle = files[1:-1]
    types = [f for f in middle if f.parent.name == "types"]
    functions = [f for f in middle if f.parent.name == "functions"]
    assert middle == types + functions
    assert types == sorted(types) and functions == sorted(functions)


def test_fresh_apply(empty_db_url):
    result = migrate(empty_db_url)
    assert sorted(result.applied) == all_migration_ids()
    assert applied_migrations(empty_db_url) == sorted(all_migration_ids())
    with psycopg.connect(empty_db_url) as conn:
        schemas = {r[0] for r in conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname IN ('migration', 'discovery', 'discovery_health')")}
        assert schemas == {"migration", "discovery", "discovery_health"}
        functions = {r[0] for r in conn.execute(
            "SELECT proname FROM pg_proc WHERE pronamespace = 'discovery'::regnamespace")}
        assert functions >= ISSUE_2_FUNCTIONS
        roles = {r[0] for r in conn.execute(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE 'discovery\\_%'")}
        assert {"discovery_owner", "discovery_app", "discovery_analyst"} <= roles


def test_repeat_apply_is_a_noop(empty_db_url):
    migrate(empty_db_url)
    before = schema_snapshot(empty_db_url)
    again = migrate(empty_db_url)
    assert again.applied == []
    assert schema_snapshot(empty_db_url) == before


def test_newest_migration_rolls_back_and_reapplies(empty_db_url):
    migrate(empty_db_url)
    full = schema_snapshot(empty_db_url)
    newest = all_migration_ids()[-1]

    assert rollback(empty_db_url) == [newest]
    assert newest not in applied_migrations(empty_db_url)
    assert schema_snapshot(empty_db_url) != full

    again = migrate(empty_db_url)
    assert again.applied == [newest]
    assert schema_snapshot(empty_db_url) == full


def test_concurrent_runs_serialize(empty_db_url):
    results, errors = [], []

    def run():
        try:
            results.append(migrate(empty_db_url))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(m for r in results for m in r.applied) == all_migration_ids()
