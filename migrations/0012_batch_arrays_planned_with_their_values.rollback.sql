-- Undoes 0012: the wiring functions use the session's plan cache mode again.
ALTER FUNCTION migration.check_noted_wiring() RESET plan_cache_mode;
ALTER FUNCTION migration.forget_wired(uuid, uuid[]) RESET plan_cache_mode;
ALTER FUNCTION migration.note_must_be_wired_all(uuid, uuid[]) RESET plan_cache_mode;
ALTER FUNCTION migration.wired_assets(uuid, uuid[]) RESET plan_cache_mode;
ALTER FUNCTION migration.assets_check_inserted() RESET plan_cache_mode;
