"""The invariants the database enforces by itself (DESIGN.md, "Invariants the
database itself enforces"): whoever writes, with the normal
session_replication_role, a cross-tenant link, an unwired flow-based asset, a
discovery_flow_id holding a flow_id, or a write of the legacy flow_id cannot be
committed; wiring an asset by hand in one transaction can."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import psycopg
import pytest

from _support import Flow, add_raw_records, new_tenant, raw_records, row, rows, run_flow, start_flow, val, wiring_health

FK_VIOLATION = "23503"
CHECK_VIOLATION = "23514"
WIRED = "assets_flow_based_wired"
LEGACY = "assets_legacy_flow_id_read_only"


@dataclass
class Side:
    """One tenant's committed flow: a wired asset and an unlinked raw record."""

    flow: Flow
    asset_id: uuid.UUID  # wired, created by the API
    record_id: uuid.UUID  # the asset's raw record
    free_record_id: uuid.UUID  # a record of the same import, not processed, no asset
    other_asset_id: uuid.UUID  # a second wired asset of the flow

    @property
    def tenant(self):
        return self.flow.tenant


def make_side(conn, tenant) -> Side:
    flow, result = run_flow(conn, tenant, [{"hostname": "h1"}, {"hostname": "h2"}])
    assert result["created"] == 2
    add_raw_records(conn, tenant, flow.data_import_id, [{"hostname": "free"}])
    first, second, free = raw_records(conn, flow.data_import_id)
    return Side(flow, first["asset_id"], first["id"], free["id"], second["asset_id"])


@pytest.fixture(params=["superuser", "discovery_owner"])
def writer(request):
    """Who writes: the superuser the tests connect as, or the tables' owner."""
    return request.param


@pytest.fixture
def sides(conn):
    a = new_tenant(conn, name="A")
    sibling = new_tenant(conn, client_account_id=a.client_account_id, name="A")  # same client, other engagement
    b = new_tenant(conn, name="B")
    result = {"a": make_side(conn, a), "sibling": make_side(conn, sibling), "b": make_side(conn, b)}
    conn.commit()
    return result


def become(conn, writer):
    """Switch the session to the writer (committed, so a rolled-back attempt keeps it)."""
    conn.execute("reset role" if writer == "superuser" else "set role discovery_owner")
    conn.commit()
    assert val(conn, "select current_user") == ("root" if writer == "superuser" else "discovery_owner") \
        or writer == "superuser"
    conn.rollback()


def expect_rejected(conn, sqlstate, constraint, *statements):
    """The statements, then COMMIT: rejected (at a statement or at commit) with sqlstate."""
    with pytest.raises(psycopg.Error) as info:
        for query, params in statements:
            conn.execute(query, params)
        conn.commit()
    conn.rollback()
    assert info.value.sqlstate == sqlstate, str(info.value)
    if constraint:
        assert info.value.diag.constraint_name == constraint
    return info.value


def expect_rejected_at_commit(conn, constraint, *statements):
    """Each statement succeeds; COMMIT fails with check_violation naming the constraint."""
    for query, params in statements:
        conn.execute(query, params)
    with pytest.raises(psycopg.Error) as info:
        conn.commit()
    conn.rollback()
    assert info.value.sqlstate == CHECK_VIOLATION, str(info.value)
    assert info.value.diag.constraint_name == constraint
    return info.value


def assert_still_wired(conn, side: Side):
    conn.execute("reset role")
    a = row(conn, "select * from migration.assets where id = %s", (side.asset_id,))
    r = row(conn, "select * from migration.raw_import_records where id = %s", (side.record_id,))
    assert a["raw_import_records_id"] == side.record_id and r["asset_id"] == side.asset_id
    assert a["discovery_flow_id"] == side.flow.discovery_flow_id and a["master_flow_id"] == side.flow.master_flow_id
    assert a["discovery_method"] == "flow_based" and a["flow_id"] is None
    conn.rollback()


# -- cross-tenant links ------------------------------------------------------------------------------

