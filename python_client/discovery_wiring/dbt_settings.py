"""How a database URL becomes the settings of a dbt run.

One home for it: ``discovery-wiring dbt`` uses it, and the dbt scripts call
that command rather than parse URLs themselves.

- :func:`dbt_env` turns a libpq URL into the ``DBT_*`` variables that
  ``dbt/profiles.yml`` reads;
- :func:`invocation_dir` gives each run its own folder for dbt's ``target/``
  and ``logs/`` (under the per-user cache, or ``DISCOVERY_DBT_DIR``), so that
  runs by different users, or at the same time, never share one;
  ``DBT_TARGET_PATH`` / ``DBT_LOG_PATH`` set by the caller win.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

DIR_ENV = "DISCOVERY_DBT_DIR"
KEEP_RUNS = 20  # invocation folders kept under the base folder (the newest)


def dbt_env(url: str) -> dict[str, str]:
    """The ``DBT_*`` variables naming the database of libpq URL ``url``."""
    params = conninfo_to_dict(url)
    host = str(params.get("host") or "localhost")
    return {
        "DBT_HOST": host.split(",")[0],
        "DBT_PORT": str(params.get("port") or 5432).split(",")[0],
        "DBT_USER": str(params.get("user") or _login_name()),
        "DBT_PASSWORD": str(params.get("password") or ""),
        "DBT_DBNAME": str(params.get("dbname") or params.get("user") or _login_name()),
        "DBT_SSLMODE": str(params.get("sslmode") or "prefer"),
    }


def _login_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in the environment nor the password database
        return "postgres"


def base_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The folder holding one sub-folder per dbt invocation: ``DISCOVERY_DBT_DIR``,
    else ``<per-user cache>/discovery-wiring/dbt``."""
    environ = os.environ if environ is None else environ
    if environ.get(DIR_ENV):
        return Path(environ[DIR_ENV]).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_cache_dir("discovery-wiring")) / "dbt"


def invocation_dir(environ: Mapping[str, str] | None = None) -> Path:
    """A new folder for one dbt invocation (the oldest beyond KEEP_RUNS are removed)."""
    base = base_dir(environ)
    base.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    run = Path(tempfile.mkdtemp(prefix=f"{stamp}-{os.getpid()}-", dir=base))
    runs = sorted(p for p in base.iterdir() if p.is_dir() and p.name != "dbt_packages")
    for old in runs[:-KEEP_RUNS]:
        shutil.rmtree(old, ignore_errors=True)
    return run


def run_env(url: str, environ: Mapping[str, str] | None = None, project: Path | None = None) -> dict[str, str]:
    """The environment of a dbt run on the database of ``url``: ``environ``
    (default: this process's) with the ``DBT_*`` connection variables, and a
    target and log path of this invocation unless ``environ`` names them.
    dbt's parse of ``project`` is kept across invocations (one file per
    project folder under the base folder), so a run re-parses only what
    changed; dbt parses in full when that file does not fit or is unreadable."""
    env = dict(os.environ if environ is None else environ)
    env.update(dbt_env(url))
    if not (env.get("DBT_TARGET_PATH") and env.get("DBT_LOG_PATH")):
        run = invocation_dir(env)
        env.setdefault("DBT_TARGET_PATH", str(run / "target"))
        env.setdefault("DBT_LOG_PATH", str(run / "logs"))
    env.setdefault("DBT_PACKAGES_INSTALL_PATH", str(base_dir(env) / "dbt_packages"))
    if project is not None and _parse_file(env, project).is_file():
        env.setdefault("DBT_PARTIAL_PARSE_FILE_PATH", str(_parse_file(env, project)))
    return env


def _parse_file(env: Mapping[str, str], project: Path) -> Path:
    key = hashlib.sha256(str(Path(project).resolve()).encode()).hexdigest()[:16]
    return base_dir(env) / f"partial_parse-{key}.msgpack"


def keep_parse(env: Mapping[str, str], project: Path) -> None:
    """After a run with ``run_env(…, project=project)``: keep dbt's parse of
    the project for the next invocation (replaced atomically)."""
    written = Path(env["DBT_TARGET_PATH"]) / "partial_parse.msgpack"
    if not written.is_file():
        return
    kept = _parse_file(env, project)
    kept.parent.mkdir(parents=True, exist_ok=True)
    staged = kept.with_name(f"{kept.name}.{os.getpid()}")
    shutil.copyfile(written, staged)
    os.replace(staged, kept)
    return env
