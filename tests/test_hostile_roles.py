"""Hostile roles: privileges, locks and resource abuse.

Three login roles act: the backend's (``app_conn``, only discovery_app), the
analyst's (``analyst_conn``, only discovery_analyst) and an unrelated login
role holding no role of the project. Each tries what it can against a
tenant's tables and locks; every refused statement fails with its exact
SQLSTATE and changes nothing, and no session of these roles can delay an
import of the tenant: the importing session runs with a lock_timeout, so a
block fails the test (55P03) instead of hanging.
"""

from __future__ import annotations

import contextlib
import uuid

import psycopg
import pytest

from _support import (
    APP_ROLE,
    add_raw_records,
    build_world,
    cloned_database,
    create_assets,
    create_data_import,
    ensure_stranger_role,
    get_asset,
    j,
    list_assets,
    records_of,
    refused,
    resolve_conflict,
    row,
    snapshot,
    start_discovery_flow,
    unchanged,
    undo_import,
    val,
)

TABLES = (
    "asset_changes", "asset_conflict_resolutions", "asset_counts", "asset_inventory_runs", "assets",
    "assets_wired_in_transaction", "client_accounts", "crewai_flow_state_extensions", "data_imports",
    "discovery_flows", "engagements", "import_field_mappings", "raw_import_records", "record_counts",
    "tenants_unverified", "wiring_checks_pending",
)


@pytest.fixture(scope="module")
def db_url(server_url, template_url):
    """One database for the module; each test builds its own tenant."""
    with cloned_database(server_url, template_url) as url:
        yield url


@pytest.fixture(scope="module")
def stranger_role(server_url, template_url):
    with psycopg.connect(server_url, autocommit=True) as admin:
        return ensure_stranger_role(admin)


@pytest.fixture
def stranger_conn(db_url, stranger_role):
    connection = psycopg.connect(db_url, user=stranger_role, autocommit=False)
    try:
        yield connection
    finally:
        connection.rollback()
        connection.close()


@pytest.fixture
def world(app_conn):
    return build_world(app_conn)


def test_the_tables_listed_are_every_table_of_schema_migration(conn):
    assert tuple(snapshot(conn)) == TABLES


# -- privileges ----------------------------------------------------------------------------------------------------

TABLE_STATEMENTS = {
    "select": "select * from migration.{t} limit 1",
    "delete": "delete from migration.{t}",
    "truncate": "truncate migration.{t}",
    "lock": "lock table migration.{t} in access exclusive mode",
}


@pytest.mark.parametrize("statement", list(TABLE_STATEMENTS))
@pytest.mark.parametrize("table", TABLES)
def test_the_backend_role_touches_no_table(conn, app_conn, world, table, statement):
    with refused(conn, app_conn, "42501"):
        app_conn.execute(TABLE_STATEMENTS[statement].format(t=table))


@pytest.mark.parametrize("role", ["analyst", "stranger"])
@pytest.mark.parametrize("table", ["assets", "raw_import_records", "engagements", "data_imports"])
@pytest.mark.parametrize("statement", ["select", "delete"])
def test_the_analyst_and_a_stranger_touch_no_table(conn, analyst_conn, stranger_conn, world, role, table,
                                                   statement):
    acting = analyst_conn if role == "analyst" else stranger_conn
    with refused(conn, acting, "42501"):
        acting.execute(TABLE_STATEMENTS[statement].format(t=table))


