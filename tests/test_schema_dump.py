"""The committed schema (tests/schema.sql) is what the migrations and the
``sql/`` folder build: a schema change shows as a diff of that file in review.
Regenerate it with ``python tests/dump_schema.py <url of a migrated database>
> tests/schema.sql`` after changing a migration or a ``sql/`` file."""

from __future__ import annotations

import difflib
from pathlib import Path

import psycopg
from dump_schema import dump

COMMITTED = Path(__file__).with_name("schema.sql")


def test_a_migrated_database_matches_the_committed_schema(db_url):
    with psycopg.connect(db_url) as conn:
        actual = dump(conn)
    expected = COMMITTED.read_text(encoding="utf-8")
    diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                        "tests/schema.sql (committed)", "migrated database", n=1))
    assert not diff, ("the schema differs from tests/schema.sql; review the diff, then regenerate it with "
                      "`python tests/dump_schema.py <url> > tests/schema.sql`:\n" + diff[:20000])


def test_every_function_states_its_contract_in_a_comment(db_url):
    with psycopg.connect(db_url) as conn:
        bare = [r[0] for r in conn.execute(
            "select p.oid::regprocedure::text from pg_proc p"
            " where p.pronamespace = 'discovery'::regnamespace and obj_description(p.oid, 'pg_proc') is null")]
    assert bare == []
