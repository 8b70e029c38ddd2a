"""The schema stays distributable on Citus (issue 13): a catalog test on plain PostgreSQL.

Citus distributes every table of schema ``migration`` by tenant
(``client_account_id``; ``client_accounts`` by its ``id``), co-located, and
delegates each API call to the worker holding the tenant
(``discovery-wiring citus distribute``). These tests read the catalog of a
migrated database, and the bodies of the functions of ``discovery`` and
``migration``, and fail on what Citus refuses or cannot delegate:

* tables and keys: a tenant table without ``client_account_id``; a primary
  key, unique constraint or unique index without the distribution column (as a
  plain column); a foreign key that does not pair the two tables'
  distribution columns; an ``int``/``smallint`` column filled by a sequence
  (worker-side ``nextval`` needs ``bigint``);
* functions: the public API not taking ``p_client_account_id uuid`` first (the
  distribution argument); a ``LANGUAGE sql`` function reading a ``migration``
  table (cannot be planned on a shard: write it in PL/pgSQL); an argument of a
  ``migration.<table>`` row type (a trigger on a shard passes the shard's row
  type, and the function is not created on the workers while the table is
  local); a non-IMMUTABLE function in ``ON CONFLICT ... DO UPDATE`` / its
  ``WHERE``, in a ``CASE`` or ``COALESCE`` of an ``UPDATE``/``DELETE``, or in
  a ``RETURNING`` clause of DML on a tenant table; a VOLATILE function in an
  ``UPDATE``/``DELETE`` on a tenant table (compute ``v_now := now()`` first
  and use the variable); a STABLE function called with a column reference in
  an ``UPDATE``/``DELETE`` (``SET x = jsonb_build_object('k', a.col)``,
  ``to_jsonb(a.col)``, ``format('%s', a.col)``; sub-selects are planned apart
  and allowed); ``ANALYZE`` of, or statistics read from, a tenant
  table inside a function (on a worker that is the shell table: never
  analysed, and ANALYZE fans out to every shard).

The body checks read the source text (comments and string literals aside; the
ANALYZE check reads literals too, for ``EXECUTE format('ANALYZE %s', ...)``):
they can be fooled by unusual formatting, never by the usual one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import psycopg
import pytest

from _support import cloned_database

SCHEMA = "migration"
API_SCHEMA = "discovery"
TENANT = "client_account_id"
BY_ID = {"client_accounts": "id"}  # tables distributed by another column
DISTRIBUTION_ARGUMENT = "p_client_account_id"

# SQL value functions (CURRENT_TIMESTAMP, ...) are all STABLE for Citus.
SQL_VALUE_FUNCTIONS = ("current_timestamp", "current_date", "current_time", "localtime", "localtimestamp",
                       "current_user", "session_user", "current_role", "current_schema", "current_catalog", "user")
# Words followed by "(" that are not function calls (or are always IMMUTABLE given their arguments).
NOT_FUNCTIONS = {
    "in", "exists", "any", "all", "some", "values", "as", "and", "or", "not", "case", "when", "then", "else",
    "select", "from", "where", "on", "using", "over", "filter", "row", "array", "coalesce", "greatest", "least",
    "nullif", "with", "set", "returning", "conflict", "update", "into", "join", "lateral", "by", "group", "order",
    "partition", "within", "cast", "is", "distinct", "end", "if", "exception", "perform", "return", "query",
    "like", "ilike", "similar", "between", "limit", "offset", "having", "union", "except", "intersect", "do",
    "nothing", "insert", "delete", "table", "only", "default", "null", "true", "false", "interval", "escape",
    "recursive", "materialized", "asc", "desc", "nulls", "first", "last", "for", "of", "share", "key",
    "no", "skip", "locked", "nowait", "ordinality", "zone", "at", "time", "timestamp", "varchar", "char",
    "numeric", "decimal", "character", "varying", "precision", "double", "bit", "float", "extract", "trim",
    "substring", "position", "overlay", "collate", "left", "right", "inner", "outer", "full", "cross",
    "natural", "raise", "loop", "while", "foreach", "execute", "elsif", "begin", "declare", "strict",
}


# -- the catalog, read once ----------------------------------------------------------------------------------

@dataclass
class Function:
    signature: str
    schema: str
    name: str
    language: str
    volatility: str
    source: str
    argument_names: list[str]
    argument_types: list[str]
    row_type_arguments: list[str]


@dataclass
class Catalog:
    tables: dict[str, list[str]] = field(default_factory=dict)  # name -> columns
    unique: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (table, index, key columns)
    foreign_keys: list[tuple[str, str, str, list[str], list[str]]] = field(default_factory=list)
    sequence_columns: list[tuple[str, str, str]] = field(default_factory=list)  # (table, column, type)
    functions: list[Function] = field(default_factory=list)
    volatility: dict[str, set[str]] = field(default_factory=dict)  # "schema.name" / "name" -> {i, s, v}

    def distribution_column(self, table: str) -> str:
        return BY_ID.get(table, TENANT)

    def non_immutable(self, name: str, level: str = "sv") -> bool:
        """Whether every function of that name has a volatility in ``level``
        (a name whose overloads differ is not counted)."""
        kinds = self.volatility.get(name.lower())
        return bool(kinds) and kinds <= set(level)


@pytest.fixture(scope="module")
def catalog(server_url, template_url) -> Catalog:
    with cloned_database(server_url, template_url) as url, psycopg.connect(url, autocommit=True) as conn:
        return read_catalog(conn)


def read_catalog(conn: psycopg.Connection) -> Catalog:
    """The tables, keys and functions of schemas migration and discovery."""
    cat = Catalog()
    for table, columns in conn.execute("""
            SELECT c.relname, array_agg(a.attname::text ORDER BY a.attnum)
              FROM pg_class AS c JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0
                                                       AND NOT a.attisdropped
             WHERE c.relnamespace = %s::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
             GROUP BY c.relname""", (SCHEMA,)):
        cat.tables[table] = columns
    cat.unique = conn.execute("""
            SELECT c.relname, i.relname,
                   (SELECT array_agg(coalesce(a.attname::text, '<expression>') ORDER BY k.n)
                      FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k (attnum, n)
                      LEFT JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum = k.attnum
                     WHERE k.n <= x.indnkeyatts)
              FROM pg_index AS x JOIN pg_class AS c ON c.oid = x.indrelid
              JOIN pg_class AS i ON i.oid = x.indexrelid
             WHERE c.relnamespace = %s::regnamespace AND x.indisunique
             ORDER BY 1, 2""", (SCHEMA,)).fetchall()
    cat.foreign_keys = conn.execute("""
            SELECT c.conname, r.relname, f.relname,
                   (SELECT array_agg(a.attname::text ORDER BY k.n) FROM unnest(c.conkey) WITH ORDINALITY
                           AS k (attnum, n) JOIN pg_attribute AS a ON a.attrelid = c.conrelid
                                                                  AND a.attnum = k.attnum),
                   (SELECT array_agg(a.attname::text ORDER BY k.n) FROM unnest(c.confkey) WITH ORDINALITY
                           AS k (attnum, n) JOIN pg_attribute AS a ON a.attrelid = c.confrelid
                                                                  AND a.attnum = k.attnum)
              FROM pg_constraint AS c JOIN pg_class AS r ON r.oid = c.conrelid
              JOIN pg_class AS f ON f.oid = c.confrelid
             WHERE c.contype = 'f' AND (r.relnamespace = %(s)s::text::regnamespace
                                        OR f.relnamespace = %(s)s::text::regnamespace)
             ORDER BY 1""", {"s": SCHEMA}).fetchall()
    cat.sequence_columns = conn.execute("""
            SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
              FROM pg_class AS c JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0
              LEFT JOIN pg_attrdef AS d ON d.adrelid = c.oid AND d.adnum = a.attnum
             WHERE c.relnamespace = %s::regnamespace AND c.relkind IN ('r', 'p')
               AND (a.attidentity <> '' OR pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%%')
               AND a.atttypid <> 'bigint'::regtype""", (SCHEMA,)).fetchall()
    for row in conn.execute("""
            SELECT p.oid::regprocedure::text, n.nspname, p.proname, l.lanname, p.provolatile, p.prosrc,
                   coalesce(p.proargnames[1:p.pronargs]::text[], '{}'),
                   coalesce((SELECT array_agg(format_type(t, NULL) ORDER BY k)
                               FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a (t, k)), '{}'),
                   coalesce((SELECT array_agg(format_type(t.oid, NULL))
                               FROM unnest(p.proargtypes::oid[]) AS a (o)
                               JOIN pg_type AS t ON t.oid = a.o
                               JOIN pg_class AS c ON c.oid = t.typrelid AND c.relkind IN ('r', 'p')
                              WHERE c.relnamespace = %(s)s::text::regnamespace), '{}')
              FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
              JOIN pg_language AS l ON l.oid = p.prolang
             WHERE n.nspname IN (%(s)s::text, %(a)s::text) AND p.prokind = 'f'
             ORDER BY 1""", {"s": SCHEMA, "a": API_SCHEMA}):
        cat.functions.append(Function(*row))
    for schema, name, kinds in conn.execute("""
            SELECT n.nspname, p.proname, array_agg(DISTINCT p.provolatile::text)
              FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
             WHERE n.nspname IN ('pg_catalog', %s, %s)
             GROUP BY 1, 2""", (SCHEMA, API_SCHEMA)):
        cat.volatility[f"{schema}.{name}"] = set(kinds)
        if schema == "pg_catalog":
            cat.volatility[name] = set(kinds)
    return cat


def report(problems: list[str], what: str) -> None:
    counted = {p: problems.count(p) for p in problems}
    problems = [p + (f" ({n} statements)" if n > 1 else "") for p, n in counted.items()]
    assert not problems, f"{len(problems)} {what} (Citus, issue 13):\n  " + "\n  ".join(problems)


# -- tables and keys -----------------------------------------------------------------------------------------

def test_every_tenant_table_has_client_account_id(catalog):
    problems = [f"migration.{t}: no column {catalog.distribution_column(t)}"
                for t, columns in sorted(catalog.tables.items()) if catalog.distribution_column(t) not in columns]
    report(problems, "table(s) that cannot be distributed by tenant")


def test_every_primary_key_and_unique_index_carries_the_distribution_column(catalog):
    problems = []
    for table, index, keys in catalog.unique:
        column = catalog.distribution_column(table)
        if column not in keys:  # an expression elsewhere in the key is fine
            problems.append(f"migration.{table}: unique index {index} on ({', '.join(keys)})"
                            f" lacks {column} as a plain key column")
    report(problems, "unique key(s) Citus cannot enforce")


def test_every_foreign_key_pairs_the_distribution_columns(catalog):
    problems = []
    for name, table, referenced, columns, referenced_columns in catalog.foreign_keys:
        if table not in catalog.tables or referenced not in catalog.tables:
            problems.append(f"{name}: {table} -> {referenced} leaves schema migration")
            continue
        mine, theirs = catalog.distribution_column(table), catalog.distribution_column(referenced)
        pairs = list(zip(columns, referenced_columns))
        if (mine, theirs) not in pairs:
            problems.append(f"migration.{table}.{name} ({', '.join(columns)}) -> {referenced} "
                            f"({', '.join(referenced_columns)}): {mine} is not paired with {theirs}")
    report(problems, "foreign key(s) Citus cannot keep between co-located tables")


def test_no_sequence_fills_a_column_narrower_than_bigint(catalog):
    problems = [f"migration.{t}.{c} ({ty}): a sequence default or identity needs bigint on Citus workers"
                for t, c, ty in catalog.sequence_columns]
    report(problems, "column(s) filled by a sequence")


# -- functions -----------------------------------------------------------------------------------------------

def test_every_api_function_takes_the_tenant_first(catalog):
    problems = [f"{f.signature}: first argument {f.argument_names[:1]} {f.argument_types[:1]}"
                for f in catalog.functions
                if f.schema == API_SCHEMA and not f.name.startswith("_")
                and (f.argument_names[:1] != [DISTRIBUTION_ARGUMENT] or f.argument_types[:1] != ["uuid"])]
    report(problems, f"API function(s) that cannot be delegated by {DISTRIBUTION_ARGUMENT}")


def test_no_language_sql_function_reads_a_migration_table(catalog):
    problems = []
    for f in catalog.functions:
        if f.language != "sql":
            continue
        read = sorted(tables_named(clean(f.source), catalog))
        if read:
            problems.append(f"{f.signature}: LANGUAGE sql reading {', '.join(read)} (write it in plpgsql)")
    report(problems, "LANGUAGE sql function(s) that cannot be planned on a shard")


def test_no_function_takes_a_migration_row_type_argument(catalog):
    problems = [f"{f.signature}: argument of type {', '.join(f.row_type_arguments)}"
                for f in catalog.functions if f.row_type_arguments]
    report(problems, "function(s) taking a migration table's row type (a shard passes its own row type)")


def test_no_mutable_function_in_on_conflict_do_update(catalog):
    problems = []
    for f, statement in dml_statements(catalog):
        for clause in on_conflict_clauses(statement.text):
            bad = calls_of(clause, catalog, "sv")
            if bad:
                problems.append(f"{f.signature}: INSERT INTO migration.{statement.table} ... ON CONFLICT "
                                f"DO UPDATE / WHERE calls {', '.join(bad)}")
    report(problems, "ON CONFLICT clause(s) with a non-IMMUTABLE function (Citus: must be IMMUTABLE)")


def test_no_mutable_function_in_case_or_coalesce_of_an_update_or_delete(catalog):
    problems = []
    for f, statement in dml_statements(catalog):
        if statement.command not in ("update", "delete"):
            continue
        for clause in update_delete_clauses(statement):
            for span in case_and_coalesce_spans(clause):
                bad = calls_of(span, catalog, "sv")
                if bad:
                    problems.append(f"{f.signature}: {statement.command.upper()} migration.{statement.table}: "
                                    f"{', '.join(bad)} inside {span.split('(')[0].split()[0].upper()}")
                    break
    report(problems, "CASE/COALESCE with a non-IMMUTABLE function in DML on a tenant table")


def test_no_mutable_function_in_returning(catalog):
    problems = []
    for f, statement in dml_statements(catalog):
        returning = clause_after(statement.text, "returning", ())
        bad = calls_of(returning, catalog, "sv") if returning else []
        if bad:
            problems.append(f"{f.signature}: {statement.command.upper()} migration.{statement.table} "
                            f"RETURNING calls {', '.join(bad)}")
    report(problems, "RETURNING clause(s) with a non-IMMUTABLE function on a tenant table")


def test_no_volatile_function_in_an_update_or_delete(catalog):
    problems = []
    for f, statement in dml_statements(catalog):
        if statement.command not in ("update", "delete"):
            continue
        for clause in update_delete_clauses(statement):
            bad = calls_of(clause, catalog, "v")
            if bad:
                problems.append(f"{f.signature}: {statement.command.upper()} migration.{statement.table} "
                                f"calls VOLATILE {', '.join(bad)}")
                break
    report(problems, "UPDATE/DELETE on a tenant table with a VOLATILE function")


def test_no_stable_function_of_a_column_in_an_update_or_delete(catalog):
    problems = []
    for f, statement in dml_statements(catalog):
        if statement.command not in ("update", "delete"):
            continue
        columns = set(catalog.tables[statement.table])
        variables = variables_of(f)
        for clause in update_delete_clauses(statement):
            bad = stable_calls_with_columns(without_subqueries(clause), catalog, columns - variables, variables)
            if bad:
                problems.append(f"{f.signature}: {statement.command.upper()} migration.{statement.table}: "
                                f"STABLE {', '.join(bad)} of a column")
                break
    report(problems, "UPDATE/DELETE on a tenant table calling a STABLE function with a column reference "
                     "(Citus: 'STABLE functions used in UPDATE queries cannot be called with column references'; "
                     "compute the value in a FROM subquery or a CTE, or use an IMMUTABLE expression)")


def test_no_function_analyzes_or_reads_statistics_of_a_tenant_table(catalog):
    problems = []
    for f in catalog.functions:
        text = strip_comments(f.source)
        if re.search(r"\banalyze\b", text, re.I) and "pg_dist_partition" not in text:
            problems.append(f"{f.signature}: runs ANALYZE (fans out to every shard; on a worker, analyse the shard)")
        for m in re.finditer(r"\bpg_stat_get_\w+\s*\(\s*'migration\.(\w+)'", text, re.I):
            problems.append(f"{f.signature}: reads {m.group(0).split('(')[0]} of migration.{m.group(1)} "
                            "(on a worker: the never analysed shell table)")
    report(problems, "statistics use(s) of a tenant table inside a function")


def test_no_function_compares_the_tenant_in_a_form_citus_cannot_route(catalog):
    """Citus routes a statement to the tenant's shard only when each tenant
    table in it is filtered by the tenant with an equality it knows:
    ``client_account_id = $1``, or the tenant pin
    ``client_account_id OPERATOR(migration.===) $1`` (migration 0006; for the
    lookups whose plan must not depend on the tenant's statistics). A tenant
    compared with IS [NOT] DISTINCT FROM is refused inside a delegated call
    (XX000 'cannot execute a distributed query from a query on a shard')."""
    problems = []
    for f in catalog.functions:
        text = strip_comments(f.source)  # string literals kept: the dynamic SQL
        for m in re.finditer(r"\b(?:\w+\.)?client_account_id\s+is\s+(?:not\s+)?distinct\s+from\b", text, re.I):
            problems.append(f"{f.signature}: {' '.join(m.group(0).split())}")
    report(problems, "tenant comparison(s) Citus cannot route (use = or OPERATOR(migration.===))")


def test_the_tenant_pin_is_uuid_equality_that_no_index_or_estimate_takes(server_url, template_url):
    """migration.=== is uuid_eq with no selectivity function (an estimate of
    0.5 whatever the statistics) and in no operator class of an index: a
    statement pinned by it keeps the plan its shape gives."""
    with cloned_database(server_url, template_url) as url, psycopg.connect(url) as conn:
        row = conn.execute("""
            SELECT o.oprcode::regproc::text, o.oprrest::oid, o.oprcanhash, o.oprcanmerge,
                   (SELECT count(*) FROM pg_catalog.pg_amop AS a JOIN pg_catalog.pg_opclass AS c
                        ON c.opcfamily = a.amopfamily WHERE a.amopopr = o.oid)
              FROM pg_catalog.pg_operator AS o
             WHERE o.oid = 'migration.===(uuid,uuid)'::regoperator""").fetchone()
        assert row == ("uuid_eq", 0, False, False, 0)
        tenant = "0b6f0c4e-0000-4000-8000-000000000001"
        plan = conn.execute(
            "EXPLAIN SELECT * FROM migration.raw_import_records AS r "
            "WHERE r.client_account_id OPERATOR(migration.===) %s::uuid", (tenant,)).fetchall()
        text = "\n".join(p[0] for p in plan)
        assert "Index Cond" not in text, text


# -- the checks catch what they are for -----------------------------------------------------------------------

BAD_OBJECTS = """
    CREATE TABLE migration.dw_bad_notes (id uuid PRIMARY KEY, note text);
    CREATE UNIQUE INDEX dw_bad_hostname_key ON migration.assets (hostname);
    CREATE TABLE migration.dw_bad_links (client_account_id uuid, note_id uuid REFERENCES migration.dw_bad_notes (id));
    CREATE FUNCTION discovery.dw_bad_count(p_client_account_id uuid) RETURNS bigint
    LANGUAGE sql STABLE AS $$ SELECT count(*) FROM migration.assets WHERE client_account_id = p_client_account_id $$;
    CREATE FUNCTION discovery.dw_bad_upsert(p_client_account_id uuid) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO migration.assets AS a (client_account_id, engagement_id, id, name)
        VALUES (p_client_account_id, p_client_account_id, p_client_account_id, 'x')
        ON CONFLICT (client_account_id, id) DO UPDATE SET updated_at = clock_timestamp();
    END $$;
    CREATE FUNCTION migration.dw_bad_row(p_asset migration.assets) RETURNS text
    LANGUAGE plpgsql AS $$ BEGIN RETURN p_asset.name; END $$;
    CREATE FUNCTION discovery.dw_bad_tenant_second(p_engagement_id uuid, p_client_account_id uuid) RETURNS void
    LANGUAGE plpgsql AS $$ BEGIN END $$;
    CREATE FUNCTION discovery.dw_bad_unroutable(p_client_account_id uuid) RETURNS bigint LANGUAGE plpgsql AS $$
    BEGIN
        RETURN (SELECT count(*) FROM migration.assets AS a
                 WHERE a.client_account_id IS NOT DISTINCT FROM p_client_account_id);
    END $$;
"""


@pytest.fixture(scope="module")
def bad_catalog(server_url, template_url) -> Catalog:
    """The catalog of a migrated database with BAD_OBJECTS added."""
    with cloned_database(server_url, template_url) as url, psycopg.connect(url, autocommit=True) as conn:
        conn.execute(BAD_OBJECTS)
        return read_catalog(conn)


@pytest.mark.parametrize("check, named", [
    (test_every_tenant_table_has_client_account_id, "migration.dw_bad_notes: no column client_account_id"),
    (test_every_primary_key_and_unique_index_carries_the_distribution_column, "dw_bad_hostname_key"),
    (test_every_primary_key_and_unique_index_carries_the_distribution_column, "dw_bad_notes_pkey"),
    (test_every_foreign_key_pairs_the_distribution_columns, "dw_bad_links_note_id_fkey"),
    (test_no_language_sql_function_reads_a_migration_table, "discovery.dw_bad_count(uuid)"),
    (test_no_mutable_function_in_on_conflict_do_update, "discovery.dw_bad_upsert(uuid)"),
    (test_no_function_takes_a_migration_row_type_argument, "migration.dw_bad_row(migration.assets)"),
    (test_every_api_function_takes_the_tenant_first, "discovery.dw_bad_tenant_second(uuid,uuid)"),
    (test_no_function_compares_the_tenant_in_a_form_citus_cannot_route, "discovery.dw_bad_unroutable(uuid)"),
])
def test_the_checks_fail_on_what_would_not_distribute(bad_catalog, check, named):
    """A table without client_account_id, keys without it, a LANGUAGE sql
    function reading a tenant table, a volatile function in an ON CONFLICT
    update, a row-type argument, an API function without the tenant first:
    each check names the object added."""
    with pytest.raises(AssertionError) as info:
        check(bad_catalog)
    assert named in str(info.value)


# -- reading function bodies ---------------------------------------------------------------------------------

def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"--[^\n]*", " ", text)


def clean(text: str) -> str:
    """Comments out; string literals emptied (their quotes kept), lower case."""
    text = strip_comments(text)
    text = re.sub(r"\$([a-z_]*)\$.*?\$\1\$", "''", text, flags=re.S | re.I)  # nested dollar quotes
    text = re.sub(r"'(?:[^']|'')*'", "''", text)
    return text.lower()


def tables_named(text: str, catalog: Catalog) -> set[str]:
    return {f"migration.{m}" for m in re.findall(r"\bmigration\s*\.\s*\"?(\w+)", text) if m in catalog.tables}


@dataclass
class Statement:
    command: str  # insert | update | delete
    table: str
    text: str  # from the command word to the end of the statement (or of its parenthesised CTE)


def split_statements(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        elif ch == ";" and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def until_close(text: str) -> str:
    """``text`` up to where its parenthesis depth would go below zero."""
    depth = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                return text[:i]
            depth -= 1
    return text


DML = re.compile(r"\b(insert\s+into|update|delete\s+from)\s+(?:only\s+)?migration\s*\.\s*\"?(\w+)")


def dml_statements(catalog: Catalog):
    """(function, Statement) for every INSERT/UPDATE/DELETE on a tenant table."""
    for f in catalog.functions:
        if f.language not in ("plpgsql", "sql"):
            continue
        for part in split_statements(clean(f.source)):
            for m in DML.finditer(part):
                if m.group(2) not in catalog.tables:
                    continue
                # "update" also follows "on conflict do": that is the INSERT's clause
                if m.group(1) == "update" and re.search(r"\bdo\s*$", part[:m.start()]):
                    continue
                command = m.group(1).split()[0]
                yield f, Statement(command, m.group(2), until_close(part[m.start():]))


def top_level_find(text: str, words: tuple[str, ...], start: int = 0) -> int:
    """Index of the first of ``words`` at parenthesis depth 0 at or after ``start``, else len(text)."""
    depth = 0
    pattern = re.compile(r"\b(" + "|".join(words) + r")\b") if words else None
    i = start
    while i < len(text):
        ch = text[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and pattern is not None:
            m = pattern.match(text, i)
            if m and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
                return i
        i += 1
    return len(text)


def clause_after(text: str, word: str, ends: tuple[str, ...]) -> str | None:
    at = top_level_find(text, (word,))
    if at == len(text):
        return None
    start = at + len(word)
    return text[start:top_level_find(text, ends, start)]


def on_conflict_clauses(text: str) -> list[str]:
    m = re.search(r"\bon\s+conflict\b", text)
    if not m:
        return []
    rest = text[m.end():]
    clauses = []
    arbiter = re.match(r"\s*(\([^)]*\))?\s*(where\b.*?)?\s*\bdo\b", rest, re.S)
    if arbiter and arbiter.group(2):
        clauses.append(arbiter.group(2))
    update = re.search(r"\bdo\s+update\s+set\b", rest)
    if update:
        body = rest[update.end():]
        clauses.append(body[:top_level_find(body, ("returning",))])
    return clauses


def update_delete_clauses(statement: Statement) -> list[str]:
    text = statement.text
    clauses = []
    if statement.command == "update":
        set_clause = clause_after(text, "set", ("from", "where", "returning"))
        if set_clause:
            clauses.append(set_clause)
    where = clause_after(text, "where", ("returning",))
    if where:
        clauses.append(where)
    return clauses


def case_and_coalesce_spans(text: str) -> list[str]:
    spans = []
    for m in re.finditer(r"\bcoalesce\s*\(", text):
        spans.append("coalesce(" + until_close(text[m.end():]) + ")")
    for m in re.finditer(r"\bcase\b", text):
        depth, i = 1, m.end()
        for w in re.finditer(r"\b(case|end)\b", text[m.end():]):
            depth += 1 if w.group(1) == "case" else -1
            if depth == 0:
                i = m.end() + w.end()
                break
        spans.append(text[m.start():i])
    return spans


def without_subqueries(text: str) -> str:
    """``text`` without its parenthesised sub-selects (Citus plans those apart)."""
    while (m := re.search(r"\(\s*(select|with)\b", text)):
        inner = until_close(text[m.start() + 1:])
        text = text[:m.start()] + "(subquery)" + text[m.start() + 1 + len(inner) + 1:]
    return text


def variables_of(f: Function) -> set[str]:
    """Arguments and declared PL/pgSQL variables (and FOR loop variables):
    ``v_row.field`` is a parameter to the query, not a column."""
    text = clean(f.source)
    names = {n.lower() for n in f.argument_names if n} | {"new", "old"}
    for block in re.findall(r"\bdeclare\b(.*?)\bbegin\b", text, re.S):
        names |= set(re.findall(r"(?:^|;)\s*([a-z_]\w*)\s+(?:constant\s+)?[a-z_]", block))
    names |= set(re.findall(r"\bfor\s+([a-z_]\w*)\s+in\b", text))
    return names


def stable_calls_with_columns(text: str, catalog: Catalog, columns: set[str], variables: set[str]) -> list[str]:
    found = []
    for m in re.finditer(r"(?<![\w.])((?:\"?\w+\"?\s*\.\s*)?\"?\w+\"?)\s*\(", text):
        name = re.sub(r"[\s\"]", "", m.group(1))
        if name in NOT_FUNCTIONS or not catalog.non_immutable(name, "s"):
            continue
        arguments = until_close(text[m.end():])
        qualified = [q for q in re.findall(r"(?<![\w.'])([a-z_]\w*)\s*\.\s*([a-z_]\w*)\b(?!\s*\()", arguments)
                     if q[0] not in ("migration", "discovery", "pg_catalog") and q[0] not in variables]
        bare = [w for w in re.findall(r"(?<![\w.'])([a-z_]\w*)\b(?!\s*[.(])", arguments) if w in columns]
        if qualified or bare:
            found.append(f"{name}({'.'.join(qualified[0]) if qualified else bare[0]})")
    return sorted(set(found))


def calls_of(text: str, catalog: Catalog, level: str) -> list[str]:
    """The functions called in ``text`` whose volatility is in ``level``
    ('sv': not IMMUTABLE; 'v': VOLATILE)."""
    found = []
    for m in re.finditer(r"(?<![\w.])((?:\"?\w+\"?\s*\.\s*)?\"?\w+\"?)\s*\(", text):
        name = re.sub(r"[\s\"]", "", m.group(1))
        if name in NOT_FUNCTIONS or name.split(".")[-1] in ("coalesce", "greatest", "least", "nullif"):
            continue
        if catalog.non_immutable(name, level):
            found.append(f"{name}()")
    if "s" in level:
        for word in SQL_VALUE_FUNCTIONS:
            if re.search(rf"(?<![\w.]){word}\b(?!\s*\()", text) and word != "user":
                found.append(word.upper())
    return sorted(set(found))


# -- the body readers on known cases (no database) -----------------------------------------------------------

def _fake_catalog(source: str) -> Catalog:
    cat = Catalog(tables={"assets": ["client_account_id", "id", "name", "custom_attributes", "updated_at"]})
    cat.volatility = {"now": {"s"}, "to_jsonb": {"s"}, "jsonb_build_object": {"s"}, "format": {"s"},
                      "clock_timestamp": {"v"}, "gen_random_uuid": {"v"}, "btrim": {"i"}, "lower": {"i"},
                      "jsonb_agg": {"s"}, "discovery._helper": {"v"}}
    cat.functions = [Function("discovery.f(uuid)", "discovery", "f", "plpgsql", "v", source,
                              ["p_client_account_id"], ["uuid"], [])]
    return cat


@pytest.mark.parametrize("body, check, expected", [
    ("INSERT INTO migration.assets AS a (id) VALUES (1) ON CONFLICT (client_account_id, id) DO UPDATE "
     "SET updated_at = now();", "on_conflict", True),
    ("INSERT INTO migration.assets AS a (id) VALUES (1) ON CONFLICT (client_account_id, id) DO UPDATE "
     "SET updated_at = v_now, name = btrim(excluded.name);", "on_conflict", False),
    ("INSERT INTO migration.assets AS a (id) VALUES (1) ON CONFLICT (client_account_id, id) DO UPDATE "
     "SET id = gen_random_uuid();", "on_conflict", True),
    ("INSERT INTO migration.assets AS a (id) VALUES (1) ON CONFLICT (client_account_id, id) DO UPDATE "
     "SET name = excluded.name WHERE a.updated_at < clock_timestamp();", "on_conflict", True),
    ("INSERT INTO migration.assets (id) VALUES (1) ON CONFLICT DO NOTHING RETURNING now();", "returning", True),
    ("UPDATE migration.assets SET updated_at = coalesce(updated_at, now()) WHERE id = p_id;", "case", True),
    ("UPDATE migration.assets SET name = CASE WHEN v_x THEN 'a' ELSE name END, updated_at = now();", "case", False),
    ("UPDATE migration.assets AS a SET custom_attributes = jsonb_build_object('k', a.name);", "stable_column", True),
    ("UPDATE migration.assets SET custom_attributes = to_jsonb(name);", "stable_column", True),
    ("UPDATE migration.assets SET custom_attributes = to_jsonb(v_row.name), name = format('%s', p_x);",
     "stable_column", False),
    ("UPDATE migration.assets SET custom_attributes = (SELECT jsonb_agg(x.y) FROM t AS x);", "stable_column", False),
    ("UPDATE migration.assets SET id = gen_random_uuid() WHERE true;", "volatile", True),
    ("UPDATE migration.assets SET name = discovery._helper(name);", "volatile", True),
    ("DELETE FROM migration.assets WHERE updated_at < clock_timestamp();", "volatile", True),
    ("-- UPDATE migration.assets SET id = gen_random_uuid();\nSELECT 1;", "volatile", False),
    ("PERFORM 'UPDATE migration.assets SET id = gen_random_uuid()';", "volatile", False),
])
def test_body_readers(body, check, expected):
    source = f"DECLARE v_row migration.assets; v_now timestamptz; BEGIN {body} END"
    cat = _fake_catalog(source)
    found = []
    for f, statement in dml_statements(cat):
        if check == "on_conflict":
            found += [c for clause in on_conflict_clauses(statement.text) for c in calls_of(clause, cat, "sv")]
        elif check == "returning":
            returning = clause_after(statement.text, "returning", ())
            found += calls_of(returning, cat, "sv") if returning else []
        elif statement.command in ("update", "delete"):
            for clause in update_delete_clauses(statement):
                if check == "case":
                    found += [c for span in case_and_coalesce_spans(clause) for c in calls_of(span, cat, "sv")]
                elif check == "volatile":
                    found += calls_of(clause, cat, "v")
                elif check == "stable_column":
                    columns = set(cat.tables[statement.table])
                    found += stable_calls_with_columns(without_subqueries(clause), cat,
                                                       columns - variables_of(f), variables_of(f))
    assert bool(found) == expected, found
