"""Locate the files shipped with the package.

An installed copy carries ``migrations/``, ``sql/`` and ``dbt/`` as the
sub-packages ``discovery_wiring._migrations``, ``._sql`` and ``._dbt`` (see
setup.py). From a source checkout those sub-packages do not exist and the
repository folders are used instead.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_REPO_ROOT = _PACKAGE_DIR.parent.parent


def _folder(subpackage: str, repo_folder: str) -> Path:
    # The shipped folders are namespace packages (no __init__.py): take the
    # directory from the import spec rather than importing anything.
    spec = importlib.util.find_spec(f"discovery_wiring.{subpackage}")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            if Path(location).is_dir():
                return Path(location)
    return _REPO_ROOT / repo_folder


def migrations_dir() -> Path:
    """The yoyo migrations folder."""
    return _folder("_migrations", "migrations")


def sql_dir() -> Path:
    """The folder holding the ``discovery`` schema (schema.sql, types/, functions/, grants.sql)."""
    return _folder("_sql", "sql")


def dbt_dir() -> Path:
    """The dbt project folder."""
    return _folder("_dbt", "dbt")


def sample_file() -> Path:
    """The bundled NetBox-derived sample inventory (CSV)."""
    return _PACKAGE_DIR / "data" / "netbox-demo-inventory.csv"
