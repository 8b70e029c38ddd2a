"""How a database URL becomes the settings of a dbt run (discovery_wiring.dbt_settings)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from discovery_wiring import dbt_settings


def test_dbt_env_names_the_database_of_the_url():
    env = dbt_settings.dbt_env("postgresql://ana%40corp:p%3Ass@db.internal:6543/health?sslmode=require")
    assert env == {"DBT_HOST": "db.internal", "DBT_PORT": "6543", "DBT_USER": "ana@corp",
                   "DBT_PASSWORD": "p:ss", "DBT_DBNAME": "health", "DBT_SSLMODE": "require"}


def test_dbt_env_takes_a_socket_folder_and_libpq_defaults():
    env = dbt_settings.dbt_env("postgresql:///discovery?host=/var/run/postgresql&user=dw")
    assert env["DBT_HOST"] == "/var/run/postgresql"
    assert env["DBT_PORT"] == "5432"
    assert env["DBT_USER"] == "dw"
    assert env["DBT_DBNAME"] == "discovery"
    # libpq's default database is the user's name; never `postgres` by accident
    assert dbt_settings.dbt_env("postgresql://dw@localhost")["DBT_DBNAME"] == "dw"


def test_each_invocation_has_its_own_target_and_log_folders(tmp_path):
    environ = {dbt_settings.DIR_ENV: str(tmp_path)}
    first = dbt_settings.run_env("postgresql://dw@localhost/discovery", environ)
    second = dbt_settings.run_env("postgresql://dw@localhost/discovery", environ)
    assert first["DBT_TARGET_PATH"] != second["DBT_TARGET_PATH"]
    assert first["DBT_LOG_PATH"] != second["DBT_LOG_PATH"]
    for env in (first, second):
        assert env["DBT_TARGET_PATH"].startswith(str(tmp_path))
        assert env["DBT_DBNAME"] == "discovery"


def test_the_caller_s_target_and_log_paths_win(tmp_path):
    environ = {"DBT_TARGET_PATH": str(tmp_path / "t"), "DBT_LOG_PATH": str(tmp_path / "l"),
               dbt_settings.DIR_ENV: str(tmp_path / "base")}
    env = dbt_settings.run_env("postgresql://dw@localhost/discovery", environ)
    assert env["DBT_TARGET_PATH"] == str(tmp_path / "t")
    assert env["DBT_LOG_PATH"] == str(tmp_path / "l")
    assert not (tmp_path / "base").exists() or not any((tmp_path / "base").iterdir())


def test_only_the_newest_invocation_folders_are_kept(tmp_path):
    base = tmp_path / "dbt"
    base.mkdir()
    for i in range(dbt_settings.KEEP_RUNS + 5):
        (base / f"20000101T0000{i:02d}Z-1").mkdir()
    run = dbt_settings.invocation_dir({dbt_settings.DIR_ENV: str(base)})
    kept = sorted(p.name for p in base.iterdir())
    assert len(kept) == dbt_settings.KEEP_RUNS
    assert run.name in kept


def test_the_dbt_command_reaches_the_database_and_writes_to_its_own_folder(db_url, tmp_path):
    """`discovery-wiring dbt debug` connects to the database of DISCOVERY_DATABASE_URL
    (not `postgres`), and dbt's output lands in a folder of this invocation."""
    env = {**os.environ, "DISCOVERY_DATABASE_URL": db_url, dbt_settings.DIR_ENV: str(tmp_path)}
    env.pop("DBT_TARGET_PATH", None)
    env.pop("DBT_LOG_PATH", None)
    done = subprocess.run([sys.executable, "-m", "discovery_wiring", "dbt", "debug", "--no-use-colors"],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    dbname = conninfo_to_dict(db_url)["dbname"]
    assert f"database: {dbname}\n" in done.stdout
    assert "All checks passed" in done.stdout
    runs = [p for p in tmp_path.iterdir() if p.is_dir() and p.name != "dbt_packages"]
    assert len(runs) == 1
    assert (runs[0] / "logs" / "dbt.log").is_file()


def test_dbt_s_parse_is_kept_for_the_next_invocation_of_the_same_project(tmp_path):
    environ = {dbt_settings.DIR_ENV: str(tmp_path / "base")}
    project = tmp_path / "project"
    first = dbt_settings.run_env("postgresql://dw@localhost/discovery", environ, project=project)
    assert "DBT_PARTIAL_PARSE_FILE_PATH" not in first  # nothing kept yet: dbt parses in full
    target = tmp_path / "base" / first["DBT_TARGET_PATH"]
    target.mkdir(parents=True)
    (target / "partial_parse.msgpack").write_bytes(b"parsed")
    dbt_settings.keep_parse(first, project)
    second = dbt_settings.run_env("postgresql://dw@localhost/discovery", environ, project=project)
    assert Path(second["DBT_PARTIAL_PARSE_FILE_PATH"]).read_bytes() == b"parsed"
    other = dbt_settings.run_env("postgresql://dw@localhost/discovery", environ, project=tmp_path / "other")
    assert "DBT_PARTIAL_PARSE_FILE_PATH" not in other