CROSS_TENANT = {
    "raw.asset_id -> asset of another client": lambda s: (
        "update migration.raw_import_records set asset_id = %s where id = %s",
        (s["b"].asset_id, s["a"].free_record_id)),
    "raw.asset_id -> asset of another engagement": lambda s: (
        "update migration.raw_import_records set asset_id = %s where id = %s",
        (s["sibling"].asset_id, s["a"].free_record_id)),
    "asset.raw_import_records_id -> record of another engagement": lambda s: (
        "update migration.assets set raw_import_records_id = %s where id = %s",
        (s["sibling"].free_record_id, s["a"].asset_id)),
    "asset.raw_import_records_id -> record of another client": lambda s: (
        "update migration.assets set raw_import_records_id = %s where id = %s",
        (s["b"].free_record_id, s["a"].asset_id)),
    "asset.discovery_flow_id -> flow of another client": lambda s: (
        "update migration.assets set discovery_flow_id = %s, master_flow_id = %s where id = %s",
        (s["b"].flow.discovery_flow_id, s["b"].flow.master_flow_id, s["a"].asset_id)),
    "asset.discovery_flow_id -> flow of another engagement": lambda s: (
        "update migration.assets set discovery_flow_id = %s, master_flow_id = %s where id = %s",
        (s["sibling"].flow.discovery_flow_id, s["sibling"].flow.master_flow_id, s["a"].asset_id)),
    "asset.master_flow_id -> master flow of another client": lambda s: (
        "update migration.assets set master_flow_id = %s where id = %s",
        (s["b"].flow.master_flow_id, s["a"].asset_id)),
    "new manual asset with raw_import_records_id of another engagement": lambda s: (
        "insert into migration.assets (client_account_id, engagement_id, name, discovery_method,"
        " raw_import_records_id) values (%s, %s, 'manual', 'manual', %s)",
        (*s["a"].tenant, s["sibling"].free_record_id)),
    "new manual asset with discovery_flow_id of another client": lambda s: (
        "insert into migration.assets (client_account_id, engagement_id, name, discovery_method,"
        " discovery_flow_id) values (%s, %s, 'manual', 'manual', %s)",
        (*s["a"].tenant, s["b"].flow.discovery_flow_id)),
    "raw record in an import of another client": lambda s: (
        "insert into migration.raw_import_records (client_account_id, engagement_id, data_import_id,"
        " row_number, raw_data) values (%s, %s, %s, 99, '{}')",
        (*s["a"].tenant, s["b"].flow.data_import_id)),
    "raw record in an import of another engagement": lambda s: (
        "insert into migration.raw_import_records (client_account_id, engagement_id, data_import_id,"
        " row_number, raw_data) values (%s, %s, %s, 99, '{}')",
        (*s["a"].tenant, s["sibling"].flow.data_import_id)),
    # a record's engagement is held by its data-import key alone (migration 0011)
    "raw record moved to another engagement of its client": lambda s: (
        "update migration.raw_import_records set engagement_id = %s where id = %s",
        (s["sibling"].tenant.engagement_id, s["a"].free_record_id)),
    "raw record of an engagement that does not exist": lambda s: (
        "insert into migration.raw_import_records (client_account_id, engagement_id, data_import_id,"
        " row_number, raw_data) values (%s, gen_random_uuid(), %s, 99, '{}')",
        (s["a"].tenant.client_account_id, s["a"].flow.data_import_id)),
    "raw.master_flow_id -> master flow of another client": lambda s: (
        "update migration.raw_import_records set master_flow_id = %s where id = %s",
        (s["b"].flow.master_flow_id, s["a"].free_record_id)),
    "discovery flow on an import of another client": lambda s: (
        "update migration.discovery_flows set data_import_id = %s where id = %s",
        (s["b"].flow.data_import_id, s["a"].flow.discovery_flow_id)),
    "conflict naming an asset of another engagement": lambda s: (
        "insert into migration.asset_conflict_resolutions (client_account_id, engagement_id, discovery_flow_id,"
        " raw_import_record_id, existing_asset_id, conflict_type) values (%s, %s, %s, %s, %s, 'x')",
        (*s["a"].tenant, s["a"].flow.discovery_flow_id, s["a"].free_record_id, s["sibling"].asset_id)),
    "inventory run of a flow of another client": lambda s: (
        "insert into migration.asset_inventory_runs (client_account_id, engagement_id, discovery_flow_id, mode,"
        " started_at, finished_at, records_handled, created, matched, conflicts, invalid, already_linked)"
        " values (%s, %s, %s, 'derived', now(), now(), 0, 0, 0, 0, 0, 0)",
        (*s["a"].tenant, s["b"].flow.discovery_flow_id)),
}