PRIVATE = [
    "select discovery._lock_tenant_assets(%(c)s::uuid, %(e)s::uuid)",
    "select discovery._undo_import(%(c)s::uuid, %(e)s::uuid, %(i)s::uuid)",
    "select discovery._repair_wiring(%(c)s::uuid, %(e)s::uuid)",
    "select discovery._verify_tenant(%(c)s::uuid, %(e)s::uuid)",
    "select discovery._raise('WR001', 'm', 'd', 'h')",
    "select discovery._sync_flow_state(%(c)s::uuid, %(e)s::uuid, %(f)s::uuid)",
    "select migration.identity_text('x')",
    "set role discovery_owner",
    "set role discovery_analyst",
    "create table discovery.evil (id int)",
    "create function discovery.evil() returns int language sql return 1",
    "create table migration.evil (id int)",
    "alter function discovery.list_assets(uuid, uuid, uuid, integer, integer, text, text) security invoker",
    "alter function discovery.list_assets(uuid, uuid, uuid, integer, integer, text, text) set search_path = public",
    "drop function discovery.wiring_health(uuid, uuid, boolean)",
    "comment on function discovery.wiring_health(uuid, uuid, boolean) is 'owned'",
    "grant discovery_owner to current_user",
    "set session_replication_role = replica",
    "create table discovery_health.evil (id int)",
    "alter default privileges for role discovery_owner in schema migration grant select on tables to public",
]


@pytest.mark.parametrize("statement", PRIVATE, ids=[f"private-{i}" for i in range(len(PRIVATE))])
def test_the_backend_role_cannot_reach_past_the_api(conn, app_conn, world, statement):
    params = {"c": world.tenant.client_account_id, "e": world.tenant.engagement_id,
              "i": world.done.data_import_id, "f": world.done.discovery_flow_id}
    with refused(conn, app_conn, "42501"):
        app_conn.execute(statement, params if "%(" in statement else None)


@pytest.mark.parametrize("role", ["analyst", "stranger"])
@pytest.mark.parametrize("function", ["list_assets", "wiring_health", "create_assets_from_discovery", "undo_import"])
def test_the_analyst_and_a_stranger_cannot_call_the_api(conn, analyst_conn, stranger_conn, world, role, function):
    acting = analyst_conn if role == "analyst" else stranger_conn
    arguments = {"list_assets": "", "wiring_health": "",
                 "create_assets_from_discovery": f", p_discovery_flow_id => '{world.pending.discovery_flow_id}'",
                 "undo_import": f", p_data_import_id => '{world.done.data_import_id}', p_dry_run => false"}[function]
    with refused(conn, acting, "42501"):
        acting.execute(f"select discovery.{function}(p_client_account_id => %s::uuid,"
                       f" p_engagement_id => %s::uuid{arguments})", tuple(world.tenant))


@pytest.mark.parametrize("role", ["analyst", "stranger"])
@pytest.mark.parametrize("statement", ["create table discovery_health.evil (id int)",
                                       "create function discovery_health.evil() returns int language sql return 1",
                                       "create view discovery_health.wiring_health_evil as select 1 as x"])
def test_the_analyst_and_a_stranger_create_nothing_where_analysts_read(conn, analyst_conn, stranger_conn, role,
                                                                      statement):
    acting = analyst_conn if role == "analyst" else stranger_conn
    with refused(conn, acting, "42501"):
        acting.execute(statement)


@pytest.mark.parametrize("role", ["analyst", "stranger"])
@pytest.mark.parametrize("signal", ["pg_cancel_backend", "pg_terminate_backend"])
def test_the_analyst_and_a_stranger_cannot_stop_an_import(conn, db_url, analyst_conn, stranger_conn, world, role,
                                                          signal):
    acting = analyst_conn if role == "analyst" else stranger_conn
    with psycopg.connect(db_url, user=APP_ROLE) as importer:
        importer.execute("select discovery.list_assets(p_client_account_id => %s::uuid, p_engagement_id => %s::uuid)",
                         tuple(world.tenant))
        with refused(conn, acting, "42501"):
            acting.execute(f"select {signal}(%s::integer)", (importer.info.backend_pid,))
        importer.rollback()
    import_now(db_url, world)


