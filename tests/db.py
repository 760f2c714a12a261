"""Test database plumbing: create and migrate as the owner role, then run every test as the app role.

A suite run as the role that owns the tables proves nothing about row-level security (owners and
superusers bypass it unless forced, and superusers always do), so the switch is not optional.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connections


def _app_credentials() -> tuple[str, str]:
    role = settings.DMS_APP_DB_ROLE
    return role, settings.DATABASES["default"].get("TEST", {}).get("APP_PASSWORD", role)


def switch_to_app_role() -> None:
    conn = connections["default"]
    if conn.vendor != "postgresql":
        raise RuntimeError("The test suite needs PostgreSQL (row-level security exists only there).")
    with conn.cursor() as cursor:
        # Transactional tests flush with TRUNCATE; only the test database grants it.
        role = conn.ops.quote_name(settings.DMS_APP_DB_ROLE)
        cursor.execute(f"GRANT TRUNCATE ON ALL TABLES IN SCHEMA public TO {role}")
    conn.close()
    user, password = _app_credentials()
    conn.settings_dict["_OWNER"] = (conn.settings_dict["USER"], conn.settings_dict["PASSWORD"])
    conn.settings_dict["USER"], conn.settings_dict["PASSWORD"] = user, password
    with conn.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == user


def switch_to_owner_role() -> None:
    conn = connections["default"]
    conn.close()
    owner = conn.settings_dict.pop("_OWNER", None)
    if owner:
        conn.settings_dict["USER"], conn.settings_dict["PASSWORD"] = owner