@pytest.mark.parametrize("link", sorted(CROSS_TENANT))
def test_cross_tenant_link_is_rejected(conn, sides, writer, link):
    become(conn, writer)
    expect_rejected(conn, FK_VIOLATION, None, CROSS_TENANT[link](sides))
    assert_still_wired(conn, sides["a"])


def test_every_tenant_key_carries_the_client_account(conn):
    """Every primary key, unique constraint and foreign key between tenant
    tables includes client_account_id (DESIGN.md, invariant 1)."""
    constraints = rows(conn, """
        select c.conname, c.contype, c.conrelid::regclass::text as tbl, c.confrelid::regclass::text as ref,
               array(select a.attname::text from unnest(c.conkey) as k(n)
                     join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.n) as cols
          from pg_constraint c
         where c.connamespace = 'migration'::regnamespace and c.contype in ('p', 'u', 'f')""")
    tenant_tables = {f"migration.{t}" for t in (
        "crewai_flow_state_extensions", "data_imports", "raw_import_records", "import_field_mappings",
        "discovery_flows", "assets", "asset_conflict_resolutions", "asset_inventory_runs")}
    checked = 0
    for c in constraints:
        if c["tbl"] not in tenant_tables:
            continue
        checked += 1
        assert "client_account_id" in c["cols"], c
        if c["contype"] == "f" and c["ref"] in tenant_tables:
            assert "engagement_id" in c["cols"], c
    assert checked >= 20
    # the unique indexes too
    for idx in rows(conn, """select indexrelid::regclass::text as name, pg_get_indexdef(indexrelid) as def
                               from pg_index where indisunique
                                and indrelid::regclass::text = any(%s)""", (sorted(tenant_tables),)):
        assert "client_account_id" in idx["def"], idx


def test_link_columns_carry_no_check_or_not_null(conn):
    """Links are enforced by foreign keys and triggers, never NOT NULL or CHECK,
    so a restore of legacy rows can hold unlinked rows."""
    nullable = rows(conn, """
        select table_name, column_name, is_nullable from information_schema.columns
         where table_schema = 'migration' and (table_name, column_name) in
               (('assets', 'discovery_flow_id'), ('assets', 'master_flow_id'),
                ('assets', 'raw_import_records_id'), ('assets', 'flow_id'),
                ('raw_import_records', 'asset_id'), ('raw_import_records', 'master_flow_id'))""")
    assert len(nullable) == 6 and all(c["is_nullable"] == "YES" for c in nullable)
    checks = [r["def"] for r in rows(conn, """
        select pg_get_constraintdef(oid) as def from pg_constraint
         where conrelid in ('migration.assets'::regclass, 'migration.raw_import_records'::regclass)
           and contype = 'c'""")]
    for definition in checks:
        for column in ("discovery_flow_id", "master_flow_id", "raw_import_records_id", "asset_id", "flow_id"):
            assert column not in definition, definition


# -- invariant 3: a flow-based asset is wired when its transaction commits -----------------------------------

