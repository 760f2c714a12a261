"""SQL helpers of the seed: set-based INSERT .. SELECT with every column filled, ids taken ahead from the
sequences, deterministic draws, and the transaction the seed works in."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, models

from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope

from .spec import ACTOR

# --- SQL helpers -----------------------------------------------------------------------------------------------------

def table(model: type[models.Model] | str) -> str:
    name = model if isinstance(model, str) else model._meta.db_table
    return connection.ops.quote_name(name)


def execute(sql: str, params: Mapping[str, Any] | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or None)
        return cursor.rowcount


def scalar(sql: str, params: Mapping[str, Any] | None = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or None)
        row = cursor.fetchone()
    return None if row is None else row[0]


def fill_columns(model: type[models.Model], values: dict[str, str], params: dict[str, Any]) -> dict[str, str]:
    """`values` (column -> SQL expression) completed with every other column of the model: its default, now() for
    timestamps, NULL when nullable. A new NOT NULL column without a default is an error naming it, never a silent
    gap."""
    out = dict(values)
    for f in model._meta.concrete_fields:
        if f.column in out or f.primary_key:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            out[f.column] = "now()"
        elif f.has_default():
            key = f"_default_{model._meta.db_table}_{f.column}"
            params[key] = f.get_db_prep_save(f.get_default(), connection)
            out[f.column] = f"%({key})s"
        elif not f.null:
            raise ImproperlyConfigured(f"analytics.scale writes {model.__name__} but gives no value for {f.name}.")
    return out


def insert_select(model: type[models.Model], values: dict[str, str], source: str,
                  params: Mapping[str, Any] | None = None, *, pk: str | None = "id") -> int:
    """INSERT INTO <model> (...) SELECT <values> <source>: one statement, whatever the number of rows."""
    p = dict(params or {})
    if pk is not None:
        values = {"id": pk, **values}
    cols = fill_columns(model, values, p)
    sql = (f"INSERT INTO {table(model)} ({', '.join(connection.ops.quote_name(c) for c in cols)})\n"
           f"SELECT {', '.join(cols.values())}\n{source}")
    return execute(sql, p)


def nextval(model: type[models.Model]) -> str:
    """nextval() of the model's id sequence, as SQL (ids are taken in the staging tables, before the insert)."""
    name = scalar("SELECT pg_get_serial_sequence(%(t)s, 'id')", {"t": model._meta.db_table})
    return f"nextval('{name}')"


class Hash:
    """Deterministic pseudo-random draws in SQL: a hash of a logical key (never a database id) and the seed."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def number(self, key: str, purpose: int) -> str:
        return f"(hashint8extended(({key})::bigint, {self.seed * 100 + purpose}) & 2147483647)"

    def unit(self, key: str, purpose: int) -> str:
        return f"({self.number(key, purpose)}::float8 / 2147483648.0)"


def md5_uuid(seed: int, kind: str, key: str) -> str:
    return f"md5('{seed}:{kind}:' || ({key})::text)::uuid"


def secs(expr: str | float) -> str:
    return f"make_interval(secs => ({expr})::float8)"


@contextmanager
def work(tenant_id: int) -> Iterator[Scope]:
    """One transaction of the seed, as the application role in the tenant's scope, with room to sort and hash."""
    with tenant_scope(Scope.system(tenant_id, ACTOR)) as scope:
        execute("SET LOCAL work_mem = '256MB'; SET LOCAL synchronous_commit = off")
        yield scope


def drop(*tables: str) -> None:
    execute(f"DROP TABLE IF EXISTS {', '.join(tables)}")


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def pairs(sql: str, params: Mapping[str, Any]) -> list[tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(int(a), int(b)) for a, b in cursor.fetchall()]


def day_close_model() -> type[models.Model] | None:
    """mobile.DayClose when the installed code has it (the day closes are written only then)."""
    try:
        return apps.get_model("mobile", "DayClose")
    except LookupError:
        return None


# The temporary tables of a session (its staging, masters.load_staging) and of a chunk (days.seed_chunk).
SESSION_TABLES = ("s_dist", "s_outlet", "s_sku", "s_day", "s_dayrate", "s_booker", "s_route", "s_stop", "s_slot",
                  "s_vehicle")
CHUNK_TABLES = ("c_journey", "c_visit", "c_order", "c_line", "c_invoice", "c_stop", "c_lf", "c_sync")
