"""The schema of a migrated database as text, for tests/schema.sql.

    python tests/dump_schema.py postgresql://root@127.0.0.1:5432/some_migrated_db > tests/schema.sql

Every object of schemas ``migration`` and ``discovery`` (tables with their
columns, constraints, indexes and triggers; functions with their bodies and
settings; types; comments; grants), in a stable order and without anything
that differs between two databases (OIDs, names of the database). The test
``test_schema_dump.py`` compares a freshly migrated database with the
committed file, so that every schema change shows as a diff in review.
"""

from __future__ import annotations

import re
import sys

import psycopg

SCHEMAS = ("migration", "discovery")

QUERIES = {
    "schemas": """
        select format('schema %I owner %s acl %s', n.nspname, pg_get_userbyid(n.nspowner),
                      coalesce(array_to_string(array(select a::text from unnest(n.nspacl) a order by 1), ' '), '-'))
          from pg_namespace n where n.nspname = any(%(schemas)s) order by 1""",
    "tables": """
        select format('table %I.%I (%s) owner %s kind %s acl %s', n.nspname, c.relname,
                      (select string_agg(format('%I %s%s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                                                case when a.attnotnull then ' not null' else '' end,
                                                coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')),
                                         ', ' order by a.attnum)
                         from pg_attribute a
                         left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
                        where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped),
                      pg_get_userbyid(c.relowner), c.relkind,
                      coalesce(array_to_string(array(select a::text from unnest(c.relacl) a order by 1), ' '), '-'))
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = any(%(schemas)s) and c.relkind in ('r', 'v', 'm', 'p', 'u') order by 1""",
    "constraints": """
        select format('constraint %I.%I.%I %s%s', n.nspname, c.relname, k.conname, pg_get_constraintdef(k.oid),
                      case when k.convalidated then '' else ' (not valid)' end)
          from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = any(%(schemas)s) order by 1""",
    "indexes": """
        select pg_get_indexdef(i.indexrelid) || ';'
          from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = any(%(schemas)s) order by 1""",
    "triggers": """
        select pg_get_triggerdef(t.oid) || format(' [enabled %s]', t.tgenabled) || ';'
          from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = any(%(schemas)s) and not t.tgisinternal order by 1""",
    "types": """
        select format('type %I.%I (%s)', n.nspname, t.typname,
                      (select string_agg(format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod)), ', '
                                         order by a.attnum)
                         from pg_attribute a where a.attrelid = t.typrelid and a.attnum > 0))
          from pg_type t join pg_namespace n on n.oid = t.typnamespace
          join pg_class c on c.oid = t.typrelid
         where n.nspname = any(%(schemas)s) and c.relkind = 'c' order by 1""",
    "functions": """
        select pg_get_functiondef(p.oid) || format('-- owner %s acl %s', pg_get_userbyid(p.proowner),
                      coalesce(array_to_string(array(select a::text from unnest(p.proacl) a order by 1), ' '), '-'))
          from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where n.nspname = any(%(schemas)s) order by p.oid::regprocedure::text""",
    "comments": """
        select format('comment on %s: %s', d.objoid::regprocedure, d.description)
          from pg_description d join pg_proc p on p.oid = d.objoid and d.classoid = 'pg_proc'::regclass
          join pg_namespace n on n.oid = p.pronamespace
         where n.nspname = any(%(schemas)s) order by 1""",
}


def dump(conn: psycopg.Connection) -> str:
    """The schema text of the database ``conn`` is connected to."""
    parts = []
    for section, query in QUERIES.items():
        schemas = "ARRAY[" + ", ".join(f"'{name}'" for name in SCHEMAS) + "]"
        lines = [row[0] for row in conn.execute(query.replace("%(schemas)s", schemas).encode()).fetchall()]
        parts.append(f"-- {section}\n" + "\n".join(lines))
    text = "\n\n".join(parts) + "\n"
    # control and line-separator characters (in string literals) as escapes: one line stays one line
    return re.sub("[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029]", lambda m: f"\\u{ord(m.group()):04x}", text)


if __name__ == "__main__":
    with psycopg.connect(sys.argv[1]) as connection:
        sys.stdout.write(dump(connection))