def insert_asset(side: Side, asset_id, *, flow=True, raw_id=None, method="flow_based", master=True):
    return ("insert into migration.assets (client_account_id, engagement_id, id, name, hostname,"
            " discovery_method, discovery_flow_id, master_flow_id, raw_import_records_id)"
            " values (%s, %s, %s, 'hand-made', 'hand-made', %s, %s, %s, %s)",
            (*side.tenant, asset_id, method, side.flow.discovery_flow_id if flow else None,
             side.flow.master_flow_id if (flow and master) else None, raw_id))


def point_back(side: Side, record_id, asset_id):
    return ("update migration.raw_import_records set asset_id = %s where id = %s", (asset_id, record_id))


def test_unwired_flow_based_asset_is_rejected_at_commit(conn, sides, writer):
    a = sides["a"]
    become(conn, writer)
    error = expect_rejected_at_commit(conn, WIRED, insert_asset(a, uuid.uuid4()))
    assert error.diag.message_detail and error.diag.message_hint
    conn.execute("reset role")
    assert val(conn, "select count(*) from migration.assets where name = 'hand-made'") == 0


def test_flow_based_asset_whose_record_does_not_point_back_is_rejected(conn, sides, writer):
    a = sides["a"]
    become(conn, writer)
    expect_rejected_at_commit(conn, WIRED, insert_asset(a, uuid.uuid4(), raw_id=a.free_record_id))


def test_flow_based_asset_without_discovery_flow_is_rejected(conn, sides, writer):
    a = sides["a"]
    asset_id = uuid.uuid4()
    become(conn, writer)
    expect_rejected_at_commit(conn, WIRED, insert_asset(a, asset_id, flow=False, raw_id=a.free_record_id),
                              point_back(a, a.free_record_id, asset_id))


def test_flow_based_asset_without_master_flow_is_rejected(conn, sides, writer):
    a = sides["a"]
    asset_id = uuid.uuid4()
    become(conn, writer)
    expect_rejected_at_commit(conn, WIRED, insert_asset(a, asset_id, master=False, raw_id=a.free_record_id),
                              point_back(a, a.free_record_id, asset_id))


def test_wiring_by_hand_in_one_transaction_commits(conn, sides, writer):
    a = sides["a"]
    asset_id = uuid.uuid4()
    become(conn, writer)
    conn.execute(*insert_asset(a, asset_id, raw_id=a.free_record_id))
    conn.execute(*point_back(a, a.free_record_id, asset_id))
    conn.commit()
    conn.execute("reset role")
    assert val(conn, "select asset_id from migration.raw_import_records where id = %s", (a.free_record_id,)) \
        == asset_id
    assert wiring_health(conn, a.tenant)["health_status"] == "healthy"



def test_an_unwired_asset_noted_after_every_earlier_note_was_wired_is_rejected(conn, sides, writer):
    """The check at COMMIT skips the notes when their live count is zero
    (0008): wiring the first asset takes the count to zero, the second
    unwired asset must bring it back up."""
    a = sides["a"]
    wired, unwired = uuid.uuid4(), uuid.uuid4()
    become(conn, writer)
    error = expect_rejected_at_commit(conn, WIRED, insert_asset(a, wired, raw_id=a.free_record_id),
                                      point_back(a, a.free_record_id, wired), insert_asset(a, unwired))
    assert str(unwired) in str(error)


def test_wiring_undone_by_a_rolled_back_savepoint_is_rejected(conn, sides, writer):
    """Notes and their count go back together when a savepoint is rolled back:
    the asset wired inside the savepoint is unwired again at COMMIT."""
    a = sides["a"]
    asset_id = uuid.uuid4()
    become(conn, writer)
    conn.execute(*insert_asset(a, asset_id, raw_id=a.free_record_id))
    conn.execute("savepoint wiring")
    conn.execute(*point_back(a, a.free_record_id, asset_id))
    conn.execute("rollback to savepoint wiring")
    error = expect_rejected_at_commit(conn, WIRED)
    assert str(asset_id) in str(error)


# An API writer runs its tenant's settled check before it returns (migration
# 0010: on Citus, COMMIT then has no check left to run); it must change what
# is rejected, and when, in no way. repair_wiring is the writer here: it ends
# as every writer does.
REPAIR = "select discovery.repair_wiring(%s, %s, false)"