def test_temporary_tables_named_like_the_tables_change_nothing_the_api_does(conn, db_url, world):
    with psycopg.connect(db_url, user=APP_ROLE) as shadow:
        for table in ("engagements", "assets", "raw_import_records", "data_imports", "discovery_flows"):
            shadow.execute(f"create temporary table {table} (like pg_catalog.pg_class)")
        shadow.execute("set search_path = pg_temp, public")
        data_import_id = create_data_import(shadow, world.tenant, import_name="shadowed")
        add_raw_records(shadow, world.tenant, data_import_id, [{"hostname": "web01"}, {"hostname": "shadow01"}])
        flow = start_discovery_flow(shadow, world.tenant, data_import_id)
        result = create_assets(shadow, world.tenant, flow["discovery_flow_id"])
        shadow.commit()
    assert (result["created"], result["matched"]) == (1, 1)
    assert val(conn, "select count(*) from migration.assets where client_account_id = %s and hostname = 'shadow01'",
               (world.tenant.client_account_id,)) == 1


# -- DELETE of a wired asset -----------------------------------------------------------------------------------------

def wired_asset(world):
    return next(r["asset_id"] for r in world.done_records if r["processing_status"] == "created")


@contextlib.contextmanager
def acting_as(conn, role):
    """The superuser connection as ``role`` (committed, so that the rollbacks
    of ``unchanged`` keep it) until the block ends."""
    if role:
        conn.execute(f"set role {role}")
        conn.commit()
    try:
        yield
    finally:
        conn.rollback()
        conn.execute("reset role")
        conn.commit()


@pytest.mark.parametrize("as_role", ["discovery_owner", None], ids=["owner", "superuser"])
def test_deleting_a_wired_asset_raises_and_leaves_it(conn, world, as_role):
    asset_id = wired_asset(world)
    with acting_as(conn, as_role), unchanged(conn):
        with pytest.raises(psycopg.errors.ForeignKeyViolation) as info, conn.transaction():
            conn.execute("delete from migration.assets where client_account_id = %s and id = %s",
                         (world.tenant.client_account_id, asset_id))
        assert "raw_import_records" in str(info.value)
        conn.commit()
    assert val(conn, "select deleted_at from migration.assets where id = %s", (asset_id,)) is None


def test_the_backend_role_cannot_delete_a_wired_asset(conn, app_conn, world):
    with refused(conn, app_conn, "42501"):
        app_conn.execute("delete from migration.assets where id = %s", (wired_asset(world),))
    assert get_asset(app_conn, world.tenant, wired_asset(world))["asset"]["deleted_at"] is None


def test_deleting_a_wired_assets_raw_record_raises_too(conn, world):
    record_id = next(r["id"] for r in world.done_records if r["processing_status"] == "created")
    with acting_as(conn, "discovery_owner"), unchanged(conn):
        with pytest.raises(psycopg.errors.ForeignKeyViolation), conn.transaction():
            conn.execute("delete from migration.raw_import_records where id = %s", (record_id,))
        conn.commit()


# -- locks: nobody without write access delays an import ---------------------------------------------------------------

def import_now(db_url, world, lock_timeout="3s"):
    """A whole import of the world's tenant in a session of its own, as the
    backend: it reads and writes the tenant's assets (web01 matched, one new)
    and commits; a wait on any lock longer than lock_timeout fails it."""
    with psycopg.connect(db_url, user=APP_ROLE) as importer:
        importer.execute(f"set lock_timeout = '{lock_timeout}'")
        importer.execute("set statement_timeout = '60s'")
        data_import_id = create_data_import(importer, world.tenant, import_name="while attacked")
        add_raw_records(importer, world.tenant, data_import_id,
                        [{"hostname": "web01", "operating_system": "linux"}, {"hostname": f"new-{uuid.uuid4()}"}])
        flow = start_discovery_flow(importer, world.tenant, data_import_id)
        result = create_assets(importer, world.tenant, flow["discovery_flow_id"])
        importer.commit()
    assert (result["created"], result["matched"]) == (1, 1), result
    return result


