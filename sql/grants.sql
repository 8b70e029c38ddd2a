-- The backend role may execute the public API functions and nothing else:
-- no privilege on any `migration` table, and none on the `_` helpers.
RESET ROLE;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA discovery FROM public;
GRANT USAGE ON SCHEMA discovery TO discovery_app;

DO $grants$
DECLARE
    v_signature regprocedure;
BEGIN
    FOR v_signature IN
        SELECT p.oid::regprocedure
          FROM pg_catalog.pg_proc AS p
         WHERE p.pronamespace = 'discovery'::regnamespace
           AND p.proname NOT LIKE '\_%'
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO discovery_app', v_signature);
    END LOOP;
END
$grants$;
