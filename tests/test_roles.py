"""Roles and grants (DESIGN.md, "Schemas and roles"; issue 2, acceptance 4): a
login role holding only discovery_app may touch no `migration` table and no
`_` helper, yet runs and COMMITS the whole flow through the API, on this
server (PostgreSQL 15, where deferred triggers run as the committing role).
A login role holding only discovery_analyst reads no `migration` table."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from _support import (
    ANALYST_ROLE,
    APP_ROLE,
    MIGRATION_TABLES,
    T,
    add_raw_records,
    cleanse_records,
    create_assets,
    create_data_import,
    list_assets,
    list_conflicts,
    list_raw_records,
    persist_cleansed_data,
    raw_records,
    register_tenant,
    resolve_flow,
    row,
    rows,
    set_field_mappings,
    start_discovery_flow,
    suggest_field_mappings,
    val,
    wiring_health,
)

INSUFFICIENT_PRIVILEGE = "42501"


def denied(connection: psycopg.Connection, query: str, params=None) -> str | None:
    """None when the statement fails with insufficient_privilege, else what happened."""
    try:
        with connection.transaction():
            connection.execute(query, params)
    except psycopg.Error as error:
        if error.sqlstate == INSUFFICIENT_PRIVILEGE:
            return None
        return f"{error.sqlstate}: {error}"
    return "succeeded"


def table_statements(table: str) -> dict[str, str]:
    return {
        "SELECT": f"select * from migration.{table} limit 1",
        "INSERT": f"insert into migration.{table} default values",
        "UPDATE": f"update migration.{table} set created_at = created_at",
        "DELETE": f"delete from migration.{table}",
        "TRUNCATE": f"truncate migration.{table}",
    }


def migration_tables(conn) -> list[str]:
    tables = [r["tablename"] for r in rows(
        conn, "select tablename from pg_tables where schemaname = 'migration' order by 1")]
    assert set(MIGRATION_TABLES) <= set(tables)
    return tables


def test_the_login_roles_hold_only_their_group_role(conn, login_roles):
    for role, group in ((APP_ROLE, "discovery_app"), (ANALYST_ROLE, "discovery_analyst")):
        groups = [r["rolname"] for r in rows(
            conn, "select g.rolname from pg_auth_members m join pg_roles g on g.oid = m.roleid"
                  " join pg_roles u on u.oid = m.member where u.rolname = %s", (role,))]
        assert groups == [group]
        attrs = row(conn, "select rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolcanlogin"
                          " from pg_roles where rolname = %s", (role,))
        assert attrs == {"rolsuper": False, "rolcreaterole": False, "rolcreatedb": False,
                         "rolbypassrls": False, "rolcanlogin": True}
    for group in ("discovery_owner", "discovery_app", "discovery_analyst"):
        assert val(conn, "select rolcanlogin from pg_roles where rolname = %s", (group,)) is False


def test_app_cannot_read_or_write_any_migration_table(conn, app_conn):
    failures = []
    for table in migration_tables(conn):
        for verb, query in table_statements(table).items():
            outcome = denied(app_conn, query)
            if outcome:
                failures.append(f"{verb} migration.{table}: {outcome}")
    assert failures == []
    for table in migration_tables(conn):
        for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"):
            assert not val(conn, "select has_table_privilege(%s, %s, %s)",
                           (APP_ROLE, f"migration.{table}", privilege)), (table, privilege)


def test_app_cannot_execute_private_helpers_or_trigger_functions(conn, app_conn):
    private = rows(conn, r"""select p.oid::regprocedure::text as signature, n.nspname
                               from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                              where (n.nspname = 'discovery' and p.proname like '\_%')
                                 or n.nspname = 'migration'""")
    assert len([p for p in private if p["nspname"] == "discovery"]) >= 10
    for p in private:
        assert not val(conn, "select has_function_privilege(%s, %s, 'EXECUTE')", (APP_ROLE, p["signature"])), p
    t = T(uuid.uuid4(), uuid.uuid4())
    for query, params in (
        ("select discovery._asset_columns()", None),
        ("select discovery._raise('WR001', 'm', 'd', 'h')", None),
        ("select discovery._assert_tenant(%s::uuid, %s::uuid)", tuple(t)),
        ("select * from discovery._wiring_gaps(%s::uuid, %s::uuid, true)", tuple(t)),
        ("select discovery._lock_tenant_assets(%s::uuid, %s::uuid)", tuple(t)),
        ("select migration.assert_asset_wired(%s::uuid, %s::uuid)", tuple(t)),
    ):
        assert denied(app_conn, query, params) is None, query


def test_every_public_function_is_a_pinned_security_definer_the_app_may_execute(conn):
    public = rows(conn, r"""select p.oid::regprocedure::text as signature, p.prosecdef,
                                   pg_get_userbyid(p.proowner) as owner, p.proconfig
                              from pg_proc p
                             where p.pronamespace = 'discovery'::regnamespace and p.proname not like '\_%'""")
    assert len(public) >= 12
    for p in public:
        assert p["prosecdef"] and p["owner"] == "discovery_owner", p
        assert any(c.startswith("search_path=") for c in (p["proconfig"] or [])), p
        assert val(conn, "select has_function_privilege(%s, %s, 'EXECUTE')", (APP_ROLE, p["signature"])), p
        assert not val(conn, "select has_function_privilege(%s, %s, 'EXECUTE')", (ANALYST_ROLE, p["signature"])), p


def test_app_cannot_create_objects_in_the_schemas(app_conn):
    for query in ("create table discovery.sneaky (i int)", "create table migration.sneaky (i int)",
                  "create function discovery.sneaky() returns int language sql return 1"):
        assert denied(app_conn, query) is None, query


def test_app_runs_and_commits_the_whole_flow(conn, app_conn):
    c = app_conn
    assert val(c, "select current_user") == APP_ROLE
    c.commit()
    t = T(uuid.uuid4(), uuid.uuid4())
    register_tenant(c, t, "App client", "App engagement")
    register_tenant(c, t, "App client", "App engagement")
    c.commit()

    # a first import: assets that the second one meets
    first = create_data_import(c, t, "first", "cmdb", "first.csv")
    add_raw_records(c, t, first, [{"Server Name": "h-conf"}, {"Server Name": "", "IP Address": "10.7.7.7"}])
    c.commit()
    ids = start_discovery_flow(c, t, first)
    c.commit()
    suggestions = suggest_field_mappings(c, t, first)
    assert {s["source_field"]: s["target_field"] for s in suggestions}["Server Name"] == "hostname"
    set_field_mappings(c, t, first, [{"source_field": s["source_field"], "target_field": s["target_field"]}
                                     for s in suggestions])
    c.commit()
    assert cleanse_records(c, t, ids["discovery_flow_id"]) == {"cleansed": 2, "invalid": 0}
    c.commit()
    result = create_assets(c, t, ids["discovery_flow_id"])
    c.commit()  # deferred wiring triggers run now, as the app role
    assert (result["created"], result["invalid"]) == (2, 0)

    # the second: created, matched (in the call and existing), conflict, invalid, persisted cleansing
    second = create_data_import(c, t, "second", "cmdb", "second.csv")
    add_raw_records(c, t, second, [
        {"Server Name": "web01", "IP Address": "10.0.0.1", "OS": "Ubuntu"},
        {"Server Name": "WEB01", "IP Address": "10.0.0.1"},
        {"Server Name": "h-conf", "IP Address": "10.7.7.7"},
        {"Server Name": " ", "IP Address": "999.1.1.1"},  # no identity left: invalid
        {"Server Name": "H-CONF"},
    ])
    c.commit()
    flow = start_discovery_flow(c, t, second)
    assert start_discovery_flow(c, t, second) == flow
    c.commit()
    set_field_mappings(c, t, second, {"Server Name": "hostname", "IP Address": "ip_address", "OS": "operating_system"})
    c.commit()
    assert cleanse_records(c, t, flow["discovery_flow_id"]) == {"cleansed": 4, "invalid": 1}
    c.commit()
    records = list_raw_records(c, t, data_import_id=second)["records"]  # the IDs, found through the API
    assert [r["row_number"] for r in records] == [1, 2, 3, 4, 5]
    assert persist_cleansed_data(c, t, flow["discovery_flow_id"], [
        {"raw_import_record_id": str(records[0]["id"]),
         "cleansed_data": {"hostname": "web01", "ip_address": "10.0.0.1", "operating_system": "Ubuntu 22.04"}}]) == 1
    c.commit()
    dry = create_assets(c, t, flow["discovery_flow_id"], dry_run=True)
    result = create_assets(c, t, flow["discovery_flow_id"])
    c.commit()
    expected = {"created": 1, "matched": 2, "conflicts": 1, "invalid": 1, "already_linked": 0}
    assert {k: result[k] for k in expected} == {k: dry[k] for k in expected} == expected
    again = create_assets(c, t, flow["discovery_flow_id"])
    c.commit()
    assert again["run_id"] is None and again["created"] == again["matched"] == 0

    health = wiring_health(c, t, detail=True)
    assert health["health_status"] == "healthy", health
    page = list_assets(c, t, flow_id=flow["flow_id"], page_size=500)
    assert page["metadata"]["page_size_capped"] is True
    assert [a["hostname"] for a in page["assets"]] == ["web01"]
    assert page["assets"][0]["operating_system"] == "Ubuntu 22.04"
    assert list_assets(c, t)["pagination"]["total_count"] == 3
    assert resolve_flow(c, t, flow["master_flow_id"]) == flow
    c.commit()

    # an API error as the app: a WR code, and the session goes on
    with pytest.raises(psycopg.Error) as info:
        list_assets(c, t, page=0)
    assert info.value.sqlstate == "WR006"
    c.rollback()
    assert wiring_health(c, t)["health_status"] == "healthy"
    c.commit()

    # what the app committed, seen by the superuser
    wired = rows(conn, """
        select a.id, r.asset_id = a.id as points_back, f.master_flow_id = a.master_flow_id as same_master
          from migration.assets a
          join migration.raw_import_records r
            on r.client_account_id = a.client_account_id and r.id = a.raw_import_records_id
          join migration.discovery_flows f on f.client_account_id = a.client_account_id and f.id = a.discovery_flow_id
         where a.client_account_id = %s and a.discovery_method = 'flow_based'""", (t.client_account_id,))
    assert len(wired) == 3 and all(w["points_back"] and w["same_master"] for w in wired)
    statuses = [r["processing_status"] for r in raw_records(conn, second)]
    assert statuses == ["created", "matched", "conflict", "invalid", "matched"]
    assert val(conn, "select count(*) from migration.asset_conflict_resolutions where client_account_id = %s"
                     " and resolution_status = 'pending'", (t.client_account_id,)) == 1
    assert val(conn, "select count(*) from migration.asset_inventory_runs where client_account_id = %s",
               (t.client_account_id,)) == 2


def test_app_resolves_a_conflict_and_commits(conn, app_conn):
    """resolve_asset_conflict rewires a record as the app; the deferred checks at
    its COMMIT run as the app role too."""
    c = app_conn
    t = T(uuid.uuid4(), uuid.uuid4())
    register_tenant(c, t, "App client", "App engagement")
    for records in ([{"hostname": "h-conf"}], [{"ip_address": "10.7.7.7"}],
                    [{"hostname": "h-conf", "ip_address": "10.7.7.7", "operating_system": "RHEL"}]):
        imp = create_data_import(c, t)
        add_raw_records(c, t, imp, records)
        ids = start_discovery_flow(c, t, imp)
        create_assets(c, t, ids["discovery_flow_id"])
        c.commit()
    (conflict,) = list_conflicts(c, t)["conflicts"]  # found through the API
    asset_id = val(c, "select discovery.resolve_asset_conflict(p_client_account_id => %s::uuid,"
                      " p_engagement_id => %s::uuid, p_conflict_id => %s::uuid, p_action => 'merge'::text,"
                      " p_merge_fields => %s::jsonb)", (*t, conflict["id"], '["operating_system"]'))
    c.commit()
    assert str(asset_id) == conflict["existing_asset_id"]
    assert wiring_health(c, t)["health_status"] == "healthy"
    c.commit()
    record = row(conn, "select * from migration.raw_import_records where id = %s", (conflict["raw_import_record_id"],))
    assert record["asset_id"] == asset_id and record["processing_status"] == "matched"


def test_analyst_cannot_read_migration_tables_nor_call_the_api(conn, analyst_conn):
    failures = []
    for table in migration_tables(conn):
        for verb, query in table_statements(table).items():
            outcome = denied(analyst_conn, query)
            if outcome:
                failures.append(f"{verb} migration.{table}: {outcome}")
    assert failures == []
    t = T(uuid.uuid4(), uuid.uuid4())
    assert denied(analyst_conn, "select discovery.wiring_health(p_client_account_id => %s::uuid,"
                                " p_engagement_id => %s::uuid)", tuple(t)) is None
    assert denied(analyst_conn, "select discovery.register_tenant(p_client_account_id => %s::uuid,"
                                " p_engagement_id => %s::uuid, p_client_name => 'x'::text,"
                                " p_engagement_name => 'y'::text)", tuple(t)) is None
    assert val(conn, "select has_schema_privilege(%s, 'discovery_health', 'USAGE')", (ANALYST_ROLE,))
    assert not val(conn, "select has_schema_privilege(%s, 'migration', 'USAGE')", (ANALYST_ROLE,))
    assert not val(conn, "select has_schema_privilege(%s, 'discovery', 'USAGE')", (ANALYST_ROLE,))
    assert not val(conn, "select has_schema_privilege(%s, 'migration', 'USAGE')", (APP_ROLE,))
