-- Lints every PL/pgSQL body in schemas discovery and migration with
-- plpgsql_check (sqlfluff does not look inside $$ bodies). Trigger functions
-- are checked against the table and transition tables of the trigger naming
-- the most transition tables (an update's has both). Prints every finding;
-- the last row counts the errors. Run with psql -v ON_ERROR_STOP=1.
CREATE EXTENSION IF NOT EXISTS plpgsql_check;

CREATE TEMPORARY TABLE plpgsql_findings AS
SELECT f.oid::regprocedure AS function_name, c.level, c.message, c.lineno, c.statement, c.hint
  FROM pg_catalog.pg_proc AS f
  JOIN pg_catalog.pg_language AS l ON l.oid = f.prolang AND l.lanname = 'plpgsql'
  LEFT JOIN LATERAL (
      SELECT t.tgrelid, t.tgoldtable, t.tgnewtable
        FROM pg_catalog.pg_trigger AS t
       WHERE t.tgfoid = f.oid
       ORDER BY num_nonnulls(t.tgoldtable, t.tgnewtable) DESC, t.tgrelid
       LIMIT 1
  ) AS trg ON TRUE
 CROSS JOIN LATERAL public.plpgsql_check_function_tb(
      f.oid, coalesce(trg.tgrelid, 0), oldtable => trg.tgoldtable, newtable => trg.tgnewtable,
      fatal_errors => FALSE, other_warnings => TRUE, extra_warnings => FALSE) AS c
 WHERE f.pronamespace IN ('discovery'::regnamespace, 'migration'::regnamespace)
   AND f.prorettype <> 'pg_catalog.event_trigger'::regtype;

SELECT function_name, level, lineno, message, statement, hint
  FROM plpgsql_findings
 ORDER BY function_name::text, lineno;

SELECT count(*) FILTER (WHERE level = 'error') AS errors,
       count(*) FILTER (WHERE level <> 'error') AS warnings
  FROM plpgsql_findings
\gset
\echo plpgsql_check: :errors errors, :warnings warnings
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_temp.plpgsql_findings WHERE level = 'error') THEN
        RAISE EXCEPTION 'plpgsql_check found errors (listed above)';
    END IF;
END
$$;
