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
-- a batch).
-- depends: 0011_raw_record_engagement_key_implied

ALTER FUNCTION migration.assets_check_inserted() SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION migration.wired_assets(uuid, uuid[]) SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION migration.note_must_be_wired_all(uuid, uuid[]) SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION migration.forget_wired(uuid, uuid[]) SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION migration.check_noted_wiring() SET plan_cache_mode = force_custom_plan;
