"""A plain multi-row INSERT for hot write paths (the day-end push writes ~10 order lines per order).

Django's bulk_create prepares every value through its field (about a third of a push's time went there);
`insert_rows` sends Python values as they are, which psycopg2 adapts natively (Decimal, int, bool, str,
date/datetime, and dicts/lists wrapped as JSON). The rows must already be valid: this is for rows a service
has built and checked. Defaults and auto_now timestamps are filled in like the ORM would. Other databases
(the SQLite demo) fall back to bulk_create.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone


def _value(field: models.Field[Any, Any], row: Mapping[str, Any], now: Any) -> Any:
    from psycopg2.extras import Json

    stamped = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    if stamped and row.get(field.attname) is None:
        value = now
    elif field.attname in row:
        value = row[field.attname]
    elif field.has_default():
        value = field.get_default()
    else:
        value = None
    if isinstance(field, models.JSONField) and value is not None:
        return Json(value)
    return value


def insert_rows(model: type[models.Model], rows: Sequence[Mapping[str, Any]], *,
                ignore_conflicts: bool = False) -> None:
    """INSERT `rows` (attname -> value, the primary key left to the database) into `model`'s table;
    `ignore_conflicts`: rows that would break a unique constraint are skipped (ON CONFLICT DO NOTHING)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create([model(**row) for row in rows], ignore_conflicts=ignore_conflicts)
        return
    _execute(model, rows, suffix=" ON CONFLICT DO NOTHING" if ignore_conflicts else "", fetch=False)


def insert_new(obj: models.Model, *, unique: Sequence[str]) -> bool:
    """INSERT a new model instance, or nothing when a row with the same `unique` columns exists (ON CONFLICT DO
    NOTHING: a concurrent insert is waited for, never an error). True and the pk set when it was inserted.
    Other databases: save() in a savepoint, False on an IntegrityError."""
    if connection.vendor != "postgresql":
        try:
            with transaction.atomic():
                obj.save()
            return True
        except IntegrityError:
            return False
    fields = [f for f in obj._meta.concrete_fields if not f.primary_key]
    now = timezone.now()
    for f in fields:  # what save() would stamp
        if (getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)) and getattr(obj, f.attname) is None:
            setattr(obj, f.attname, now)
    row = {f.attname: getattr(obj, f.attname) for f in fields}
    by_name = {f.name: f for f in fields}
    conflict = ", ".join(connection.ops.quote_name(by_name[name].column) for name in unique)
    pk = connection.ops.quote_name(obj._meta.pk.column)
    returned = _execute(type(obj), [row], suffix=f" ON CONFLICT ({conflict}) DO NOTHING RETURNING {pk}", fetch=True)
    if not returned:
        return False
    obj.pk = returned[0][0]
    obj._state.adding, obj._state.db = False, connection.alias
    return True


def _execute(model: type[models.Model], rows: Sequence[Mapping[str, Any]], *, suffix: str, fetch: bool) -> Any:
    from psycopg2.extras import execute_values

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    now = timezone.now()
    values = [tuple(_value(f, row, now) for f in fields) for row in rows]
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        return execute_values(cursor.cursor, f"INSERT INTO {table} ({columns}) VALUES %s{suffix}", values,
                              page_size=1000, fetch=fetch)