def test_an_unwired_asset_noted_after_an_api_call_checked_the_tenant_is_rejected(conn, sides, writer):
    """The API call runs the tenant's check (every note wired) and removes
    its pending row; a note made after the call queues a new check."""
    a = sides["a"]
    wired, unwired = uuid.uuid4(), uuid.uuid4()
    become(conn, writer)
    error = expect_rejected_at_commit(conn, WIRED, insert_asset(a, wired, raw_id=a.free_record_id),
                                      point_back(a, a.free_record_id, wired), (REPAIR, (*a.tenant,)),
                                      insert_asset(a, unwired))
    assert str(unwired) in str(error)


def test_an_api_call_leaves_another_tenants_unwired_notes_to_commit(conn, sides, writer):
    """Tenant B's note is live when an API call for A (whose notes are all
    wired) returns: the call must not fire B's check early, which would
    reject there what the caller may still wire by hand before COMMIT."""
    a, b = sides["a"], sides["b"]
    wired, b_unwired = uuid.uuid4(), uuid.uuid4()
    become(conn, writer)
    conn.execute(*insert_asset(a, wired, raw_id=a.free_record_id))
    conn.execute(*point_back(a, a.free_record_id, wired))
    conn.execute(*insert_asset(b, b_unwired, raw_id=b.free_record_id))
    conn.execute(REPAIR, (*a.tenant,))  # A's pending row counts no live note; B's counts one
    conn.execute(*point_back(b, b.free_record_id, b_unwired))
    conn.commit()
    conn.execute("reset role")
    assert val(conn, "select asset_id from migration.raw_import_records where id = %s", (b.free_record_id,)) \
        == b_unwired


def test_the_settled_check_keeps_the_callers_constraint_mode(conn, sides):
    """The call fires the tenant's check with SET CONSTRAINTS … IMMEDIATE and
    sets it back to DEFERRED: a note made after the call is still checked at
    COMMIT, not at the end of its statement."""
    a = sides["a"]
    first, second = uuid.uuid4(), uuid.uuid4()
    second_record = add_raw_records(conn, a.tenant, a.flow.data_import_id, [{"hostname": "second"}])
    assert second_record == 1
    conn.commit()
    record_id = raw_records(conn, a.flow.data_import_id)[-1]["id"]
    conn.execute(*insert_asset(a, first, raw_id=a.free_record_id))
    conn.execute(*point_back(a, a.free_record_id, first))
    conn.execute(REPAIR, (*a.tenant,))
    conn.execute(*insert_asset(a, second, raw_id=record_id))  # unwired until the next statement
    conn.execute(*point_back(a, record_id, second))
    conn.commit()
    assert val(conn, "select asset_id from migration.raw_import_records where id = %s", (record_id,)) == second


def test_create_assets_leaves_its_tenant_nothing_to_check_at_commit(conn):
    """On Citus the assets' statement notes every asset the call creates and
    the raw records' statement wires them: the call checks the tenant before
    it returns, so COMMIT runs no check (one server notes nothing)."""
    tenant = new_tenant(conn)
    conn.commit()
    flow, result = run_flow(conn, tenant, [{"hostname": f"h{i}"} for i in range(20)])
    assert result["created"] == 20
    assert val(conn, "select count(*) from migration.wiring_checks_pending where client_account_id = %s",
               (tenant.client_account_id,)) == 0
    conn.commit()
    assert wiring_health(conn, tenant)["health_status"] == "healthy"

