-- The wiring functions that take a batch as an array plan their statements
-- with its values, whatever the session's plan cache has seen.
--
-- From a statement's sixth run in a session PL/pgSQL may switch to its
-- generic plan, in which an array variable is a parameter of unknown size.
-- A filter such as `u.id <> ALL (v_wired)` is then evaluated by walking the
-- whole array for each row (a custom plan, which sees the array, builds a
-- hash table of it): the assets' insert trigger spent 1.0 s on 17,369 assets
-- from the sixth create call of a backend's session on, 4.9 s on 43,421,
-- growing with the square of the batch (about 25 s at 100,000). A backend
-- keeps its sessions in a pool, so every busy one got there.
--
-- `SET plan_cache_mode = force_custom_plan` on each of them: every run plans
-- with the arrays' values (a fraction of a millisecond per statement, against
-- a batch). The insert trigger also skips the comparison when every
-- inserted asset is wired, as each asset of a create call is on one server:
-- wired_assets returns a subset of its input, each asset once.
-- depends: 0011_raw_record_engagement_key_implied

-- AFTER INSERT, once per statement: the inserted flow-based assets that are
-- not wired at the end of their statement must be by COMMIT.
CREATE OR REPLACE FUNCTION migration.assets_check_inserted() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    v_tenant uuid;
    v_ids uuid[];
    v_wired uuid[];
    v_unwired uuid[];
BEGIN
    -- one pass per tenant in the statement (an API call writes one)
    FOR v_tenant IN
        SELECT DISTINCT i.client_account_id FROM inserted AS i WHERE i.discovery_method = 'flow_based'
    LOOP
        SELECT array_agg(i.id)
          INTO v_ids
          FROM inserted AS i
         WHERE i.client_account_id = v_tenant
           AND i.discovery_method = 'flow_based';
        v_wired := migration.wired_assets(v_tenant, v_ids);
        -- the wired ones are some of v_ids, each once: as many are all of them
        IF cardinality(v_wired) < cardinality(v_ids) THEN
            SELECT array_agg(u.id)
              INTO v_unwired
              FROM unnest(v_ids) AS u (id)
             WHERE u.id <> ALL (v_wired);
            PERFORM migration.note_must_be_wired_all(v_tenant, v_unwired);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

ALTER FUNCTION migration.wired_assets(uuid, uuid[]) SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION migration.note_must_be_wired_all(uuid, uuid[]) SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION migration.forget_wired(uuid, uuid[]) SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION migration.check_noted_wiring() SET plan_cache_mode = force_custom_plan;