def guessable_keys(world):
    c, e = (str(x) for x in world.tenant)
    return [
        ("hashtextextended(%s, 0)", f"discovery_wiring.assets:{c}:{e}"),
        ("hashtextextended(%s, 0)", f"discovery_wiring.assets:{c}/{e}"),
        ("hashtextextended(%s, 0)", f"{c}:{e}"),
        ("hashtextextended(%s, 0)", c),
        ("hashtext(%s)::bigint", f"discovery_wiring.assets:{c}:{e}"),
        ("hashtext(%s)::bigint", e),
        ("('x' || left(replace(%s, '-', ''), 15))::bit(60)::bigint", c),
        ("('x' || left(replace(%s, '-', ''), 15))::bit(60)::bigint", e),
    ]


ATTACKS = {
    # name: (roles that may try it, statement or callable, SQLSTATE it gets or None)
    "for-no-key-update-engagement": "select 1 from migration.engagements where id = %(e)s for no key update",
    "for-update-engagement": "select 1 from migration.engagements where id = %(e)s for update",
    "for-share-engagement": "select 1 from migration.engagements where id = %(e)s for share",
    "for-update-assets": "select 1 from migration.assets where client_account_id = %(c)s for update",
    "for-key-share-imports": "select 1 from migration.data_imports where client_account_id = %(c)s for key share",
    "lock-assets": "lock table migration.assets in share mode",
    "lock-engagements": "lock table migration.engagements in access exclusive mode",
    "lock-counts": "lock table migration.asset_counts in exclusive mode",
}

READS = {
    "list-assets": "select discovery.list_assets(p_client_account_id => %(c)s, p_engagement_id => %(e)s)",
    "wiring-health": "select discovery.wiring_health(p_client_account_id => %(c)s, p_engagement_id => %(e)s,"
                     " p_detail => true)",
    "list-conflicts": "select discovery.list_conflicts(p_client_account_id => %(c)s, p_engagement_id => %(e)s)",
    "list-raw-records": "select discovery.list_raw_records(p_client_account_id => %(c)s, p_engagement_id => %(e)s)",
    "list-data-imports": "select discovery.list_data_imports(p_client_account_id => %(c)s,"
                         " p_engagement_id => %(e)s)",
    "resolve-flow": "select * from discovery.resolve_flow(p_client_account_id => %(c)s, p_engagement_id => %(e)s,"
                    " p_any_flow_id => %(f)s)",
    "suggest": "select * from discovery.suggest_field_mappings(p_client_account_id => %(c)s,"
               " p_engagement_id => %(e)s, p_data_import_id => %(p)s)",
    "undo-dry-run": "select discovery.undo_import(p_client_account_id => %(c)s, p_engagement_id => %(e)s,"
                    " p_data_import_id => %(i)s)",
    "repair-dry-run": "select discovery.repair_wiring(p_client_account_id => %(c)s, p_engagement_id => %(e)s)",
    "create-assets-dry-run": "select * from discovery.create_assets_from_discovery(p_client_account_id => %(c)s,"
                             " p_engagement_id => %(e)s, p_discovery_flow_id => %(pf)s, p_dry_run => true)",
    "register-again": "select discovery.register_tenant(p_client_account_id => %(c)s, p_engagement_id => %(e)s,"
                      " p_client_name => 'Client', p_engagement_name => 'Engagement')",
}


def attacker_for(role, app_other, analyst_conn, stranger_conn):
    if role == "analyst":
        analyst_conn.autocommit = False
        return analyst_conn
    return app_other if role == "app" else stranger_conn


@pytest.fixture
def app_other(db_url, login_roles):
    """A second session of the backend's role: the attacker."""
    connection = psycopg.connect(db_url, user=APP_ROLE, autocommit=False)
    try:
        yield connection
    finally:
        connection.rollback()
        connection.close()


def params_of(world):
    return {"c": world.tenant.client_account_id, "e": world.tenant.engagement_id, "i": world.done.data_import_id,
            "f": world.done.flow_id, "p": world.pending.data_import_id, "pf": world.pending.discovery_flow_id}