UNWIRING = {
    "clear asset.raw_import_records_id": lambda a: [
        ("update migration.assets set raw_import_records_id = null where id = %s", (a.asset_id,))],
    "clear raw.asset_id": lambda a: [
        ("update migration.raw_import_records set asset_id = null where id = %s", (a.record_id,))],
    "clear both links": lambda a: [
        ("update migration.raw_import_records set asset_id = null where id = %s", (a.record_id,)),
        ("update migration.assets set raw_import_records_id = null where id = %s", (a.asset_id,))],
    "clear discovery_flow_id and master_flow_id": lambda a: [
        ("update migration.assets set discovery_flow_id = null, master_flow_id = null where id = %s",
         (a.asset_id,))],
    "point the raw record at another asset": lambda a: [
        ("update migration.raw_import_records set asset_id = %s where id = %s", (a.other_asset_id, a.record_id))],
    "move the asset to another raw record": lambda a: [
        ("update migration.assets set raw_import_records_id = %s where id = %s", (a.free_record_id, a.asset_id))],
    "stop being flow-based": lambda a: [
        ("update migration.assets set discovery_method = 'manual' where id = %s", (a.asset_id,))],
    "clear raw_import_records_id in two statements": lambda a: [
        ("update migration.assets set raw_import_records_id = null where id = %s", (a.asset_id,)),
        ("update migration.assets set raw_import_records_id = null where id = %s", (a.asset_id,))],
    "unwire, then touch the links again": lambda a: [
        ("update migration.assets set raw_import_records_id = null where id = %s", (a.asset_id,)),
        ("update migration.assets set discovery_flow_id = discovery_flow_id where id = %s", (a.asset_id,))],
    # a soft-deleted asset is not noted (the check passes it over); bringing it back notes it (migration 0014)
    "soft-delete, clear raw.asset_id, bring it back": lambda a: [
        ("update migration.assets set deleted_at = now() where id = %s", (a.asset_id,)),
        ("update migration.raw_import_records set asset_id = null where id = %s", (a.record_id,)),
        ("update migration.assets set deleted_at = null where id = %s", (a.asset_id,))],
    "soft-delete and unwire in one statement, bring it back": lambda a: [
        ("update migration.assets set deleted_at = now(), raw_import_records_id = null where id = %s", (a.asset_id,)),
        ("update migration.assets set deleted_at = null where id = %s", (a.asset_id,))],
}


@pytest.mark.parametrize("change", list(UNWIRING))
def test_unwiring_a_wired_asset_is_rejected_at_commit(conn, sides, writer, change):
    a = sides["a"]
    become(conn, writer)
    expect_rejected_at_commit(conn, WIRED, *UNWIRING[change](a))
    assert_still_wired(conn, a)


def test_a_session_table_cannot_exempt_a_wired_asset(conn, sides, writer):
    """The deferred check's exemption list lives in the session's pg_temp, which
    the writer controls; filling it by hand must not let an unwiring commit."""
    a = sides["a"]
    become(conn, writer)
    conn.execute("create temporary table discovery_unwired_before (client_account_id uuid not null,"
                 " asset_id uuid not null, primary key (client_account_id, asset_id))")
    conn.execute("grant select on pg_temp.discovery_unwired_before to public")
    conn.execute("insert into pg_temp.discovery_unwired_before values (%s, %s)",
                 (a.tenant.client_account_id, a.asset_id))
    conn.commit()
    expect_rejected_at_commit(
        conn, WIRED, ("update migration.assets set raw_import_records_id = null where id = %s", (a.asset_id,)))
    assert_still_wired(conn, a)


def test_deleting_the_raw_record_of_a_wired_asset_is_rejected(conn, sides, writer):
    a = sides["a"]
    become(conn, writer)
    with pytest.raises(psycopg.Error) as info:
        conn.execute("delete from migration.raw_import_records where id = %s", (a.record_id,))
        conn.commit()
    conn.rollback()
    assert info.value.sqlstate in (FK_VIOLATION, CHECK_VIOLATION)
    assert_still_wired(conn, a)


def test_soft_delete_of_a_wired_asset_is_allowed(conn, sides, writer):
    a = sides["a"]
    become(conn, writer)
    conn.execute("update migration.assets set deleted_at = now(), status = 'retired' where id = %s", (a.asset_id,))
    conn.commit()
    conn.execute("reset role")
    assert val(conn, "select deleted_at is not null from migration.assets where id = %s", (a.asset_id,))
    assert val(conn, "select asset_id from migration.raw_import_records where id = %s", (a.record_id,)) == a.asset_id


