"""Login roles for the role tests: each holds exactly one group role.

Roles are cluster-wide: they are created once per cluster, never dropped, and
re-checked (attributes, membership) at every session, so a role left by an
earlier run is brought back to exactly this shape. The fixtures that use them
(``login_roles``, ``app_conn``, ``analyst_conn``) are in conftest.py.
"""

from __future__ import annotations

import psycopg

APP_ROLE = "dw_test_app"
ANALYST_ROLE = "dw_test_analyst"
ROLE_LOCK = 0x64775F726F6C6573  # "dw_roles": serialises role creation across xdist workers


def ensure_login_role(admin: psycopg.Connection, name: str, group: str) -> None:
    """Create (or reset) login role ``name`` holding only ``group``: no
    superuser, no CREATEDB/CREATEROLE, no BYPASSRLS."""
    admin.execute("select pg_advisory_lock(%s::bigint)", (ROLE_LOCK,))
    try:
        if not admin.execute("select 1 from pg_roles where rolname = %s", (name,)).fetchone():
            admin.execute(f'create role "{name}" login')
        admin.execute(f'alter role "{name}" login nosuperuser nocreatedb nocreaterole inherit'
                      ' noreplication nobypassrls')
        # holds exactly one group role
        for (other,) in admin.execute(
                "select g.rolname from pg_auth_members m join pg_roles g on g.oid = m.roleid"
                " join pg_roles u on u.oid = m.member where u.rolname = %s and g.rolname <> %s",
                (name, group)).fetchall():
            admin.execute(f'revoke "{other}" from "{name}"')
        admin.execute(f'grant "{group}" to "{name}"')
    finally:
        admin.execute("select pg_advisory_unlock(%s::bigint)", (ROLE_LOCK,))