def holds_then_import(conn, db_url, attacker, world, statement, sqlstate):
    """The attacker runs ``statement`` and keeps its transaction open while
    the import runs; then it COMMITs, which must change nothing."""
    if sqlstate is None:
        attacker.execute(statement, params_of(world))
    else:
        with pytest.raises(psycopg.Error) as info:
            attacker.execute(statement, params_of(world))
        assert info.value.sqlstate == sqlstate, info.value
    import_now(db_url, world)
    conn.rollback()
    after_import = snapshot(conn)
    attacker.commit()
    conn.rollback()
    assert snapshot(conn) == after_import


@pytest.mark.parametrize("key", range(8))
@pytest.mark.parametrize("role", ["app", "analyst", "stranger"])
def test_an_advisory_lock_on_a_guessable_key_delays_no_import(conn, db_url, app_other, analyst_conn, stranger_conn,
                                                              world, role, key):
    attacker = attacker_for(role, app_other, analyst_conn, stranger_conn)
    expression, text = guessable_keys(world)[key]
    attacker.execute(f"select pg_advisory_lock({expression}), pg_advisory_xact_lock({expression})", (text, text))
    try:
        holds_then_import(conn, db_url, attacker, world, "select 1", None)
    finally:
        attacker.execute("select pg_advisory_unlock_all()")
        attacker.commit()


@pytest.mark.parametrize("attack", list(ATTACKS))
@pytest.mark.parametrize("role", ["app", "analyst", "stranger"])
def test_a_row_or_table_lock_is_refused_and_delays_no_import(conn, db_url, app_other, analyst_conn, stranger_conn,
                                                            world, role, attack):
    attacker = attacker_for(role, app_other, analyst_conn, stranger_conn)
    holds_then_import(conn, db_url, attacker, world, ATTACKS[attack], "42501")


@pytest.mark.parametrize("isolation", ["read committed", "repeatable read", "serializable"])
@pytest.mark.parametrize("read", list(READS))
def test_an_open_transaction_of_the_backend_role_after_a_read_delays_no_import(conn, db_url, app_other, world, read,
                                                                              isolation):
    app_other.execute(f"set transaction isolation level {isolation}")
    holds_then_import(conn, db_url, app_other, world, READS[read], None)


def test_an_undo_dry_run_holds_the_import_row_so_no_undo_interleaves(conn, db_url, app_other, world):
    """A dry run locks the import's row like the real run: a real undo of the
    same import waits for it (here: fails on its lock_timeout), while an
    import of the tenant goes on."""
    report = undo_import(app_other, world.tenant, world.done.data_import_id)
    assert report["dry_run"] and report["assets_deleted"] == 3
    with psycopg.connect(db_url, user=APP_ROLE) as second:
        second.execute("set lock_timeout = '500ms'")
        with unchanged(conn), pytest.raises(psycopg.errors.LockNotAvailable):
            undo_import(second, world.tenant, world.done.data_import_id, dry_run=False)
        second.rollback()
        import_now(db_url, world)
        app_other.rollback()
        # web01 is now linked by the new import too: it stays, re-homed
        assert undo_import(second, world.tenant, world.done.data_import_id, dry_run=False)["assets_deleted"] == 2
        second.commit()


def test_a_real_undo_in_progress_holds_off_a_dry_run_of_the_same_import(conn, db_url, app_other, world):
    undo_import(app_other, world.tenant, world.done.data_import_id, dry_run=False)
    with psycopg.connect(db_url, user=APP_ROLE) as second:
        second.execute("set lock_timeout = '500ms'")
        with unchanged(conn), pytest.raises(psycopg.errors.LockNotAvailable):
            undo_import(second, world.tenant, world.done.data_import_id)
    app_other.rollback()


def test_a_writer_of_the_tenant_does_delay_an_import_until_it_commits(conn, db_url, app_other, world):
    """The counter-check: the lock that serialises writers is real."""
    resolve_conflict(app_other, world.tenant, world.conflict["id"], "create_new")
    with pytest.raises(psycopg.errors.LockNotAvailable):
        import_now(db_url, world, lock_timeout="500ms")
    app_other.commit()
    import_now(db_url, world)