def test_updating_other_columns_of_a_wired_asset_is_allowed(conn, sides, writer):
    a = sides["a"]
    become(conn, writer)
    conn.execute("update migration.assets set operating_system = 'RHEL 9', cpu_cores = 8 where id = %s",
                 (a.asset_id,))
    conn.execute("update migration.raw_import_records set processing_notes = 'checked' where id = %s", (a.record_id,))
    conn.commit()
    assert_still_wired(conn, a)


# -- ID meanings ---------------------------------------------------------------------------------------------

def test_discovery_flow_id_holding_a_flow_id_is_rejected(conn, sides, writer):
    a = sides["a"]
    assert a.flow.flow_id != a.flow.discovery_flow_id
    become(conn, writer)
    expect_rejected(conn, FK_VIOLATION, None,
                    ("update migration.assets set discovery_flow_id = %s where id = %s", (a.flow.flow_id, a.asset_id)))
    expect_rejected(conn, FK_VIOLATION, None, (
        "insert into migration.assets (client_account_id, engagement_id, name, discovery_method,"
        " discovery_flow_id, master_flow_id) values (%s, %s, 'x', 'manual', %s, %s)",
        (*a.tenant, a.flow.flow_id, a.flow.master_flow_id)))
    assert_still_wired(conn, a)


def test_master_flow_id_must_be_the_discovery_flows(conn, sides, writer):
    a = sides["a"]
    other = start_flow(conn, a.tenant, [{"hostname": "z"}], import_name="other")
    conn.commit()
    become(conn, writer)
    expect_rejected(conn, FK_VIOLATION, None,
                    ("update migration.assets set master_flow_id = %s where id = %s", (other.master_flow_id,
                                                                                        a.asset_id)))
    assert_still_wired(conn, a)


def test_writing_the_legacy_flow_id_is_rejected(conn, sides, writer):
    a = sides["a"]
    become(conn, writer)
    expect_rejected(conn, CHECK_VIOLATION, LEGACY,
                    ("update migration.assets set flow_id = %s where id = %s", (a.flow.flow_id, a.asset_id)))
    expect_rejected(conn, CHECK_VIOLATION, LEGACY, (
        "insert into migration.assets (client_account_id, engagement_id, name, discovery_method, flow_id)"
        " values (%s, %s, 'legacy', 'manual', %s)", (*a.tenant, a.flow.flow_id)))
    assert_still_wired(conn, a)


# -- restore of legacy rows ----------------------------------------------------------------------------------

def test_a_restore_in_replica_mode_may_hold_unlinked_legacy_rows(conn, sides):
    """As a superuser with session_replication_role = replica (pg_restore of the
    old platform), unwired and legacy rows load and commit: repair_wiring fixes
    them later."""
    a = sides["a"]
    conn.execute("set session_replication_role = replica")
    unwired, legacy = uuid.uuid4(), uuid.uuid4()
    conn.execute("insert into migration.assets (client_account_id, engagement_id, id, name, discovery_method,"
                 " discovery_flow_id) values (%s, %s, %s, 'old', 'flow_based', %s)",
                 (*a.tenant, unwired, a.flow.flow_id))
    conn.execute("insert into migration.assets (client_account_id, engagement_id, id, name, discovery_method,"
                 " flow_id) values (%s, %s, %s, 'older', 'flow_based', %s)", (*a.tenant, legacy, a.flow.flow_id))
    conn.commit()
    conn.execute("set session_replication_role = origin")
    assert val(conn, "select count(*) from migration.assets where id in (%s, %s)", (unwired, legacy)) == 2
    report = wiring_health(conn, a.tenant)
    assert report["health_status"] == "unhealthy"
    assert report["assets_with_legacy_flow_id_only"] == 1 and report["assets_with_unknown_discovery_flow_id"] == 1