# -- resource abuse ----------------------------------------------------------------------------------------------------

def test_a_page_size_of_two_billion_is_capped(conn, app_conn, world):
    with unchanged(conn):
        page = list_assets(app_conn, world.tenant, page=2147483647, page_size=2147483647)
        app_conn.commit()
    assert page["assets"] == [] and page["pagination"]["page_size"] == 200
    assert page["metadata"]["page_size_capped"] is True


def test_a_payload_of_50001_elements_is_refused_before_any_work(conn, app_conn, world):
    payload = "[" + ",".join(['{"hostname": "x"}'] * 50_001) + "]"
    with refused(conn, app_conn, "WR005", "50001"):
        add_raw_records(app_conn, world.tenant, world.pending.data_import_id, payload)


def test_a_one_megabyte_value_is_kept_as_a_custom_attribute(conn, app_conn, world):
    add_raw_records(app_conn, world.tenant, world.pending.data_import_id,
                    [{"hostname": "big", "notes": "z" * 1_000_000}])
    result = create_assets(app_conn, world.tenant, world.pending.discovery_flow_id)
    app_conn.commit()
    assert result["created"] == 3
    record = next(r for r in records_of(app_conn, world.tenant, world.pending.data_import_id)
                  if r["row_number"] == 3)
    assert len(get_asset(app_conn, world.tenant, record["asset_id"])["asset"]["custom_attributes"]["notes"]) == \
        1_000_000


@pytest.mark.parametrize("field", ["environment", "hostname", "ip_address", "nest"])
def test_a_value_nested_thousands_deep_fails_no_batch(conn, app_conn, world, field):
    """(Read back in SQL: Python's JSON decoder cannot hold such a value.)"""
    nested = "[" * 5000 + '"x"' + "]" * 5000
    add_raw_records(app_conn, world.tenant, world.pending.data_import_id,
                    f'[{{"name": "deep", "{field}": {nested}}}]')
    result = create_assets(app_conn, world.tenant, world.pending.discovery_flow_id)
    app_conn.commit()
    assert (result["created"], result["invalid"]) == (3, 0)
    tenant = {"c": world.tenant.client_account_id, "e": world.tenant.engagement_id,
              "i": world.pending.data_import_id, "field": field, "nested": nested}
    record = row(app_conn, """
        select r ->> 'processing_status' as status, (r ->> 'asset_id')::uuid as asset_id,
               (select array_agg(w ->> 'field') from jsonb_array_elements(r -> 'validation_errors') as w) as warned
          from jsonb_array_elements(discovery.list_raw_records(p_client_account_id => %(c)s::uuid,
                   p_engagement_id => %(e)s::uuid, p_data_import_id => %(i)s::uuid) -> 'records') as r
         where (r ->> 'row_number')::integer = 3""", tenant)
    stored = row(app_conn, """
        select a -> 'custom_attributes' -> 'nest' = %(nested)s::jsonb as kept, a ->> %(field)s as value
          from (select discovery.get_asset(p_client_account_id => %(c)s::uuid, p_engagement_id => %(e)s::uuid,
                                           p_asset_id => %(a)s::uuid) -> 'asset' as a) as x""",
                 {**tenant, "a": record["asset_id"]})
    assert record["status"] == "created"
    if field == "nest":
        assert stored["kept"] and record["warned"] is None
    else:
        assert stored["value"] is None and record["warned"] == [field]


def test_a_thousand_mappings_are_one_call(conn, app_conn, world):
    mapping = [{"source_field": f"column {i}", "target_field": f"attribute_{i}"} for i in range(1000)]
    assert val(app_conn, "select discovery.set_field_mappings(p_client_account_id => %s::uuid,"
                         " p_engagement_id => %s::uuid, p_data_import_id => %s::uuid, p_mappings => %s::jsonb)",
               (*world.tenant, world.pending.data_import_id, j(mapping))) == 1000
    app_conn.commit()
